/**
 * LZF, as Redis uses it for compressed RDB strings (liblzf 3.6, the
 * `VERY_FAST` configuration with a 16-bit hash table).
 *
 * Format: a control byte `000LLLLL` starts a literal run of L+1 bytes; a
 * control byte `LLLooooo` (L in 1..6) followed by one more offset byte copies
 * L+2 bytes from `offset+1` bytes back; `111ooooo LLLLLLLL oooooooo` copies
 * L+9 bytes. Back references may overlap the output being produced.
 *
 * `lzfCompress` follows liblzf's algorithm step by step (same hash, same
 * output-size checks) so it gives up exactly when Redis would; the one
 * difference is that liblzf leaves its hash table uninitialised (stale
 * entries can yield extra, still valid, matches), ours starts zeroed, so the
 * compressed bytes can differ from Redis' while decoding to the same string.
 *
 * @module
 */

import { allocBytes } from "../common/bytes.ts";

const HLOG = 16;
const HSIZE = 1 << HLOG;
const MAX_LIT = 1 << 5;
const MAX_OFF = 1 << 13;
const MAX_REF = (1 << 8) + (1 << 3);

/**
 * Hash table reused across calls. An entry is `stamp + position`; entries
 * below the current call's `stamp` are from earlier calls and count as
 * empty, which behaves as a zeroed table without clearing 256 KiB per call.
 */
const htab = new Int32Array(HSIZE);
let stamp = 0;

/** liblzf's IDX for VERY_FAST: ((h >> (3*8 - HLOG)) - h*5) & (HSIZE - 1). */
function idx(h: number): number {
  return ((h >>> (24 - HLOG)) - Math.imul(h, 5)) & (HSIZE - 1);
}

/**
 * Compresses the first `inLen` bytes of `input` into at most `maxOut` bytes; returns the compressed
 * bytes, or null when they would not fit (liblzf's `return 0`). Redis calls
 * it with `maxOut = length - 4`, so compression must save at least 4 bytes.
 */
export function lzfCompress(
  input: Uint8Array,
  maxOut: number,
  inLen = input.length,
): Uint8Array | null {
  if (inLen === 0 || maxOut <= 0) return null;
  if (stamp + inLen + 1 >= 0x7fffffff) {
    htab.fill(0);
    stamp = 0;
  }
  const base = stamp;
  stamp += inLen + 1;
  // One spare byte: liblzf's checks may let `op` reach out_end before failing.
  const out = new Uint8Array(maxOut + 1);
  const outEnd = maxOut;
  let ip = 0;
  let op = 1; // start run
  let lit = 0;
  let hval = (input[0] << 8) | input[1];
  while (ip < inLen - 2) {
    hval = ((hval << 8) | input[ip + 2]) & 0xffffff;
    const slot = idx(hval);
    const ref = htab[slot] - base; // <= 0: empty (or position 0, which liblzf never uses)
    htab[slot] = base + ip;
    const off = ip - ref - 1;
    if (
      ref > 0 && off >= 0 && off < MAX_OFF &&
      input[ref + 2] === input[ip + 2] && input[ref] === input[ip] &&
      input[ref + 1] === input[ip + 1]
    ) {
      let len = 2;
      let maxlen = inLen - ip - len;
      if (maxlen > MAX_REF) maxlen = MAX_REF;
      if (op + 3 + 1 >= outEnd) {
        if (op - (lit === 0 ? 1 : 0) + 3 + 1 >= outEnd) return null;
      }
      out[op - lit - 1] = lit - 1; // stop run
      if (lit === 0) op--; // undo run if length is zero
      // liblzf first compares 16 more bytes unrolled, without the maxlen bound
      // (so a match may run up to 2 bytes past it), then continues bounded.
      let mismatch = false;
      if (maxlen > 16) {
        for (let k = 0; k < 16; k++) {
          len++;
          if (input[ref + len] !== input[ip + len]) {
            mismatch = true;
            break;
          }
        }
      }
      if (!mismatch) {
        do len++; while (len < maxlen && input[ref + len] === input[ip + len]);
      }
      len -= 2; // match length - 2
      ip++;
      if (len < 7) {
        out[op++] = (off >> 8) + (len << 5);
      } else {
        out[op++] = (off >> 8) + (7 << 5);
        out[op++] = len - 7;
      }
      out[op++] = off & 0xff;
      lit = 0;
      op++; // start run
      ip += len + 1;
      if (ip >= inLen - 2) break;
      // VERY_FAST: hash the two positions just before the new ip.
      ip -= 2;
      hval = (input[ip] << 8) | input[ip + 1];
      hval = ((hval << 8) | input[ip + 2]) & 0xffffff;
      htab[idx(hval)] = base + ip;
      ip++;
      hval = ((hval << 8) | input[ip + 2]) & 0xffffff;
      htab[idx(hval)] = base + ip;
      ip++;
    } else {
      if (op >= outEnd) return null;
      lit++;
      out[op++] = input[ip++];
      if (lit === MAX_LIT) {
        out[op - lit - 1] = lit - 1;
        lit = 0;
        op++;
      }
    }
  }
  if (op + 3 > outEnd) return null;
  while (ip < inLen) {
    lit++;
    out[op++] = input[ip++];
    if (lit === MAX_LIT) {
      out[op - lit - 1] = lit - 1;
      lit = 0;
      op++;
    }
  }
  out[op - lit - 1] = lit - 1; // end run
  if (lit === 0) op--;
  return out.slice(0, op);
}

/** Why LZF data could not be decoded (the caller adds the file offset). */
export class LzfError extends Error {}

/**
 * Decompresses `input`, which must expand to exactly `outLen` bytes (Redis
 * stores the original length next to the compressed bytes and rejects any
 * mismatch as "Invalid LZF compressed string"). Throws `LzfError` on any
 * malformed input, naming the offset within the compressed bytes.
 */
export function lzfDecompress(input: Uint8Array, outLen: number): Uint8Array {
  const out = allocBytes(outLen);
  const inLen = input.length;
  if (inLen === 0) throw new LzfError("empty LZF data");
  let ip = 0, op = 0;
  while (ip < inLen) {
    const at = ip;
    let ctrl = input[ip++];
    if (ctrl < 32) {
      ctrl++;
      if (op + ctrl > outLen) throw new LzfError(`LZF literal run overflows the output at ${at}`);
      if (ip + ctrl > inLen) throw new LzfError(`LZF literal run truncated at ${at}`);
      out.set(input.subarray(ip, ip + ctrl), op);
      op += ctrl;
      ip += ctrl;
    } else {
      let len = ctrl >> 5;
      let ref = op - ((ctrl & 0x1f) << 8) - 1;
      if (ip >= inLen) throw new LzfError(`LZF back reference truncated at ${at}`);
      if (len === 7) {
        len += input[ip++];
        if (ip >= inLen) throw new LzfError(`LZF back reference truncated at ${at}`);
      }
      ref -= input[ip++];
      len += 2;
      if (op + len > outLen) throw new LzfError(`LZF back reference overflows the output at ${at}`);
      if (ref < 0) throw new LzfError(`LZF back reference before the start at ${at}`);
      // Byte by byte: the source may overlap what is being written.
      for (let k = 0; k < len; k++) out[op++] = out[ref++];
    }
  }
  if (op !== outLen) {
    throw new LzfError(`LZF data expands to ${op} bytes, expected ${outLen}`);
  }
  return out;
}
