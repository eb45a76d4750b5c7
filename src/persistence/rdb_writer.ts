/**
 * Serialises a dataset as an RDB version 10 file, byte for byte as Redis 7.0
 * writes it (`rdbSaveRio`): magic `REDIS0010`, the AUX fields Redis writes on
 * a standalone primary, then for each non-empty database SELECTDB and
 * RESIZEDB, then each key (optional expiry, optional LRU/LFU info, type,
 * key, value), then EOF and the CRC64 of everything before it (0 when
 * `rdbchecksum no`).
 *
 * Strings follow `rdbSaveRawString`: at most 11 bytes that parse as an
 * integer (string2ll rules) in int32 range are stored as INT8/16/32; with
 * `rdbcompression yes`, longer than 20 bytes and LZF-compressible into at
 * most length-4 bytes, as LZF; otherwise plainly. Keys get the same rules.
 *
 * Output is incremental: `rdbChunks` is a generator yielding chunks of about
 * `chunkSize` bytes, so a background save can resume it in slices between
 * event-loop turns; `writeRdb` drives it into a sink. The writer only reads
 * entries. `snapshotKeyspace` gives what a background save (BGSAVE, and the
 * AOF rewrite base) sees: each database's copy-on-write `DbSnapshot`, taken
 * in O(1) at the save's instant and read lazily as chunks are asked for, so
 * the file holds exactly the dataset of that instant however clients write
 * meanwhile (see `database.ts` for the bookkeeping).
 *
 * @module
 */

import type { Keyspace } from "../keyspace/keyspace.ts";
import { type DbSnapshot, type Entry, expireTime, type ValueType } from "../keyspace/database.ts";
import { parseInt64 } from "../common/numbers.ts";
import { writeLatin1 } from "../protocol/latin1.ts";
import { Crc64 } from "./crc64.ts";
import { lzfCompress } from "./lzf.ts";
import { Enc, Len, Opcode, RDB_VERSION, RdbType } from "./rdb_format.ts";

/** One key as the writer sees it. */
export interface RdbEntry {
  /** The key, a latin1 string (one char per byte). */
  key: string;
  type: ValueType;
  /** `Uint8Array` for strings. */
  value: unknown;
  /** Absolute expiry in ms since the epoch, 0 when none. */
  expireAt: number | bigint;
  /** Last access time in ms (written as IDLE when `evictionInfo` is "lru"). */
  atime?: number;
  /** LFU counter 0..255 (written as FREQ when `evictionInfo` is "lfu"). */
  freq?: number;
}

/** One database to save. Empty databases are skipped, as Redis does. */
export interface RdbDb {
  index: number;
  /** Number of keys (RESIZEDB hint). */
  size: number;
  /** Number of keys with an expiry (RESIZEDB hint). */
  expires: number;
  entries: Iterable<RdbEntry>;
}

/** Settings of a save (Redis' config and state at save time). */
export interface RdbWriteOptions {
  /** `rdbcompression` (default true). */
  compression?: boolean;
  /** `rdbchecksum` (default true); when false the stored checksum is 0. */
  checksum?: boolean;
  /** `redis-ver` AUX value (default "7.0.15"). */
  redisVersion?: string;
  /** `ctime` AUX value in seconds (default now). */
  ctime?: number;
  /** `used-mem` AUX value in bytes (default 0). */
  usedMem?: number;
  /** `aof-base` AUX value: true when writing an AOF base file (default false). */
  aofBase?: boolean;
  /** Extra AUX fields written after the standard ones (before `aof-base`), e.g. repl-id. */
  extraAux?: [string, string][];
  /** Per-key eviction info, as Redis writes it for LRU / LFU maxmemory policies (default "none"). */
  evictionInfo?: "none" | "lru" | "lfu";
  /** Clock for IDLE times (default Date.now). */
  now?: number;
  /** Target size of each yielded chunk (default `CHUNK_SIZE`). */
  chunkSize?: number;
}

/**
 * Default chunk size. A background save pulls chunks until its ~2 ms slice
 * of an event-loop turn is used up (`writeFileSliced`), so a chunk is the
 * unit it can overrun by: 16 KiB of ~30-byte keys is ~0.3 ms of work, where
 * 64 KiB took ~1.5 ms and was no faster overall.
 */
export const CHUNK_SIZE = 16 * 1024;

/** Entry view of a keyspace `Entry`. */
function toRdbEntry(key: string, e: Entry): RdbEntry {
  return {
    key,
    type: e.type,
    value: e.value,
    expireAt: expireTime(e),
    atime: e.atime,
    freq: e.freq,
  };
}

/** The keyspace's databases as the writer reads them, live (for a blocking SAVE). */
export function keyspaceSource(keyspace: Keyspace): RdbDb[] {
  return keyspace.dbs.map((db) => ({
    index: db.id,
    size: db.size,
    expires: db.volatile.size,
    entries: (function* () {
      for (const [k, e] of db.dict) yield toRdbEntry(k, e);
    })(),
  }));
}

/**
 * The keyspace as it is at this instant, for a save that runs in slices while
 * commands keep changing the live keyspace: O(databases) to take. Iterate it
 * once (each database's entries once); `release` stops the copy-on-write
 * bookkeeping of a save that ends early (a save read to the end releases
 * itself; releasing twice is harmless).
 */
export class KeyspaceSnapshot implements Iterable<RdbDb> {
  private readonly snaps: DbSnapshot[];

  constructor(keyspace: Keyspace) {
    this.snaps = keyspace.dbs.map((db) => db.snapshot());
  }

  *[Symbol.iterator](): Iterator<RdbDb> {
    for (const s of this.snaps) {
      yield { index: s.index, size: s.size, expires: s.expires, entries: snapshotEntries(s) };
    }
  }

  /** Detaches every database snapshot (a cancelled or failed save). */
  release(): void {
    for (const s of this.snaps) s.release();
  }
}

/** The entries of a database snapshot, read as the writer asks for them. */
function* snapshotEntries(s: DbSnapshot): Generator<RdbEntry, void, void> {
  for (let e = s.next(); e !== null; e = s.next()) yield toRdbEntry(s.key, e);
}

/** A point-in-time view of the keyspace (see {@link KeyspaceSnapshot}). */
export function snapshotKeyspace(keyspace: Keyspace): KeyspaceSnapshot {
  return new KeyspaceSnapshot(keyspace);
}

/** Bytes of the latin1 string being encoded (keys, AUX fields). */
let scratch = new Uint8Array(256);

/** A growable output buffer with RDB primitives. */
class RdbBuffer {
  buf: Uint8Array;
  pos = 0;
  private view: DataView;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Hands over the bytes written so far and starts a fresh buffer. */
  take(nextSize: number): Uint8Array {
    const out = this.buf.subarray(0, this.pos);
    this.buf = new Uint8Array(nextSize);
    this.view = new DataView(this.buf.buffer);
    this.pos = 0;
    return out;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  latin1(s: string): void {
    this.ensure(s.length);
    this.pos = writeLatin1(this.buf, this.pos, s);
  }

  /** rdbSaveLen: 6-bit, 14-bit, 32-bit or 64-bit big-endian length. */
  len(n: number): void {
    this.ensure(9);
    if (n < 1 << 6) {
      this.buf[this.pos++] = n;
    } else if (n < 1 << 14) {
      this.buf[this.pos++] = (Len.BITS14 << 6) | (n >> 8);
      this.buf[this.pos++] = n & 0xff;
    } else if (n <= 0xffffffff) {
      this.buf[this.pos++] = Len.BITS32;
      this.view.setUint32(this.pos, n, false);
      this.pos += 4;
    } else {
      this.buf[this.pos++] = Len.BITS64;
      this.view.setBigUint64(this.pos, BigInt(n), false);
      this.pos += 8;
    }
  }

  int64LE(v: number | bigint): void {
    this.ensure(8);
    this.view.setBigInt64(this.pos, BigInt(v), true);
    this.pos += 8;
  }

  /** rdbEncodeInteger: INT8/16/32 when `v` fits; false otherwise. */
  encodedInt(v: number): boolean {
    this.ensure(5);
    const b = this.buf;
    if (v >= -128 && v <= 127) {
      b[this.pos++] = (Len.ENCVAL << 6) | Enc.INT8;
      b[this.pos++] = v & 0xff;
    } else if (v >= -32768 && v <= 32767) {
      b[this.pos++] = (Len.ENCVAL << 6) | Enc.INT16;
      this.view.setInt16(this.pos, v, true);
      this.pos += 2;
    } else if (v >= -2147483648 && v <= 2147483647) {
      b[this.pos++] = (Len.ENCVAL << 6) | Enc.INT32;
      this.view.setInt32(this.pos, v, true);
      this.pos += 4;
    } else {
      return false;
    }
    return true;
  }

  /** rdbSaveRawString of the first `n` bytes of `s`: integer encoding, then LZF, then plain. */
  string(s: Uint8Array, compression: boolean, n = s.length): void {
    if (n <= 11 && n > 0 && (s[0] === 45 || (s[0] >= 48 && s[0] <= 57))) {
      const v = parseInt64(n === s.length ? s : s.subarray(0, n));
      if (typeof v === "number" && this.encodedInt(v)) return;
    }
    if (compression && n > 20) {
      // rdbSaveLzfStringObject: the output must fit in length-4 bytes.
      const c = lzfCompress(s, n - 4, n);
      if (c !== null) {
        this.byte((Len.ENCVAL << 6) | Enc.LZF);
        this.len(c.length);
        this.len(n);
        this.raw(c);
        return;
      }
    }
    this.len(n);
    this.ensure(n);
    this.buf.set(n === s.length ? s : s.subarray(0, n), this.pos);
    this.pos += n;
  }

  /** A latin1 string (keys, AUX fields) with the same rules, via a reused scratch buffer. */
  latin1String(s: string, compression: boolean): void {
    const n = s.length;
    if (n <= 20 && !(n <= 11 && n > 0 && s.charCodeAt(0) <= 57)) {
      // Neither an integer candidate nor compressible: write it directly.
      this.len(n);
      this.latin1(s);
      return;
    }
    if (scratch.length < n) scratch = new Uint8Array(Math.max(n, scratch.length * 2));
    writeLatin1(scratch, 0, s);
    this.string(scratch, compression, n);
  }
}

/** Writes one key (rdbSaveKeyValuePair). */
function writeEntry(out: RdbBuffer, e: RdbEntry, opts: RdbWriteOptions, compression: boolean) {
  if (e.expireAt !== 0 && e.expireAt !== 0n) {
    out.byte(Opcode.EXPIRETIME_MS);
    out.int64LE(e.expireAt);
  }
  if (opts.evictionInfo === "lru") {
    const idleMs = Math.max(0, (opts.now ?? Date.now()) - (e.atime ?? 0));
    out.byte(Opcode.IDLE);
    out.len(Math.floor(idleMs / 1000));
  } else if (opts.evictionInfo === "lfu") {
    out.byte(Opcode.FREQ);
    out.byte((e.freq ?? 0) & 0xff);
  }
  if (e.type !== "string" || !(e.value instanceof Uint8Array)) {
    throw new Error(`RDB writer: cannot save key of type ${e.type} (only strings are supported)`);
  }
  out.byte(RdbType.STRING);
  out.latin1String(e.key, compression);
  out.string(e.value, compression);
}

/**
 * Yields the RDB file in chunks of about `chunkSize` bytes (the last one
 * ends with EOF and the checksum). Each chunk is a fresh array the caller
 * may keep. Between two `next()` calls the writer holds only its position
 * in `dbs`' iterators.
 */
export function* rdbChunks(
  dbs: Iterable<RdbDb>,
  opts: RdbWriteOptions = {},
): Generator<Uint8Array, void, void> {
  const chunkSize = opts.chunkSize ?? CHUNK_SIZE;
  const compression = opts.compression ?? true;
  const checksum = opts.checksum ?? true;
  const crc = new Crc64();
  const out = new RdbBuffer(chunkSize + 1024);
  const flush = (): Uint8Array => {
    const c = out.take(chunkSize + 1024);
    if (checksum) crc.update(c);
    return c;
  };

  out.latin1(`REDIS${String(RDB_VERSION).padStart(4, "0")}`);
  const aux = (k: string, v: string) => {
    out.byte(Opcode.AUX);
    out.latin1String(k, compression);
    out.latin1String(v, compression);
  };
  aux("redis-ver", opts.redisVersion ?? "7.0.15");
  aux("redis-bits", "64");
  aux("ctime", String(opts.ctime ?? Math.floor(Date.now() / 1000)));
  aux("used-mem", String(opts.usedMem ?? 0));
  for (const [k, v] of opts.extraAux ?? []) aux(k, v);
  aux("aof-base", opts.aofBase ? "1" : "0");

  for (const db of dbs) {
    if (db.size === 0) continue;
    out.byte(Opcode.SELECTDB);
    out.len(db.index);
    out.byte(Opcode.RESIZEDB);
    out.len(db.size);
    out.len(db.expires);
    for (const e of db.entries) {
      writeEntry(out, e, opts, compression);
      if (out.pos >= chunkSize) yield flush();
    }
  }
  out.byte(Opcode.EOF);
  const last = flush();
  const tail = new Uint8Array(last.length + 8);
  tail.set(last);
  if (checksum) tail.set(crc.bytesLE(), last.length);
  yield tail;
}

/** Writes the whole RDB file into `sink`, chunk by chunk. */
export function writeRdb(
  dbs: Iterable<RdbDb>,
  opts: RdbWriteOptions,
  sink: (chunk: Uint8Array) => void,
): void {
  for (const c of rdbChunks(dbs, opts)) sink(c);
}

/** The whole RDB file as one array (tests, small datasets). */
export function rdbBytes(dbs: Iterable<RdbDb>, opts: RdbWriteOptions = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  let n = 0;
  writeRdb(dbs, opts, (c) => {
    parts.push(c);
    n += c.length;
  });
  const out = new Uint8Array(n);
  let p = 0;
  for (const c of parts) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

/** One string encoded as `rdbSaveRawString` would (int, LZF or plain), e.g. for DUMP payloads. */
export function encodeRdbString(s: Uint8Array, compression = true): Uint8Array {
  const b = new RdbBuffer(s.length + 16);
  b.string(s, compression);
  return b.take(0);
}
