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

/**
 * Decodes `bytes` as latin1: char code i is byte i.
 *
 * Keys and names are short, and for them `String.fromCharCode` with a fixed
 * number of arguments is the fastest form in V8 (a 16-byte key decodes in a
 * third of the time `fromCharCode.apply` takes, and comes out flat, so the
 * Map lookup that follows does not have to flatten a rope).
 */
export function latin1(bytes: Uint8Array): string {
  const n = bytes.length;
  if (n > 1024) return latin1Long(bytes);
  const b = bytes;
  let s = "";
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    s += String.fromCharCode(
      b[i],
      b[i + 1],
      b[i + 2],
      b[i + 3],
      b[i + 4],
      b[i + 5],
      b[i + 6],
      b[i + 7],
      b[i + 8],
      b[i + 9],
      b[i + 10],
      b[i + 11],
      b[i + 12],
      b[i + 13],
      b[i + 14],
      b[i + 15],
    );
  }
  for (; i + 4 <= n; i += 4) s += String.fromCharCode(b[i], b[i + 1], b[i + 2], b[i + 3]);
  for (; i < n; i++) s += String.fromCharCode(b[i]);
  return s;
}

function latin1Long(bytes: Uint8Array): string {
  const n = bytes.length;
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
