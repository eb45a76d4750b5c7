/**
 * Parsing and formatting primitives for config values, with the exact rules
 * of the C functions Redis 7.0 uses: `memtoull` (memory values with
 * k/kb/m/mb/g/gb units), `string2ll` (strict integers), `strtoll` (lenient
 * C integers, used by `save` and `client-output-buffer-limit`),
 * `sdscatrepr` (quoting in CONFIG REWRITE) and the `%f`-then-trim format of
 * `latency-tracking-info-percentiles`.
 *
 * Values are latin1 strings (one char per byte), so no byte is lost.
 *
 * @module
 */

import { parseDouble, parseInt64String } from "../common/numbers.ts";
import { bytesOf } from "../protocol/latin1.ts";

/** A value rejected by a parser; `message` is Redis' reason text. */
export class ConfigValueError extends Error {}

/** Throws a `ConfigValueError` with Redis' reason text. */
export function reject(reason: string): never {
  throw new ConfigValueError(reason);
}

const U64 = (1n << 64n) - 1n;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isCSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/**
 * Redis' `memtoull`: digits then an optional unit (b, k=1000, kb=1024,
 * m, mb, g, gb; case-insensitive). The empty string is 0, as in C.
 * Returns null when invalid; overflow of the digits saturates like `strtoull`.
 */
export function memtoull(s: string): bigint | null {
  if (s.startsWith("-")) return null;
  let i = 0;
  while (i < s.length && isDigit(s.charCodeAt(i))) i++;
  const unit = s.slice(i).toLowerCase();
  const MUL: Record<string, bigint> = {
    "": 1n,
    b: 1n,
    k: 1000n,
    kb: 1024n,
    m: 1000n * 1000n,
    mb: 1024n * 1024n,
    g: 1000n * 1000n * 1000n,
    gb: 1024n * 1024n * 1024n,
  };
  const mul = MUL[unit];
  if (mul === undefined || i >= 128) return null;
  let val = i === 0 ? 0n : BigInt(s.slice(0, i));
  if (val > U64) val = U64; // strtoull saturates (ERANGE is not checked)
  if (val > U64 / mul) return null;
  return val * mul;
}

/** Redis' `string2ll`: strict signed 64-bit integer, or null. */
export function string2ll(s: string): bigint | null {
  const v = parseInt64String(s);
  return v === null ? null : BigInt(v);
}

/** Result of a C `strtoll` call. */
export interface StrtollResult {
  value: bigint;
  /** What `endptr` points at. */
  rest: string;
  overflow: boolean;
}

/**
 * C `strtoll(s, &end, base)`: leading white space, optional sign, digits in
 * `base`; saturates on overflow. With no digits, `rest` is the whole input.
 */
export function strtoll(s: string, base = 10): StrtollResult {
  let i = 0;
  while (i < s.length && isCSpace(s.charCodeAt(i))) i++;
  let neg = false;
  if (s[i] === "+" || s[i] === "-") {
    neg = s[i] === "-";
    i++;
  }
  const start = i;
  let v = 0n;
  const b = BigInt(base);
  while (i < s.length) {
    const d = parseInt(s[i], base);
    if (Number.isNaN(d)) break;
    v = v * b + BigInt(d);
    i++;
  }
  if (i === start) return { value: 0n, rest: s, overflow: false };
  let value = neg ? -v : v;
  let overflow = false;
  if (value > (1n << 63n) - 1n) [value, overflow] = [(1n << 63n) - 1n, true];
  if (value < -(1n << 63n)) [value, overflow] = [-(1n << 63n), true];
  return { value, rest: s.slice(i), overflow };
}

/** Truncates to a C `int` (what assigning a `long long` to an `int` does). */
export function toCInt(v: bigint): number {
  return Number(BigInt.asIntN(32, v));
}

/** `yesnotoi`: "yes" → true, "no" → false (any case), else null. */
export function yesNo(s: string): boolean | null {
  const l = s.toLowerCase();
  return l === "yes" ? true : l === "no" ? false : null;
}

/** CONFIG REWRITE's memory format: the largest of gb/mb/kb that divides exactly. */
export function formatMemoryUnits(bytes: bigint): string {
  const GB = 1024n * 1024n * 1024n;
  const MB = 1024n * 1024n;
  const KB = 1024n;
  if (bytes !== 0n && bytes % GB === 0n) return `${bytes / GB}gb`;
  if (bytes !== 0n && bytes % MB === 0n) return `${bytes / MB}mb`;
  if (bytes !== 0n && bytes % KB === 0n) return `${bytes / KB}kb`;
  return String(bytes);
}

/** Redis' `sdscatrepr`: a double-quoted string with C escapes. */
export function repr(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    switch (c) {
      case 92:
        out += "\\\\";
        break;
      case 34:
        out += '\\"';
        break;
      case 10:
        out += "\\n";
        break;
      case 13:
        out += "\\r";
        break;
      case 9:
        out += "\\t";
        break;
      case 7:
        out += "\\a";
        break;
      case 8:
        out += "\\b";
        break;
      default:
        out += c >= 32 && c < 127 ? s[i] : "\\x" + c.toString(16).padStart(2, "0");
    }
  }
  return out + '"';
}

/** Redis' `string2d` for one percentile argument; null when not a number. */
export function string2d(s: string): number | null {
  if (s.length === 0 || isCSpace(s.charCodeAt(0))) return null;
  return parseDouble(bytesOf(s));
}

/**
 * `sprintf("%f")` then `trimDoubleString`: six decimals, trailing zeros and
 * a trailing dot removed (`99.9`, `50`, `1.5`).
 */
export function formatPercentile(d: number): string {
  let s = d.toFixed(6);
  // printf rounds exact ties to even; toFixed rounds them up.
  const scaled = d * 2e6;
  if (Number.isInteger(scaled) && scaled % 2 !== 0) {
    const down = Math.floor(d * 1e6);
    s = ((down % 2 === 0 ? down : down + 1) / 1e6).toFixed(6);
  }
  if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  return s;
}

/**
 * The `strerror` text of an OS error raised by Deno
 * ("No such file or directory (os error 2): stat '/x'" → "No such file or directory").
 */
export function strerror(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const m = /^(.*?) \(os error \d+\)/.exec(msg);
  if (m) return m[1];
  if (err instanceof Deno.errors.NotFound) return "No such file or directory";
  if (err instanceof Deno.errors.PermissionDenied) return "Permission denied";
  if (err instanceof Deno.errors.AlreadyExists) return "File exists";
  return msg;
}

/**
 * Splits a CONFIG SET value of a multi-argument parameter on single spaces,
 * as `sdssplitlen(value, " ")` does: empty fields are kept, and the empty
 * string gives no argument at all.
 */
export function splitOnSpaces(value: string): string[] {
  return value.length === 0 ? [] : value.split(" ");
}

const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();

/**
 * A path for Deno's file APIs from a config value. Config values hold raw
 * bytes as latin1 strings; file names are UTF-8 bytes.
 */
export function fsPath(value: string): string {
  return utf8Decoder.decode(bytesOf(value));
}

/** The config-value (latin1 bytes) form of a JS string: its UTF-8 bytes. */
export function configText(s: string): string {
  let out = "";
  for (const b of utf8Encoder.encode(s)) out += String.fromCharCode(b);
  return out;
}
