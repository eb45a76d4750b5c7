/**
 * Splits a line into arguments the way Redis' `sdssplitargs` does.
 *
 * Used for inline (telnet) commands and for redis.conf lines, so both accept
 * the same quoting: `"..."` with `\n \r \t \b \a \xHH` escapes, `'...'` with
 * `\'`, and a closing quote that must be followed by a space or the end.
 *
 * @module
 */

import { allocBytes } from "../common/bytes.ts";

/** C's isspace: separates arguments and must follow a closing quote. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/** Ends an unquoted argument: only these, as in sdssplitargs (not \v or \f). */
function endsWord(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 0;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

const ESCAPES: Record<number, number> = {
  110: 10, // \n
  114: 13, // \r
  116: 9, // \t
  98: 8, // \b
  97: 7, // \a
};

/**
 * Splits `line` (bytes, without its line ending) into arguments.
 * Returns `null` when quotes are unbalanced, as Redis does.
 */
export function splitArgs(line: Uint8Array): Uint8Array[] | null {
  const args: Uint8Array[] = [];
  const n = line.length;
  // Unquoting only shrinks: every argument fits, back to back, in one buffer.
  const out = allocBytes(n);
  let w = 0;
  let p = 0;
  while (true) {
    while (p < n && isSpace(line[p])) p++;
    if (p >= n) return args;
    const argStart = w;
    let inq = false; // inside "double quotes"
    let insq = false; // inside 'single quotes'
    let done = false;
    while (!done) {
      if (inq) {
        if (p >= n) return null;
        const c = line[p];
        if (
          c === 92 && p + 3 < n && line[p + 1] === 120 &&
          hexValue(line[p + 2]) >= 0 && hexValue(line[p + 3]) >= 0
        ) {
          out[w++] = hexValue(line[p + 2]) * 16 + hexValue(line[p + 3]);
          p += 3;
        } else if (c === 92 && p + 1 < n) {
          p++;
          const e = line[p];
          out[w++] = ESCAPES[e] ?? e;
        } else if (c === 34) {
          if (p + 1 < n && !isSpace(line[p + 1])) return null;
          done = true;
        } else {
          out[w++] = c;
        }
      } else if (insq) {
        if (p >= n) return null;
        const c = line[p];
        if (c === 92 && p + 1 < n && line[p + 1] === 39) {
          p++;
          out[w++] = 39;
        } else if (c === 39) {
          if (p + 1 < n && !isSpace(line[p + 1])) return null;
          done = true;
        } else {
          out[w++] = c;
        }
      } else {
        if (p >= n) break;
        const c = line[p];
        if (endsWord(c)) done = true;
        else if (c === 34) inq = true;
        else if (c === 39) insq = true;
        else out[w++] = c;
      }
      if (p < n) p++;
    }
    args.push(out.subarray(argStart, w));
  }
}
