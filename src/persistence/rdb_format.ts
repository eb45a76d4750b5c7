/**
 * RDB constants shared by the writer and the reader (Redis 7.0's `rdb.h`).
 *
 * @module
 */

/** The version Redis 7.0 writes, and the highest it loads. */
export const RDB_VERSION = 10;

/** Opcodes that may appear where a value type is expected. */
export const Opcode = {
  FUNCTION2: 0xf5,
  FUNCTION: 0xf6,
  MODULE_AUX: 0xf7,
  IDLE: 0xf8,
  FREQ: 0xf9,
  AUX: 0xfa,
  RESIZEDB: 0xfb,
  EXPIRETIME_MS: 0xfc,
  EXPIRETIME: 0xfd,
  SELECTDB: 0xfe,
  EOF: 0xff,
} as const;

/** Length prefixes (top two bits of the first byte). */
export const Len = {
  BITS6: 0,
  BITS14: 1,
  BITS32: 0x80,
  BITS64: 0x81,
  ENCVAL: 3,
} as const;

/** Special string encodings (low 6 bits after a `11` prefix). */
export const Enc = { INT8: 0, INT16: 1, INT32: 2, LZF: 3 } as const;

/** Value type codes. */
export const RdbType = {
  STRING: 0,
  LIST: 1,
  SET: 2,
  ZSET: 3,
  HASH: 4,
  ZSET_2: 5,
  MODULE: 6,
  MODULE_2: 7,
  HASH_ZIPMAP: 9,
  LIST_ZIPLIST: 10,
  SET_INTSET: 11,
  ZSET_ZIPLIST: 12,
  HASH_ZIPLIST: 13,
  LIST_QUICKLIST: 14,
  STREAM_LISTPACKS: 15,
  HASH_LISTPACK: 16,
  ZSET_LISTPACK: 17,
  LIST_QUICKLIST_2: 18,
  STREAM_LISTPACKS_2: 19,
  SET_LISTPACK: 20,
  STREAM_LISTPACKS_3: 21,
} as const;

/** A readable name for a value type code (for errors and reports). */
export function rdbTypeName(t: number): string {
  for (const [name, code] of Object.entries(RdbType)) {
    if (code === t) return `${name.toLowerCase()} (${t})`;
  }
  return `unknown (${t})`;
}
