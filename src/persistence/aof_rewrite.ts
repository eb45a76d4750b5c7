/**
 * The AOF rewrite (BGREWRITEAOF and automatic rewrites) without fork: the
 * pieces `PersistenceManager` puts together.
 *
 * At the start (synchronously, one instant) the writer moves to a NEW
 * incremental file listed in the manifest at once, and the keyspace is
 * snapshotted (`snapshotKeyspace`). Then the new base is serialised from the
 * snapshot one ~64 KiB chunk per event-loop turn (`writeBaseSliced`), into a
 * temp file that is fsynced and renamed to the new base name. Finally the
 * manifest is switched atomically (`afterRewrite`: new base, the old base and
 * the incremental files before the new one dropped) and the old files deleted.
 *
 * Crash safety: the manifest on disk always lists files that exist and
 * together hold the data: old base + old incrs + the new incr until the
 * switch, new base + the new incr after it. A crash in between leaves at most
 * an unlisted temp file or an unlisted new base, which loading ignores.
 *
 * @module
 */

import { rdbChunks, type RdbDb, type RdbWriteOptions } from "./rdb_writer.ts";
import { AtomicFileWriter } from "./rdb_file.ts";
import { encodeCommand, encodeSelect } from "./aof_log.ts";
import { bytesOf } from "../protocol/latin1.ts";
import { tempRewriteFileName } from "./aof_manifest.ts";

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
  chunkSize = 64 * 1024,
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
  return rdbPreamble ? rdbChunks(dbs, opts) : commandChunks(dbs);
}

/**
 * Writes `chunks` to `dirPath/temp-rewriteaof-bg-<pid>.aof`, one chunk per
 * event-loop turn, then fsyncs it and renames it to `dirPath/name` (and
 * fsyncs the directory). Returns the bytes written, or null when
 * `cancelled()` turned true (the temp file is removed). Throws on I/O errors
 * (the temp file is removed).
 */
export async function writeBaseSliced(
  dirPath: string,
  name: string,
  chunks: Iterable<Uint8Array>,
  cancelled: () => boolean,
): Promise<number | null> {
  const file = await AtomicFileWriter.open(dirPath, name, tempRewriteFileName(Deno.pid));
  let size = 0;
  try {
    for (const chunk of chunks) {
      if (cancelled()) break;
      await file.write(chunk);
      size += chunk.length;
      // One chunk per event-loop turn: commands run in between.
      await new Promise((r) => setTimeout(r, 0));
    }
    if (cancelled()) {
      await file.abort();
      return null;
    }
    await file.commit();
  } catch (err) {
    await file.abort();
    throw err;
  }
  return size;
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
