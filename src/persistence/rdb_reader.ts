/**
 * Parses an RDB file (versions 1 to 10) into per-database entries, as Redis
 * 7.0's `rdbLoad` would read it.
 *
 * Strings (type 0) are decoded in all four forms (plain, INT8/16/32, LZF).
 * Other value types, which this server cannot hold yet, are parsed
 * structurally and skipped: each is reported in `skipped` with its key, type
 * and offset, so a caller can refuse the file or warn. (Module values and
 * module AUX data are skipped through their self-describing opcodes.)
 *
 * With `onKey`, string keys are streamed to the caller instead of collected.
 *
 * Every defect (truncation, a bad length or encoding, an unknown opcode or
 * type, a checksum mismatch, a duplicated key) throws `RdbError`, whose
 * message names the byte offset: the reader never returns a partial dataset.
 * Database numbers are not checked against `databases`: that is the
 * caller's job. A stored checksum of 0 means "not computed": the file loads
 * with a warning in `warnings`, as in Redis. Keys already expired at `now`
 * are returned with `expired: true`; dropping them is the caller's choice.
 *
 * @module
 */

import { allocBytes, copyBytes } from "../common/bytes.ts";
import { latin1 } from "../protocol/latin1.ts";
import { Crc64 } from "./crc64.ts";
import { lzfDecompress, LzfError } from "./lzf.ts";
import { Enc, Len, Opcode, RDB_VERSION, RdbType, rdbTypeName } from "./rdb_format.ts";

/** A corrupt or unsupported RDB file; `offset` is where the problem was found. */
export class RdbError extends Error {
  constructor(readonly offset: number, message: string) {
    super(`${message} (at byte offset ${offset})`);
    this.name = "RdbError";
  }
}

/** One string key read from the file. */
export interface RdbKeyEntry {
  key: string;
  type: "string";
  value: Uint8Array;
  /** Absolute expiry in ms (bigint beyond 2^53), 0 when none. */
  expireAt: number | bigint;
  /** True when `expireAt` is at or before the load time. */
  expired: boolean;
  /** IDLE seconds, when the file had them. */
  idle?: number;
  /** LFU counter, when the file had it. */
  freq?: number;
}

/** A key of a type this server cannot hold, skipped. */
export interface RdbSkipped {
  db: number;
  key: string;
  /** RDB type code and its name. */
  type: number;
  typeName: string;
  /** Offset of the type byte. */
  offset: number;
}

/** The parsed file. */
export interface RdbContents {
  version: number;
  /** AUX fields, in file order (latin1 strings). */
  aux: Map<string, string>;
  /** String entries by database number. */
  dbs: Map<number, RdbKeyEntry[]>;
  /** RESIZEDB hints by database number. */
  resize: Map<number, { size: number; expires: number }>;
  skipped: RdbSkipped[];
  /** "ok" (verified), "absent" (stored 0), "none" (version < 5 has no checksum). */
  checksum: "ok" | "absent" | "none";
  warnings: string[];
}

/** Options of `readRdb`. */
export interface RdbReadOptions {
  /** The load time deciding `expired` (default Date.now()). */
  now?: number;
  /**
   * Receives each string key as it is read, instead of collecting it in
   * `dbs` (no second copy of the dataset, and no object per key: the load
   * of a large file is dominated by allocation). The caller then detects
   * duplicated keys itself (its Map insert tells), and must discard
   * everything it received if `readRdb` throws.
   */
  onKey?: (
    db: number,
    key: string,
    value: Uint8Array,
    expireAt: number | bigint,
    expired: boolean,
  ) => void;
  /** Receives each AUX field as it is read (they come before the keys). */
  onAux?: (name: string, value: string) => void;
}

const KNOWN_TYPES = new Set<number>(Object.values(RdbType));

/** A cursor over the file bytes with RDB primitives; every read checks bounds. */
class Cursor {
  pos = 0;
  private view: DataView;

  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(msg: string, at = this.pos): never {
    throw new RdbError(at, msg);
  }

  need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) {
      this.fail(`Unexpected end of file reading ${what} (${n} bytes needed)`);
    }
  }

  byte(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++];
  }

  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  int64LE(what: string): number | bigint {
    this.need(8, what);
    const v = this.view.getBigInt64(this.pos, true);
    this.pos += 8;
    return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  }

  int32LE(what: string): number {
    this.need(4, what);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** rdbLoadLenByRef: a length, or (encoded: true) a special string encoding. */
  lenOrEnc(what: string): { len: number; encoded: boolean } {
    const at = this.pos;
    const b = this.byte(what);
    const kind = b >> 6;
    if (kind === Len.ENCVAL) return { len: b & 0x3f, encoded: true };
    if (kind === Len.BITS6) return { len: b & 0x3f, encoded: false };
    if (kind === Len.BITS14) return { len: ((b & 0x3f) << 8) | this.byte(what), encoded: false };
    if (b === Len.BITS32) {
      this.need(4, what);
      const v = this.view.getUint32(this.pos, false);
      this.pos += 4;
      return { len: v, encoded: false };
    }
    if (b === Len.BITS64) {
      this.need(8, what);
      const v = this.view.getBigUint64(this.pos, false);
      this.pos += 8;
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`Length too large in ${what}`, at);
      return { len: Number(v), encoded: false };
    }
    return this.fail(`Unknown length encoding 0x${b.toString(16)} in ${what}`, at);
  }

  /** A plain length (an encoded string marker here is corruption). */
  len(what: string): number {
    const at = this.pos;
    const r = this.lenOrEnc(what);
    if (r.encoded) {
      this.fail(`Unexpected string encoding where a length was expected in ${what}`, at);
    }
    return r.len;
  }

  /** rdbGenericLoadStringObject: plain, INT8/16/32 or LZF. */
  string(what: string): Uint8Array {
    const at = this.pos;
    const { len, encoded } = this.lenOrEnc(what);
    if (!encoded) return copyBytes(this.bytes(len, what));
    switch (len) {
      case Enc.INT8: {
        const v = this.byte(what);
        return asciiInt(v > 127 ? v - 256 : v);
      }
      case Enc.INT16: {
        this.need(2, what);
        const v = this.view.getInt16(this.pos, true);
        this.pos += 2;
        return asciiInt(v);
      }
      case Enc.INT32:
        return asciiInt(this.int32LE(what));
      case Enc.LZF: {
        const clen = this.len(`${what} (LZF compressed length)`);
        const ulen = this.len(`${what} (LZF original length)`);
        const dataAt = this.pos;
        const data = this.bytes(clen, `${what} (LZF data)`);
        // A 3-byte back reference expands to at most 264 bytes: refuse absurd
        // lengths before allocating them.
        if (clen === 0 || ulen > clen * 88 + 32) {
          this.fail(`Invalid LZF compressed string: ${clen} bytes cannot expand to ${ulen}`, at);
        }
        try {
          return lzfDecompress(data, ulen);
        } catch (e) {
          if (e instanceof LzfError) {
            this.fail(`Invalid LZF compressed string: ${e.message}`, dataAt);
          }
          throw e;
        }
      }
      default:
        return this.fail(`Unknown string encoding ${len} in ${what}`, at);
    }
  }

  /** A string as latin1 text, decoded straight from the file when stored plainly. */
  text(what: string): string {
    const b = this.buf[this.pos];
    if (b !== undefined && b >> 6 === Len.BITS6 && this.pos + 1 + b <= this.buf.length) {
      this.pos += 1 + b;
      return latin1(this.buf.subarray(this.pos - b, this.pos));
    }
    return latin1(this.string(what));
  }

  /** Skips a string without decoding it. */
  skipString(what: string): void {
    const at = this.pos;
    const { len, encoded } = this.lenOrEnc(what);
    if (!encoded) return void this.bytes(len, what);
    if (len === Enc.INT8) this.bytes(1, what);
    else if (len === Enc.INT16) this.bytes(2, what);
    else if (len === Enc.INT32) this.bytes(4, what);
    else if (len === Enc.LZF) {
      const clen = this.len(what);
      this.len(what);
      this.bytes(clen, what);
    } else this.fail(`Unknown string encoding ${len} in ${what}`, at);
  }

  /** A double in the old ASCII form (zset type 3): length byte 253/254/255 = nan/+inf/-inf. */
  skipAsciiDouble(what: string): void {
    const n = this.byte(what);
    if (n < 253) this.bytes(n, what);
  }
}

function asciiInt(v: number): Uint8Array {
  const s = String(v);
  const out = allocBytes(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Skips a stream value (types 15, 19, 21) field by field, as rdbLoadObject reads it. */
function skipStream(c: Cursor, type: number): void {
  const nodes = c.len("stream listpacks count");
  for (let i = 0; i < nodes; i++) {
    c.skipString("stream node key");
    c.skipString("stream listpack");
  }
  c.len("stream length");
  c.len("stream last id ms");
  c.len("stream last id seq");
  if (type >= RdbType.STREAM_LISTPACKS_2) {
    for (let i = 0; i < 5; i++) c.len("stream id metadata"); // first id, max deleted id, entries added
  }
  const groups = c.len("stream consumer groups count");
  for (let g = 0; g < groups; g++) {
    c.skipString("consumer group name");
    c.len("consumer group last id ms");
    c.len("consumer group last id seq");
    if (type >= RdbType.STREAM_LISTPACKS_2) c.len("consumer group entries read");
    const pel = c.len("consumer group PEL size");
    for (let p = 0; p < pel; p++) {
      c.bytes(16, "PEL entry id");
      c.bytes(8, "PEL delivery time");
      c.len("PEL delivery count");
    }
    const consumers = c.len("consumers count");
    for (let k = 0; k < consumers; k++) {
      c.skipString("consumer name");
      c.bytes(8, "consumer seen time");
      if (type >= RdbType.STREAM_LISTPACKS_3) c.bytes(8, "consumer active time");
      const cpel = c.len("consumer PEL size");
      c.bytes(16 * cpel, "consumer PEL");
    }
  }
}

/** Skips module data written with the RDB_MODULE_OPCODE_* framing, up to its EOF opcode. */
function skipModuleData(c: Cursor): void {
  for (;;) {
    const at = c.pos;
    const op = c.len("module data opcode");
    switch (op) {
      case 0: // EOF
        return;
      case 1: // SINT
      case 2: // UINT
        c.len("module integer");
        break;
      case 3: // FLOAT
        c.bytes(4, "module float");
        break;
      case 4: // DOUBLE
        c.bytes(8, "module double");
        break;
      case 5: // STRING
        c.skipString("module string");
        break;
      default:
        c.fail(`Unknown module data opcode ${op}`, at);
    }
  }
}

/** Skips a value of any non-string type (rdbLoadObject's structure, without building it). */
function skipValue(c: Cursor, type: number, at: number): void {
  switch (type) {
    case RdbType.LIST:
    case RdbType.SET:
    case RdbType.LIST_QUICKLIST: {
      const n = c.len("collection length");
      for (let i = 0; i < n; i++) c.skipString("collection element");
      return;
    }
    case RdbType.ZSET:
    case RdbType.ZSET_2: {
      const n = c.len("zset length");
      for (let i = 0; i < n; i++) {
        c.skipString("zset member");
        if (type === RdbType.ZSET) c.skipAsciiDouble("zset score");
        else c.bytes(8, "zset score");
      }
      return;
    }
    case RdbType.HASH: {
      const n = c.len("hash length");
      for (let i = 0; i < 2 * n; i++) c.skipString("hash field or value");
      return;
    }
    case RdbType.HASH_ZIPMAP:
    case RdbType.LIST_ZIPLIST:
    case RdbType.SET_INTSET:
    case RdbType.ZSET_ZIPLIST:
    case RdbType.HASH_ZIPLIST:
    case RdbType.HASH_LISTPACK:
    case RdbType.ZSET_LISTPACK:
    case RdbType.SET_LISTPACK:
      c.skipString("encoded collection blob");
      return;
    case RdbType.LIST_QUICKLIST_2: {
      const n = c.len("quicklist node count");
      for (let i = 0; i < n; i++) {
        const cat = c.pos;
        const container = c.len("quicklist container");
        if (container !== 1 && container !== 2) {
          c.fail(`Quicklist integrity check failed: container ${container}`, cat);
        }
        c.skipString("quicklist node");
      }
      return;
    }
    case RdbType.STREAM_LISTPACKS:
    case RdbType.STREAM_LISTPACKS_2:
    case RdbType.STREAM_LISTPACKS_3:
      return skipStream(c, type);
    case RdbType.MODULE_2:
      c.len("module id");
      return skipModuleData(c);
    default:
      // MODULE (6, no framing: needs the module itself) and unknown codes.
      c.fail(`Unknown or unsupported RDB value type ${rdbTypeName(type)}`, at);
  }
}

/** Parses a whole RDB file; throws `RdbError` (with the offset) on any defect. */
export function readRdb(file: Uint8Array, opts: RdbReadOptions = {}): RdbContents {
  const steps = readRdbSteps(file, opts);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Keys read between two positions reported by `readRdbSteps`. */
const KEYS_PER_STEP = 512;

/**
 * `readRdb` in steps, for a load that lets the event loop run: yields the
 * byte offset reached every `KEYS_PER_STEP` keys and returns the contents.
 */
export function* readRdbSteps(
  file: Uint8Array,
  opts: RdbReadOptions = {},
): Generator<number, RdbContents, void> {
  const now = opts.now ?? Date.now();
  const onKey = opts.onKey;
  const c = new Cursor(file);
  const magic = latin1(c.bytes(9, "the RDB header"));
  if (!magic.startsWith("REDIS")) c.fail("Wrong signature trying to load DB from file", 0);
  const digits = magic.slice(5);
  if (!/^[0-9]{4}$/.test(digits)) c.fail("Wrong signature trying to load DB from file", 0);
  const version = Number(digits);
  if (version < 1 || version > RDB_VERSION) {
    c.fail(`Can't handle RDB format version ${version}`, 5);
  }
  const out: RdbContents = {
    version,
    aux: new Map(),
    dbs: new Map(),
    resize: new Map(),
    skipped: [],
    checksum: "none",
    warnings: [],
  };
  let db = 0;
  let entries: RdbKeyEntry[] = [];
  out.dbs.set(0, entries);
  let seen = new Set<string>();
  const keysSeen = new Map([[0, seen]]);
  let expireAt: number | bigint = 0;
  let idle: number | undefined;
  let freq: number | undefined;
  let keys = 0;
  const crc = new Crc64();
  let crcPos = 0;
  for (;;) {
    const at = c.pos;
    const type = c.byte("an opcode or value type");
    if (type === Opcode.EXPIRETIME_MS) {
      expireAt = c.int64LE("an expire time (ms)");
      continue;
    }
    if (type === Opcode.EXPIRETIME) {
      expireAt = c.int32LE("an expire time (s)") * 1000;
      continue;
    }
    if (type === Opcode.IDLE) {
      idle = c.len("an IDLE time");
      continue;
    }
    if (type === Opcode.FREQ) {
      freq = c.byte("an LFU frequency");
      continue;
    }
    if (type === Opcode.EOF) break;
    if (type === Opcode.SELECTDB) {
      db = c.len("a SELECTDB index");
      entries = out.dbs.get(db) ?? [];
      out.dbs.set(db, entries);
      seen = keysSeen.get(db) ?? new Set();
      keysSeen.set(db, seen);
      continue;
    }
    if (type === Opcode.RESIZEDB) {
      const size = c.len("a RESIZEDB size");
      const expires = c.len("a RESIZEDB expires size");
      out.resize.set(db, { size, expires });
      continue;
    }
    if (type === Opcode.AUX) {
      const k = c.text("an AUX field name");
      const v = c.text("an AUX field value");
      out.aux.set(k, v);
      opts.onAux?.(k, v);
      continue;
    }
    if (type === Opcode.MODULE_AUX) {
      c.len("a module AUX id");
      const whenAt = c.pos;
      const whenOp = c.len("a module AUX when opcode");
      if (whenOp !== 2) c.fail(`bad when_opcode ${whenOp} in module AUX`, whenAt);
      c.len("a module AUX when");
      skipModuleData(c);
      out.warnings.push(`module AUX data skipped at offset ${at}`);
      continue;
    }
    if (type === Opcode.FUNCTION2) {
      c.skipString("a function library");
      out.warnings.push(`function library skipped at offset ${at}`);
      continue;
    }
    if (type === Opcode.FUNCTION) {
      c.fail("Pre-release function format not supported", at);
    }
    // A key/value pair.
    if (!KNOWN_TYPES.has(type)) c.fail(`Unknown RDB value type or opcode ${rdbTypeName(type)}`, at);
    const keyAt = c.pos;
    const key = c.text("a key");
    // rdbLoad panics on a duplicated key ("Duplicated key found in RDB file").
    if (onKey === undefined) {
      if (seen.has(key)) c.fail(`Duplicated key found in RDB file: '${key}' in DB ${db}`, keyAt);
      seen.add(key);
    }
    if (type === RdbType.STRING) {
      const value = c.string("a string value");
      const expired = expireAt !== 0 && expireAt <= now;
      if (onKey) onKey(db, key, value, expireAt, expired);
      else {
        const e: RdbKeyEntry = { key, type: "string", value, expireAt, expired };
        if (idle !== undefined) e.idle = idle;
        if (freq !== undefined) e.freq = freq;
        entries.push(e);
      }
    } else {
      skipValue(c, type, at);
      out.skipped.push({ db, key, type, typeName: rdbTypeName(type), offset: at });
    }
    expireAt = 0;
    idle = undefined;
    freq = undefined;
    if (++keys % KEYS_PER_STEP === 0) {
      // The checksum advances with the keys, so no step is a whole-file pass.
      crc.update(file.subarray(crcPos, c.pos));
      crcPos = c.pos;
      yield c.pos;
    }
  }
  if (version >= 5) {
    const sumAt = c.pos;
    const stored = c.bytes(8, "the checksum");
    const storedValue = new DataView(stored.buffer, stored.byteOffset, 8).getBigUint64(0, true);
    if (storedValue === 0n) {
      out.checksum = "absent";
      out.warnings.push("RDB file was saved with checksum disabled: no check performed.");
    } else {
      const actual = crc.update(file.subarray(crcPos, sumAt)).value();
      if (actual !== storedValue) {
        c.fail(
          `Wrong RDB checksum expected: (${storedValue.toString(16)}) got: (${
            actual.toString(16)
          })`,
          sumAt,
        );
      }
      out.checksum = "ok";
    }
  }
  // Redis stops reading at the checksum; trailing bytes are only worth a warning.
  if (c.pos !== file.length) {
    out.warnings.push(`${file.length - c.pos} bytes after the end of the RDB ignored`);
  }
  for (const [k, v] of out.dbs) if (v.length === 0) out.dbs.delete(k);
  return out;
}
