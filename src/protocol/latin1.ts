/**
 * Lossless conversion between bytes and latin1 strings (one char per byte).
 *
 * Keys, command names and channel names travel as latin1 strings: they are
 * cheap to hash in a `Map`, compare and slice, and round-trip every byte
 * 0x00–0xFF exactly. UTF-8 would lose invalid sequences, so it is never used
 * for client data.
 *
 * @module
 */

const CHUNK = 8192;

/** Decodes `bytes` as latin1: char code i is byte i. */
export function latin1(bytes: Uint8Array): string {
  const n = bytes.length;
  if (n < 16) {
    let s = "";
    for (let i = 0; i < n; i++) s += String.fromCharCode(bytes[i]);
    return s;
  }
  if (n <= CHUNK) {
    return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  const parts: string[] = [];
  for (let i = 0; i < n; i += CHUNK) {
    parts.push(
      String.fromCharCode.apply(
        null,
        bytes.subarray(i, i + CHUNK) as unknown as number[],
      ),
    );
  }
  return parts.join("");
}

/** Encodes a latin1 string back to its bytes (chars above 0xFF are truncated). */
export function bytesOf(s: string): Uint8Array {
  const n = s.length;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Writes latin1 string `s` into `buf` at `pos`; returns the new position. */
export function writeLatin1(buf: Uint8Array, pos: number, s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) buf[pos + i] = s.charCodeAt(i);
  return pos + n;
}

const encoder = new TextEncoder();

/** Encodes text meant for humans (log lines, INFO) as UTF-8. */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Lower-cases an ASCII command name held as latin1, only when needed. */
export function asciiLower(s: string): string {
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) break;
  }
  if (i === s.length) return s;
  let out = s.slice(0, i);
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += String.fromCharCode(c >= 65 && c <= 90 ? c + 32 : c);
  }
  return out;
}

/** Byte-wise equality of two byte arrays. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Compares bytes to an ASCII word case-insensitively (`word` is lower case). */
export function isWord(arg: Uint8Array, word: string): boolean {
  if (arg.length !== word.length) return false;
  for (let i = 0; i < arg.length; i++) {
    let c = arg[i];
    if (c >= 65 && c <= 90) c += 32;
    if (c !== word.charCodeAt(i)) return false;
  }
  return true;
}
