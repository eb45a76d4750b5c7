/**
 * The AOF rewrite (BGREWRITEAOF and automatic rewrites) without fork: the
 * pieces `PersistenceManager` puts together.
 *
 * At the start (synchronously, one instant) the writer moves to a NEW
 * incremental file listed in the manifest at once, and the keyspace is
 * snapshotted (`snapshotKeyspace`: copy-on-write, O(1) to take, the same
 * mechanism as BGSAVE). Then the new base is serialised from the snapshot
 * in ~2 ms slices, one per event-loop turn (`writeFileSliced`, as BGSAVE),
 * into a temp file that is fsynced and renamed to the new base name.
 * Finally the manifest is switched atomically (`afterRewrite`: new base, the
 * old base and the incremental files before the new one dropped) and the old
 * files deleted.
 *
 * Crash safety: the manifest on disk always lists files that exist and
 * together hold the data: old base + old incrs + the new incr until the
 * switch, new base + the new incr after it. A crash in between leaves at most
 * an unlisted temp file or an unlisted new base, which loading ignores.
 *
 * @module
 */

import { CHUNK_SIZE, rdbChunks, type RdbDb, type RdbWriteOptions } from "./rdb_writer.ts";
import { encodeCommand, encodeSelect } from "./aof_log.ts";
import { bytesOf } from "../protocol/latin1.ts";

/** Redis' AOF_REWRITE_LIMITE_THRESHOLD: failures before automatic rewrites are delayed. */
const LIMIT_THRESHOLD = 3;
/** Redis' AOF_REWRITE_LIMITE_MAX_MINUTES: the longest delay between failing automatic rewrites. */
const LIMIT_MAX_MINUTES = 60;

const SET = bytesOf("SET");
const PEXPIREAT = bytesOf("PEXPIREAT");

/**
 * A base file of commands (`aof-use-rdb-preamble no`): SELECT, SET and
 * PEXPIREAT for every key of `dbs`, in chunks of about `chunkSize` bytes.
 */
export function* commandChunks(
  dbs: Iterable<RdbDb>,
  chunkSize = CHUNK_SIZE,
): Generator<Uint8Array, void, void> {
  let parts: Uint8Array[] = [];
  let n = 0;
  const push = (b: Uint8Array) => {
    parts.push(b);
    n += b.length;
  };
  for (const db of dbs) {
    if (db.size === 0) continue;
    push(encodeSelect(db.index));
    for (const e of db.entries) {
      const key = bytesOf(e.key);
      push(encodeCommand([SET, key, e.value as Uint8Array]));
      if (e.expireAt !== 0) push(encodeCommand([PEXPIREAT, key, bytesOf(String(e.expireAt))]));
      if (n >= chunkSize) {
        yield concatBytes(parts, n);
        parts = [];
        n = 0;
      }
    }
  }
  if (n > 0) yield concatBytes(parts, n);
}

/** The chunks of a new AOF base: an RDB (`aof-use-rdb-preamble yes`) or commands. */
export function baseChunks(
  dbs: Iterable<RdbDb>,
  rdbPreamble: boolean,
  opts: RdbWriteOptions,
): Generator<Uint8Array, void, void> {
  return rdbPreamble ? rdbChunks(dbs, opts) : commandChunks(dbs, opts.chunkSize);
}

/**
 * Redis' automatic rewrite rule (serverCron): AOF on, a percentage set, the
 * current size above `minSize` and grown by at least `percentage`% over the
 * size at the last rewrite (or load).
 */
export function autoRewriteDue(
  currentSize: number,
  baseSize: number,
  percentage: number,
  minSize: number,
): boolean {
  if (percentage <= 0 || currentSize <= minSize) return false;
  const base = baseSize > 0 ? baseSize : 1;
  const growth = Math.floor((currentSize * 100) / base) - 100;
  return growth >= percentage;
}

/**
 * Redis' `aofRewriteLimited`: after 3 consecutive failures, automatic
 * rewrites wait 1, 2, 4 … up to 60 minutes after the last failure.
 */
export function rewriteLimited(failures: number, lastFailureMs: number, nowMs: number): boolean {
  if (failures < LIMIT_THRESHOLD) return false;
  const minutes = Math.min(2 ** (failures - LIMIT_THRESHOLD), LIMIT_MAX_MINUTES);
  return nowMs - lastFailureMs < minutes * 60_000;
}

/** Joins byte arrays of total length `n`. */
export function concatBytes(parts: Uint8Array[], n = -1): Uint8Array {
  if (n < 0) {
    n = 0;
    for (const p of parts) n += p.length;
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
