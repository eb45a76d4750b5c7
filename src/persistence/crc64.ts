/**
 * Redis' CRC64 (the one RDB files end with): Jones polynomial
 * `0xad93d23594c935a9`, reflected input and output, initial value 0, no
 * final xor. Check value: CRC64("123456789") = `0xe9c6d914c4b8d9ca`.
 *
 * Table-driven, slice-by-8, without BigInt on the hot path: the 64-bit state
 * is kept as two unsigned 32-bit halves and each table entry is stored as a
 * (lo, hi) pair. BigInt appears only at the API boundary.
 *
 * @module
 */

/** The reflected form of the Jones polynomial, as (lo, hi) halves: 0x95ac9329ac4bc9b5. */
const POLY_LO = 0xac4bc9b5;
const POLY_HI = 0x95ac9329;

/** 8 tables of 256 entries, entry k of table t at [(t*256+k)*2] (lo) and [+1] (hi). */
const TABLES = buildTables();

function buildTables(): Uint32Array {
  const t = new Uint32Array(8 * 256 * 2);
  for (let n = 0; n < 256; n++) {
    let lo = n, hi = 0;
    for (let k = 0; k < 8; k++) {
      const bit = lo & 1;
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
      hi = hi >>> 1;
      if (bit) {
        lo = (lo ^ POLY_LO) >>> 0;
        hi = (hi ^ POLY_HI) >>> 0;
      }
    }
    t[n * 2] = lo;
    t[n * 2 + 1] = hi;
  }
  // Table t advances table t-1 by one more zero byte: T[t][n] = (T[t-1][n] >> 8) ^ T[0][T[t-1][n] & 0xff].
  for (let tb = 1; tb < 8; tb++) {
    for (let n = 0; n < 256; n++) {
      const p = ((tb - 1) * 256 + n) * 2;
      const lo = t[p], hi = t[p + 1];
      const z = (lo & 0xff) * 2;
      const q = (tb * 256 + n) * 2;
      t[q] = (((lo >>> 8) | ((hi & 0xff) << 24)) ^ t[z]) >>> 0;
      t[q + 1] = ((hi >>> 8) ^ t[z + 1]) >>> 0;
    }
  }
  return t;
}

/** An incremental CRC64 over any number of chunks. */
export class Crc64 {
  /** Low 32 bits of the state. */
  lo = 0;
  /** High 32 bits of the state. */
  hi = 0;

  /** Starts from a previous value (0 for a fresh checksum). */
  constructor(initial: bigint = 0n) {
    this.lo = Number(initial & 0xffffffffn);
    this.hi = Number((initial >> 32n) & 0xffffffffn);
  }

  /** Feeds `bytes` (any length) into the checksum; returns `this`. */
  update(bytes: Uint8Array): this {
    const T = TABLES;
    let lo = this.lo, hi = this.hi;
    let i = 0;
    const n = bytes.length;
    const end8 = n - (n & 7);
    for (; i < end8; i += 8) {
      const a =
        (lo ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24))) >>>
        0;
      const b = (hi ^
        (bytes[i + 4] | (bytes[i + 5] << 8) | (bytes[i + 6] << 16) | (bytes[i + 7] << 24))) >>>
        0;
      // Byte j of the xored word goes through 8-j table rounds: T7 for byte 0 ... T0 for byte 7.
      const p7 = (7 * 256 + (a & 0xff)) * 2;
      const p6 = (6 * 256 + ((a >>> 8) & 0xff)) * 2;
      const p5 = (5 * 256 + ((a >>> 16) & 0xff)) * 2;
      const p4 = (4 * 256 + (a >>> 24)) * 2;
      const p3 = (3 * 256 + (b & 0xff)) * 2;
      const p2 = (2 * 256 + ((b >>> 8) & 0xff)) * 2;
      const p1 = (256 + ((b >>> 16) & 0xff)) * 2;
      const p0 = (b >>> 24) * 2;
      lo = T[p7] ^ T[p6] ^ T[p5] ^ T[p4] ^ T[p3] ^ T[p2] ^ T[p1] ^ T[p0];
      hi = T[p7 + 1] ^ T[p6 + 1] ^ T[p5 + 1] ^ T[p4 + 1] ^ T[p3 + 1] ^ T[p2 + 1] ^ T[p1 + 1] ^
        T[p0 + 1];
    }
    for (; i < n; i++) {
      const p = ((lo ^ bytes[i]) & 0xff) * 2;
      lo = ((lo >>> 8) | ((hi & 0xff) << 24)) ^ T[p];
      hi = (hi >>> 8) ^ T[p + 1];
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
    return this;
  }

  /** The checksum so far as an unsigned 64-bit BigInt. */
  value(): bigint {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** The checksum so far as 8 little-endian bytes (how RDB files store it). */
  bytesLE(): Uint8Array {
    const out = new Uint8Array(8);
    const v = new DataView(out.buffer);
    v.setUint32(0, this.lo, true);
    v.setUint32(4, this.hi, true);
    return out;
  }
}

/** Continues checksum `crc` over `bytes` (Redis' crc64(crc, s, l)). */
export function update(crc: bigint, bytes: Uint8Array): bigint {
  return new Crc64(crc).update(bytes).value();
}

/** CRC64 of `bytes` from the initial value 0. */
export function crc64(bytes: Uint8Array): bigint {
  return update(0n, bytes);
}
