/**
 * x87 80-bit `long double` arithmetic, as INCRBYFLOAT needs it.
 *
 * Redis parses both operands with `strtold`, adds them as `long double` (a
 * 64-bit significand on x86-64 Linux) and prints the sum with `%.17Lf`,
 * trimming trailing zeros. Doubles would give other digits (0.1 + 0.2 prints
 * `0.3` in Redis, `0.30000000000000004` with doubles), so this module
 * emulates the format exactly with BigInt: correctly rounded decimal and hex
 * parsing (subnormals included), round-half-even addition, and exact
 * fixed-point printing. Only INCRBYFLOAT uses it, so clarity wins over speed.
 *
 * @module
 */

/** Significand bits, the explicit integer bit included. */
const MANT_BITS = 64;
/** Exponent of the smallest subnormal: 2^-16445. */
const MIN_EXP = -16445;
/** Largest exponent of a 64-bit significand: (2^64-1) * 2^16320 is the maximum. */
const MAX_EXP = 16320;
/** Redis' MAX_LONG_DOUBLE_CHARS: longer inputs are rejected. */
const MAX_CHARS = 5 * 1024;

/**
 * A finite long double `(-1)^neg * mant * 2^exp`, or an infinity
 * (`inf` set, `mant` ignored). Zero is `mant === 0n`.
 */
export interface LongDouble {
  neg: boolean;
  mant: bigint;
  exp: number;
  inf: boolean;
}

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/**
 * Rounds the exact value `num * 2^exp` (plus a sticky "something nonzero
 * below" flag) to the nearest long double, ties to even.
 */
function round(neg: boolean, num: bigint, exp: number, sticky: boolean): LongDouble {
  if (num === 0n) return { neg, mant: 0n, exp: 0, inf: false };
  // Normalize to a 64-bit significand (fewer bits only in the subnormal range).
  let shift = bitLength(num) - MANT_BITS;
  if (exp + shift < MIN_EXP) shift = MIN_EXP - exp;
  let mant = num;
  if (shift < 0) {
    mant = num << BigInt(-shift);
    exp += shift;
  } else if (shift > 0) {
    const big = BigInt(shift);
    mant = num >> big;
    const rem = num - (mant << big);
    const half = 1n << (big - 1n);
    if (rem > half || (rem === half && (sticky || (mant & 1n) === 1n))) mant++;
    exp += shift;
    if (bitLength(mant) > MANT_BITS) {
      mant >>= 1n;
      exp++;
    }
  }
  if (mant === 0n) return { neg, mant: 0n, exp: 0, inf: false };
  if (exp > MAX_EXP) return { neg, mant: 0n, exp: 0, inf: true };
  return { neg, mant, exp, inf: false };
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 32;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/** Reads an optionally signed decimal exponent; saturates far outside the range. */
function readExponent(s: string, i: number): [number, number] | null {
  let neg = false;
  const c = s.charCodeAt(i);
  if (c === 43 || c === 45) {
    neg = c === 45;
    i++;
  }
  if (i >= s.length || !isDigit(s.charCodeAt(i))) return null;
  let v = 0;
  for (; i < s.length && isDigit(s.charCodeAt(i)); i++) {
    if (v < 1e9) v = v * 10 + (s.charCodeAt(i) - 48);
  }
  return [neg ? -v : v, i];
}

function parseDecimal(neg: boolean, s: string, i: number): LongDouble | null {
  let digits = "";
  let pointShift = 0;
  let sawDigit = false;
  for (; i < s.length && isDigit(s.charCodeAt(i)); i++) {
    digits += s[i];
    sawDigit = true;
  }
  if (s.charCodeAt(i) === 46) { // '.'
    for (i++; i < s.length && isDigit(s.charCodeAt(i)); i++) {
      digits += s[i];
      pointShift--;
      sawDigit = true;
    }
  }
  if (!sawDigit) return null;
  let exp10 = pointShift;
  if (i < s.length && (s.charCodeAt(i) | 32) === 101) { // 'e'
    const e = readExponent(s, i + 1);
    if (e === null) return null; // strtold would stop before the 'e'
    exp10 += e[0];
    i = e[1];
  }
  if (i !== s.length) return null;
  // Drop leading zeros, and trailing zeros into the exponent.
  let start = 0;
  while (start < digits.length && digits.charCodeAt(start) === 48) start++;
  let end = digits.length;
  while (end > start && digits.charCodeAt(end - 1) === 48) {
    end--;
    exp10++;
  }
  if (start === end) return { neg, mant: 0n, exp: 0, inf: false };
  const d = digits.slice(start, end);
  // Far outside the range: overflow or underflow (both ERANGE in strtold).
  const magnitude = exp10 + d.length; // value < 10^magnitude
  if (magnitude > 4934) return { neg, mant: 0n, exp: 0, inf: true };
  if (magnitude < -4952) return { neg, mant: 0n, exp: 0, inf: false };
  const n = BigInt(d);
  if (exp10 >= 0) return round(neg, n * 10n ** BigInt(exp10), 0, false);
  const den = 10n ** BigInt(-exp10);
  const shift = Math.max(0, bitLength(den) - bitLength(n) + MANT_BITS + 2);
  const scaled = n << BigInt(shift);
  const q = scaled / den;
  return round(neg, q, -shift, q * den !== scaled);
}

function parseHex(neg: boolean, s: string, i: number): LongDouble | null {
  let n = 0n;
  let exp = 0;
  let sawDigit = false;
  for (let h; i < s.length && (h = hexValue(s.charCodeAt(i))) >= 0; i++) {
    n = (n << 4n) | BigInt(h);
    sawDigit = true;
  }
  if (s.charCodeAt(i) === 46) {
    i++;
    for (let h; i < s.length && (h = hexValue(s.charCodeAt(i))) >= 0; i++) {
      n = (n << 4n) | BigInt(h);
      exp -= 4;
      sawDigit = true;
    }
  }
  if (!sawDigit) return null;
  if (i < s.length && (s.charCodeAt(i) | 32) === 112) { // 'p'
    const e = readExponent(s, i + 1);
    if (e === null) return null;
    exp += e[0];
    i = e[1];
  }
  if (i !== s.length) return null;
  if (n === 0n) return { neg, mant: 0n, exp: 0, inf: false };
  const top = exp + bitLength(n);
  if (top > MAX_EXP + MANT_BITS + 1) return { neg, mant: 0n, exp: 0, inf: true };
  if (top < MIN_EXP - 1) return { neg, mant: 0n, exp: 0, inf: false };
  return round(neg, n, exp, false);
}

/**
 * Parses bytes as Redis' `string2ld` does (`strtold` on the whole input):
 * decimal and hex forms, `inf`/`infinity`; no spaces, no NaN, and values
 * that overflow or underflow to zero rejected. Returns null when invalid.
 */
export function parseLongDouble(b: Uint8Array): LongDouble | null {
  const n = b.length;
  if (n === 0 || n >= MAX_CHARS) return null;
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(b[i]);
  let i = 0;
  let neg = false;
  const c = s.charCodeAt(0);
  if (c === 43 || c === 45) {
    neg = c === 45;
    i = 1;
  }
  const rest = s.slice(i).toLowerCase();
  if (rest === "inf" || rest === "infinity") return { neg, mant: 0n, exp: 0, inf: true };
  let v: LongDouble | null;
  if (rest.length > 1 && rest[0] === "0" && rest[1] === "x") {
    v = parseHex(neg, s, i + 2);
    // "0x" with nothing after: strtold reads "0" and stops, leaving "x".
  } else {
    v = parseDecimal(neg, s, i);
  }
  if (v === null) return null;
  // ERANGE cases Redis rejects: overflow to infinity, or underflow to zero.
  if (v.inf) return null;
  if (v.mant === 0n && !isZeroLiteral(s, i)) return null;
  return v;
}

/** True when the digits themselves are all zero (an exact zero, not an underflow). */
function isZeroLiteral(s: string, i: number): boolean {
  const hex = s.length > i + 1 && s[i] === "0" && (s.charCodeAt(i + 1) | 32) === 120;
  if (hex) i += 2;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) continue;
    if (hex ? (c | 32) === 112 : (c | 32) === 101) return true;
    if (c !== 48) return false;
  }
  return true;
}

/** Exact sum rounded to long double. */
export function addLongDouble(a: LongDouble, b: LongDouble): LongDouble {
  if (a.inf || b.inf) {
    // inf + -inf is NaN; callers reject both, so report it as infinity.
    return { neg: a.inf ? a.neg : b.neg, mant: 0n, exp: 0, inf: true };
  }
  if (a.mant === 0n) return b.mant === 0n ? { ...b, neg: a.neg && b.neg } : b;
  if (b.mant === 0n) return a;
  const e = Math.min(a.exp, b.exp);
  const sa = (a.neg ? -a.mant : a.mant) << BigInt(a.exp - e);
  const sb = (b.neg ? -b.mant : b.mant) << BigInt(b.exp - e);
  const sum = sa + sb;
  if (sum === 0n) return { neg: false, mant: 0n, exp: 0, inf: false };
  return round(sum < 0n, sum < 0n ? -sum : sum, e, false);
}

const TEN17 = 10n ** 17n;

/**
 * Formats as Redis' `ld2string(..., LD_STR_HUMAN)`: `%.17Lf` (exact value
 * rounded half-even to 17 decimals), trailing zeros and a trailing point
 * removed, `-0` printed as `0`; infinities as `inf` / `-inf`.
 */
export function formatLongDoubleHuman(v: LongDouble): string {
  if (v.inf) return v.neg ? "-inf" : "inf";
  let intPart: bigint;
  let frac: bigint;
  if (v.exp >= 0) {
    intPart = v.mant << BigInt(v.exp);
    frac = 0n;
  } else {
    const k = BigInt(-v.exp);
    const scaled = v.mant * TEN17;
    let q = scaled >> k;
    const rem = scaled - (q << k);
    const half = 1n << (k - 1n);
    if (rem > half || (rem === half && (q & 1n) === 1n)) q++;
    intPart = q / TEN17;
    frac = q % TEN17;
  }
  let s = (v.neg ? "-" : "") + intPart.toString();
  if (frac !== 0n) {
    s += "." + frac.toString().padStart(17, "0").replace(/0+$/, "");
  }
  return s === "-0" ? "0" : s;
}
