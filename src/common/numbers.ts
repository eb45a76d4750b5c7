/**
 * Number parsing and formatting with Redis' exact rules.
 *
 * `parseInt64` follows `string2ll`: optional `-`, digits, no `+`, no spaces,
 * no leading zeros, within the signed 64-bit range. Values that fit in a
 * double exactly come back as `number`; larger ones as `bigint`.
 *
 * @module
 */

import { allocBytes } from "./bytes.ts";

export const INT64_MAX = 9223372036854775807n;
export const INT64_MIN = -9223372036854775808n;

/** Parses bytes as a strict signed 64-bit integer; null when invalid. */
export function parseInt64(b: Uint8Array): number | bigint | null {
  const n = b.length;
  if (n === 0 || n > 20) return null;
  let i = 0;
  const neg = b[0] === 45;
  if (neg) {
    i = 1;
    if (n === 1) return null;
  }
  if (b[i] === 48) {
    // "0" alone is fine; "-0" and leading zeros are not.
    return n === 1 ? 0 : null;
  }
  if (n - i <= 15) {
    let v = 0;
    for (; i < n; i++) {
      const d = b[i] - 48;
      if (d < 0 || d > 9) return null;
      v = v * 10 + d;
    }
    return neg ? -v : v;
  }
  let s = "";
  for (; i < n; i++) {
    const d = b[i] - 48;
    if (d < 0 || d > 9) return null;
    s += String.fromCharCode(b[i]);
  }
  const big = neg ? -BigInt(s) : BigInt(s);
  if (big > INT64_MAX || big < INT64_MIN) return null;
  return Number.isSafeInteger(Number(big)) ? Number(big) : big;
}

/** Same as `parseInt64` for a latin1 string. */
export function parseInt64String(s: string): number | bigint | null {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255) return null;
    b[i] = c;
  }
  return parseInt64(b);
}

/** Converts a parsed integer to a JS number (precision may drop above 2^53). */
export function toNumber(v: number | bigint): number {
  return typeof v === "bigint" ? Number(v) : v;
}

/**
 * Parses a float as Redis' `string2ld`/`strtold` accept it: decimal or
 * exponent forms, `inf`/`infinity` with optional sign; no spaces; not NaN.
 * Returns null when invalid.
 */
export function parseDouble(b: Uint8Array): number | null {
  const n = b.length;
  if (n === 0 || n > 5120) return null;
  // Leading/trailing whitespace is rejected by Redis.
  if (b[0] === 32 || (b[0] >= 9 && b[0] <= 13)) return null;
  const last = b[n - 1];
  if (last === 32 || (last >= 9 && last <= 13)) return null;
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(b[i]);
  const lower = s.toLowerCase();
  const body = lower[0] === "+" || lower[0] === "-" ? lower.slice(1) : lower;
  if (body === "inf" || body === "infinity") {
    return lower[0] === "-" ? -Infinity : Infinity;
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(lower)) {
    // Hex floats are accepted by strtold too.
    if (/^[+-]?0x[0-9a-f]+(\.[0-9a-f]*)?(p[+-]?\d+)?$/.test(lower)) {
      return parseHexFloat(lower);
    }
    return null;
  }
  const v = Number(lower);
  return Number.isNaN(v) ? null : v;
}

function parseHexFloat(s: string): number | null {
  const m = /^([+-]?)0x([0-9a-f]+)(?:\.([0-9a-f]*))?(?:p([+-]?\d+))?$/.exec(s);
  if (!m) return null;
  let v = parseInt(m[2], 16);
  const frac = m[3] ?? "";
  for (let i = 0; i < frac.length; i++) {
    v += parseInt(frac[i], 16) / Math.pow(16, i + 1);
  }
  v *= Math.pow(2, m[4] ? parseInt(m[4], 10) : 0);
  return m[1] === "-" ? -v : v;
}

/** Writes an integer as ASCII bytes. */
export function intBytes(v: number | bigint): Uint8Array {
  const s = String(v);
  const out = allocBytes(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
