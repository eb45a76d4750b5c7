/**
 * The persistence state of the server (Redis' `server.rdb_*` fields): RDB
 * loading at start-up, blocking SAVE, background BGSAVE, automatic save
 * points from the cron, and the final save on shutdown; and the AOF
 * (`appendonly yes`): loading or creating it at start-up (`aof_loader.ts`),
 * feeding every write command that changed the dataset, in its propagated
 * form, to the incremental file (`aof_writer.ts`), and keys expired by the
 * server as DEL.
 *
 * BGSAVE without fork: `snapshotKeyspace` takes a copy-on-write snapshot
 * at the instant the save starts (O(1): before-images are kept only for keys
 * changed before the save reads them, see `DbSnapshot`), then the RDB
 * generator is resumed in ~2 ms slices, one per event-loop turn, written
 * asynchronously to the temp file (`writeFileSliced`), so clients keep
 * being served while it runs. The AOF rewrite reads its base from the same
 * kind of snapshot.
 *
 * Semantics follow Redis 7.0: SAVE and BGSAVE refuse while a BGSAVE runs;
 * a failed SAVE replies a bare `ERR` and leaves `rdb_last_bgsave_status`
 * alone, a failed BGSAVE sets it to `err`; after a successful BGSAVE the
 * changes made during it still count as unsaved; a save point fires after
 * more than N seconds since the last save with at least M changes, retried
 * after a failure only once 5 seconds passed since the last attempt.
 *
 * @module
 */

import type { Server } from "../server/server.ts";
import {
  type KeyspaceSnapshot,
  keyspaceSource,
  rdbChunks,
  type RdbWriteOptions,
  snapshotKeyspace,
} from "./rdb_writer.ts";
import { RdbError, readRdbSteps } from "./rdb_reader.ts";
import { LoadProgress } from "./load_progress.ts";
import { tempBgsaveName, writeFileAtomicSync, writeFileSliced } from "./rdb_file.ts";
import { strerror } from "../config/values.ts";
import type { Client } from "../server/client.ts";
import type { Database } from "../keyspace/database.ts";
import { bytesOf, latin1 } from "../protocol/latin1.ts";
import { AofWriter } from "./aof_writer.ts";
import { startAof, writeAofFileAtomic } from "./aof_loader.ts";
import {
  afterRewrite,
  emptyManifest,
  formatManifest,
  manifestFileName,
  parseManifest,
  withNewIncr,
  withoutHistory,
} from "./aof_manifest.ts";
import { autoRewriteDue, baseChunks, concatBytes, rewriteLimited } from "./aof_rewrite.ts";
import { type AofManifest, tempRewriteFileName } from "./aof_manifest.ts";
import {
  expiredKeyForm,
  incrbyfloatForm,
  type PropagateContext,
  propagatedForm,
} from "./aof_propagate.ts";

/** Redis' reply to writes while the last background save failed (stop-writes-on-bgsave-error). */
const MISCONF_RDB =
  "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/** Redis' CONFIG_BGSAVE_RETRY_DELAY: seconds before a failed automatic save is retried. */
const BGSAVE_RETRY_DELAY = 5;

/** The dataset file cannot be loaded; the message names the file (and the byte offset). */
export class RdbLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RdbLoadError";
  }
}

/** What a start-up load found. */
export interface RdbLoadResult {
  keysLoaded: number;
  keysExpired: number;
  seconds: number;
}

/** One running BGSAVE. */
interface BgsaveJob {
  startedAt: number;
  dirtyAtStart: number;
  cancelled: boolean;
  done: Promise<void>;
}

/** One running AOF rewrite. */
interface RewriteJob {
  startedAt: number;
  cancelled: boolean;
  done: Promise<void>;
}

/** What BGREWRITEAOF did. */
export type RewriteRequest = "started" | "scheduled" | "in-progress" | "failed";

/** Owns RDB saving and loading for one server. */
export class PersistenceManager {
  /** `rdb_last_bgsave_status`. */
  lastBgsaveOk = true;
  /** `rdb_last_bgsave_time_sec` (-1 before the first BGSAVE). */
  lastBgsaveTimeSec = -1;
  /** `rdb_saves`: save attempts (SAVE, BGSAVE, automatic) since start, as Redis counts them. */
  saves = 0;
  /** Keys loaded / dropped as expired by the last load (INFO). */
  lastLoadKeysLoaded = 0;
  lastLoadKeysExpired = 0;
  /** A BGSAVE asked for with SCHEDULE while other background work runs. */
  bgsaveScheduled = false;
  /** Unix time (s) of the last BGSAVE attempt (retry delay of save points). */
  private lastBgsaveTry = 0;
  private job: BgsaveJob | null = null;

  /**
   * The open incremental AOF file while `appendonly yes` is in effect, else
   * null: the dispatcher's one check per write command.
   */
  aofWriter: AofWriter | null = null;
  /** Size of the AOF base file (INFO `aof_base_size`). */
  aofBaseSize = 0;
  /** Sizes of the incremental files before the current one (INFO `aof_current_size`). */
  private aofOlderIncrSize = 0;
  /** `aof_rewrite_base_size`: the AOF size after the last rewrite or load (INFO `aof_base_size`). */
  aofRewriteBaseSize = 0;
  /** `aof_rewrite_scheduled`: BGREWRITEAOF asked for while a BGSAVE runs. */
  aofRewriteScheduled = false;
  /** `aof_last_bgrewrite_status`. */
  aofLastRewriteOk = true;
  /** `aof_last_rewrite_time_sec` (-1 before the first rewrite). */
  aofLastRewriteTimeSec = -1;
  /** `aof_rewrites`: rewrites started since start-up. */
  aofRewrites = 0;
  /** `aof_rewrites_consecutive_failures`. */
  aofRewriteFailures = 0;
  private aofLastRewriteFailMs = 0;
  private rewriteJob: RewriteJob | null = null;

  constructor(private readonly server: Server) {
    // Keys the server expires (lazily or actively) are logged as DEL, as Redis propagates them.
    server.keyspace.onEvent((db, type, _event, key) => {
      if (type === "x" && this.aofWriter !== null) {
        this.aofWriter.append(db.id, expiredKeyForm(bytesOf(key)));
      }
    });
  }

  /**
   * Start-up with `appendonly yes`: loads (or creates) the AOF and opens its
   * incremental file for appending. Throws `AofLoadError` / `RdbLoadError`.
   */
  async startAof(): Promise<void> {
    const res = await startAof(
      this.server,
      async (bytes, path, progress) => (await this.applyRdb(bytes, path, progress, true)).rdbEnd,
    );
    const size = (name: string) => {
      try {
        return Deno.statSync(`${res.dirPath}/${name}`).size;
      } catch {
        return 0;
      }
    };
    const m = res.manifest;
    this.aofBaseSize = m.base ? size(m.base.name) : 0;
    this.aofOlderIncrSize = 0;
    for (const i of m.incr) if (i.name !== res.incrName) this.aofOlderIncrSize += size(i.name);
    this.aofWriter = this.openAofWriter(`${res.dirPath}/${res.incrName}`);
    this.aofRewriteBaseSize = this.aofCurrentSize();
  }

  /**
   * Opens an incremental AOF file for appending under the configured policy.
   * Under `appendfsync always` a failed write or fsync stops the server, as
   * Redis does: no reply may acknowledge a write that is not on disk.
   */
  private openAofWriter(path: string): AofWriter {
    const cfg = this.server.config;
    const log = this.server.log;
    return new AofWriter(path, () => cfg.appendfsync, (msg) => log.warn(msg), {
      timestamps: cfg.aofTimestampEnabled,
      fatal: (msg) => {
        log.warn(msg);
        Deno.exit(1);
      },
    });
  }

  /**
   * CONFIG SET appendonly. Off: the incremental file is flushed, fsynced and
   * closed. On: like Redis' rewrite when AOF is switched on, a new base
   * holding the whole dataset and a new incremental file are written and the
   * manifest switched to them (older files become history and are deleted);
   * done here as a blocking save. Throws (CONFIG SET then rolls back) when
   * the files cannot be written.
   */
  setAppendonly(on: boolean): void {
    const w = this.aofWriter;
    // Redis kills a running rewrite when AOF is switched off (or rewritten on switching on).
    if ((on && w === null) || (!on && w !== null)) this.cancelRewrite();
    if (!on) {
      if (w === null) return;
      this.aofWriter = null;
      void w.close();
      this.server.log.info("AOF turned off");
      return;
    }
    if (w !== null) return;
    const cfg = this.server.config;
    const fname = cfg.appendfilename;
    const dirPath = `${cfg.dir}/${cfg.appenddirname}`;
    Deno.mkdirSync(dirPath, { recursive: true });
    let old = emptyManifest();
    try {
      old = parseManifest(Deno.readFileSync(`${dirPath}/${manifestFileName(fname)}`));
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    const preamble = cfg.aofUseRdbPreamble;
    const rewritten = afterRewrite(old, {
      appendfilename: fname,
      rdbPreamble: preamble,
      keepLastIncr: false,
    });
    const next = withNewIncr(rewritten.manifest, fname);
    const base = this.baseFileBytes(preamble);
    writeAofFileAtomic(dirPath, rewritten.baseName, base);
    const writer = this.openAofWriter(`${dirPath}/${next.name}`);
    try {
      const manifest = withoutHistory(next.manifest);
      writeAofFileAtomic(dirPath, manifestFileName(fname), bytesOf(formatManifest(manifest)));
    } catch (err) {
      void writer.close();
      throw err;
    }
    for (const h of next.manifest.history) {
      try {
        Deno.removeSync(`${dirPath}/${h.name}`);
      } catch { /* already gone */ }
    }
    this.aofBaseSize = base.length;
    this.aofOlderIncrSize = 0;
    this.aofWriter = writer;
    this.aofRewriteBaseSize = this.aofCurrentSize();
    this.server.log.info("Background append only file rewriting terminated with success");
  }

  /** INFO `aof_current_size`: base plus incremental files, as written so far. */
  aofCurrentSize(): number {
    const w = this.aofWriter;
    return w === null ? 0 : this.aofBaseSize + this.aofOlderIncrSize + w.size;
  }

  /**
   * The content of a new AOF base holding the dataset as it is now: an RDB
   * (`aof-use-rdb-preamble yes`) or SELECT / SET / PEXPIREAT commands.
   */
  baseFileBytes(rdbPreamble: boolean): Uint8Array {
    const src = keyspaceSource(this.server.keyspace);
    return concatBytes([
      ...baseChunks(src, rdbPreamble, { ...this.writeOptions(), aofBase: true }),
    ]);
  }

  /** True while an AOF rewrite runs (INFO `aof_rewrite_in_progress`). */
  get rewriteInProgress(): boolean {
    return this.rewriteJob !== null;
  }

  /** Seconds the running rewrite has taken so far, -1 when none. */
  currentRewriteSeconds(): number {
    const j = this.rewriteJob;
    return j === null ? -1 : Math.floor((Date.now() - j.startedAt) / 1000);
  }

  /** Resolves when the running rewrite (if any) has finished (tests). */
  async rewriteDone(): Promise<void> {
    await this.rewriteJob?.done;
  }

  /** BGREWRITEAOF: starts a rewrite, or schedules it after a running BGSAVE. */
  requestRewrite(): RewriteRequest {
    if (this.rewriteJob !== null) return "in-progress";
    if (this.job !== null) {
      this.aofRewriteScheduled = true;
      return "scheduled";
    }
    return this.startRewrite() ? "started" : "failed";
  }

  /** The AOF directory of the config. */
  private aofDirPath(): string {
    const cfg = this.server.config;
    return `${cfg.dir}/${cfg.appenddirname}`;
  }

  /** The manifest on disk (an empty one when there is none yet). */
  private readManifest(dirPath: string): AofManifest {
    try {
      return parseManifest(
        Deno.readFileSync(`${dirPath}/${manifestFileName(this.server.config.appendfilename)}`),
      );
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return emptyManifest();
      throw err;
    }
  }

  /**
   * Starts an AOF rewrite (`rewriteAppendOnlyFileBackground`): writes move to
   * a new incremental file listed in the manifest at once, the keyspace is
   * snapshotted at that same instant, and the new base is written from the
   * snapshot in slices (`aof_rewrite.ts`). False when it could not start.
   */
  startRewrite(): boolean {
    const cfg = this.server.config;
    const log = this.server.log;
    const fname = cfg.appendfilename;
    const dirPath = this.aofDirPath();
    const preamble = cfg.aofUseRdbPreamble;
    const startedAt = Date.now();
    this.aofRewriteScheduled = false;
    this.aofRewrites++;
    let manifest: AofManifest;
    const w = this.aofWriter;
    try {
      Deno.mkdirSync(dirPath, { recursive: true });
      manifest = this.readManifest(dirPath);
      if (w !== null) {
        // Everything logged so far goes to the old incremental file, on disk.
        w.syncNow();
        const next = withNewIncr(manifest, fname);
        const writer = this.openAofWriter(`${dirPath}/${next.name}`);
        try {
          writeAofFileAtomic(
            dirPath,
            manifestFileName(fname),
            bytesOf(formatManifest(next.manifest)),
          );
        } catch (err) {
          void writer.close();
          try {
            Deno.removeSync(writer.path);
          } catch { /* never created */ }
          throw err;
        }
        this.aofOlderIncrSize += w.size;
        this.aofWriter = writer;
        void w.close();
        manifest = next.manifest;
      }
    } catch (err) {
      log.warn(`Can't open new incr AOF: ${err instanceof Error ? err.message : String(err)}`);
      this.rewriteFailed(startedAt);
      return false;
    }
    // AOF on: the new incremental file stays; off: every incremental file becomes history.
    const { manifest: after, baseName } = afterRewrite(manifest, {
      appendfilename: fname,
      rdbPreamble: preamble,
      keepLastIncr: w !== null,
    });
    const snapshot = snapshotKeyspace(this.server.keyspace);
    const job: RewriteJob = { startedAt, cancelled: false, done: Promise.resolve() };
    this.rewriteJob = job;
    log.info(`Background append only file rewriting started by pid ${Deno.pid}`);
    const chunks = baseChunks(snapshot, preamble, { ...this.writeOptions(), aofBase: true });
    // A cancelled or failed rewrite stops the snapshot's copy-on-write too.
    job.done = this.runRewrite(job, dirPath, baseName, chunks, after)
      .finally(() => snapshot.release());
    return true;
  }

  private async runRewrite(
    job: RewriteJob,
    dirPath: string,
    baseName: string,
    chunks: Iterable<Uint8Array>,
    after: AofManifest,
  ): Promise<void> {
    const log = this.server.log;
    let error: string | null = null;
    try {
      const temp = tempRewriteFileName(Deno.pid);
      const size = await writeFileSliced(dirPath, baseName, temp, chunks, () => job.cancelled);
      if (size !== null && !job.cancelled) {
        const mname = manifestFileName(this.server.config.appendfilename);
        // One atomic switch: new base + the new incr; the old files are then unlisted.
        writeAofFileAtomic(dirPath, mname, bytesOf(formatManifest(withoutHistory(after))));
        for (const h of after.history) {
          try {
            Deno.removeSync(`${dirPath}/${h.name}`);
          } catch { /* already gone */ }
        }
        if (after.history.length > 0) {
          log.info("Removing the history file(s) in the background");
        }
        this.aofBaseSize = size;
        this.aofOlderIncrSize = 0;
        this.aofRewriteBaseSize = this.aofCurrentSize();
      }
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    this.rewriteJob = null;
    if (job.cancelled) {
      log.warn("Background AOF rewrite terminated by signal 10");
      return;
    }
    this.aofLastRewriteTimeSec = Math.floor((Date.now() - job.startedAt) / 1000);
    if (error === null) {
      log.info("Background AOF rewrite terminated with success");
      log.info("Background AOF rewrite finished successfully");
      this.aofLastRewriteOk = true;
      this.aofRewriteFailures = 0;
    } else {
      log.warn(error);
      log.warn("Background AOF rewrite failed");
      this.rewriteFailed(job.startedAt);
    }
  }

  private rewriteFailed(startedAt: number): void {
    this.aofLastRewriteOk = false;
    this.aofRewriteFailures++;
    this.aofLastRewriteFailMs = Date.now();
    this.aofLastRewriteTimeSec = Math.floor((Date.now() - startedAt) / 1000);
  }

  /** Stops a running rewrite (its temp file is removed; the manifest is untouched). */
  private cancelRewrite(): void {
    const j = this.rewriteJob;
    if (j === null) return;
    this.server.log.info(`Killing running AOF rewrite child: ${Deno.pid}`);
    j.cancelled = true;
  }

  /**
   * Called by the dispatcher after a write command when the AOF is on:
   * logs the command in its propagated form if it changed the dataset
   * (`dirty` grew). The expiry written is the one the key actually got.
   */
  afterWrite(client: Client, args: Uint8Array[], dirtyBefore: number): void {
    const w = this.aofWriter;
    if (w === null || this.server.keyspace.dirty <= dirtyBefore) return;
    const db = client.db;
    const form = this.propagated(db, args);
    if (form !== null) w.append(db.id, form);
  }

  /** Resolves when the records of the clients served in this turn are committed. */
  private heldTurn: Promise<void> | null = null;

  /**
   * Runs after a client's batch, before its replies are flushed. Its writes
   * reach the AOF file first (as Redis writes the AOF buffer in
   * `beforeSleep`, before replying), so a crash can only lose what the fsync
   * policy allows. Returns null when the replies may go out at once, or a
   * promise the client awaits before flushing them and reading more: it
   * resolves at the end of the turn, once one write covers the records of
   * every client served in it (with `appendfsync always`, once the one
   * fsync covering them has completed: group commit, possibly in the
   * background, see `AofWriter.commit`). One write per turn instead of one
   * per client is what keeps the AOF cheap with many clients; not reading
   * meanwhile keeps a pipelining client's later replies from leaving with
   * these.
   */
  holdReplies(): Promise<void> | null {
    const aof = this.aofWriter;
    if (aof === null || !aof.holdsReplies) return null;
    if (this.heldTurn === null) {
      this.heldTurn = new Promise((resolve) => {
        // Queued after the continuations of every read completed in this turn.
        queueMicrotask(() => {
          this.heldTurn = null;
          const w = this.aofWriter;
          if (w === null) resolve();
          else w.commit(resolve);
        });
      });
    }
    return this.heldTurn;
  }

  /** Reused by `propagated`: no allocation per logged write. */
  private readonly propagateCtx: PropagateContext = { nowMs: 0, lazyUserDel: false };

  private propagated(db: Database, args: Uint8Array[]): readonly Uint8Array[] | null {
    const name = args[0];
    if (name.length === 11 && latin1(name).toLowerCase() === "incrbyfloat") {
      const e = db.dict.get(latin1(args[1]));
      return e === undefined ? null : incrbyfloatForm(args[1], e.value as Uint8Array);
    }
    const ctx = this.propagateCtx;
    ctx.nowMs = Date.now();
    ctx.lazyUserDel = this.server.config.lazyfreeLazyUserDel;
    const form = propagatedForm(args, ctx);
    if (form === null || form === args) return form;
    // A relative expiry: write the absolute time the command stored, not a re-computation.
    const head = latin1(form[0]);
    const at = head === "SET" && form.length === 5 ? 4 : head === "PEXPIREAT" ? 2 : -1;
    if (at > 0) {
      const e = db.dict.get(latin1(form[1]));
      if (e !== undefined && e.expireAt !== 0) {
        const out = form.slice();
        out[at] = bytesOf(String(e.expireAt));
        return out;
      }
    }
    return form;
  }

  /** True while a BGSAVE runs. */
  get bgsaveInProgress(): boolean {
    return this.job !== null;
  }

  /**
   * True while other background work (an AOF rewrite, later) prevents a
   * BGSAVE from starting; BGSAVE SCHEDULE waits for it.
   */
  otherWorkActive(): boolean {
    return this.rewriteJob !== null;
  }

  /** The writer settings from the config. */
  private writeOptions(): RdbWriteOptions {
    return {
      compression: this.server.config.rdbcompression,
      checksum: this.server.config.rdbchecksum,
      usedMem: Deno.memoryUsage().heapUsed,
    };
  }

  /** Records a successful save of the dataset as it was `dirtyAtStart` changes ago. */
  private saved(dirtyAtStart: number): void {
    const ks = this.server.keyspace;
    ks.dirty = Math.max(0, ks.dirty - dirtyAtStart);
    this.server.lastSave = Math.floor(Date.now() / 1000);
    this.lastBgsaveOk = true;
  }

  /** Blocking save of the whole keyspace (SAVE, shutdown); false on failure (logged). */
  saveSync(): boolean {
    this.saves++;
    return this.writeDump();
  }

  /** Writes dbfilename from the keyspace, blocking; false on failure (logged). */
  private writeDump(): boolean {
    const { dir, dbfilename } = this.server.config;
    const ks = this.server.keyspace;
    try {
      writeFileAtomicSync(dir, dbfilename, rdbChunks(keyspaceSource(ks), this.writeOptions()));
    } catch (err) {
      this.server.log.warn(err instanceof Error ? err.message : String(err));
      return false;
    }
    this.server.log.info("DB saved on disk");
    this.saved(ks.dirty);
    return true;
  }

  /**
   * FLUSHALL's persistence side (Redis' flushAllDataAndResetRDB): a running
   * BGSAVE is stopped (it would otherwise put the flushed keys back on disk
   * when it finishes), and with save points the empty dataset is saved at
   * once.
   */
  afterFlushAll(): void {
    if (this.job !== null) this.job.cancelled = true;
    // As redis-server 7.0.15: dirty is then 0, and `rdb_saves` does not count it.
    if (this.server.config.save.length > 0) this.writeDump();
  }

  /** Starts a BGSAVE of the keyspace as it is now; the caller checks none is running. */
  startBgsave(): void {
    if (this.job !== null) throw new Error("BGSAVE already in progress");
    const ks = this.server.keyspace;
    const job: BgsaveJob = {
      startedAt: Date.now(),
      dirtyAtStart: ks.dirty,
      cancelled: false,
      done: Promise.resolve(),
    };
    this.lastBgsaveTry = Math.floor(job.startedAt / 1000);
    this.saves++;
    const snapshot = snapshotKeyspace(ks);
    this.job = job;
    this.server.log.info(`Background saving started by pid ${Deno.pid}`);
    // A cancelled or failed save stops the snapshot's copy-on-write too.
    job.done = this.runBgsave(job, snapshot).finally(() => snapshot.release());
  }

  private async runBgsave(job: BgsaveJob, snapshot: KeyspaceSnapshot): Promise<void> {
    const { dir, dbfilename } = this.server.config;
    const log = this.server.log;
    let error: string | null = null;
    try {
      const chunks = rdbChunks(snapshot, this.writeOptions());
      await writeFileSliced(dir, dbfilename, tempBgsaveName(), chunks, () => job.cancelled);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    this.job = null;
    if (job.cancelled) {
      log.warn("Background saving terminated by signal 10");
      return;
    }
    this.lastBgsaveTimeSec = Math.floor((Date.now() - job.startedAt) / 1000);
    if (error === null) {
      log.info("Background saving terminated with success");
      this.saved(job.dirtyAtStart);
    } else {
      log.warn(error);
      log.warn("Background saving error");
      this.lastBgsaveOk = false;
    }
  }

  /** Stops a running BGSAVE (its temp file is removed) and waits for it. */
  async cancelBgsave(): Promise<void> {
    const job = this.job;
    if (job === null) return;
    job.cancelled = true;
    await job.done;
  }

  /** Resolves when the running BGSAVE (if any) has finished (tests, shutdown). */
  async bgsaveDone(): Promise<void> {
    await this.job?.done;
  }

  /** Seconds the running BGSAVE has taken so far, -1 when none. */
  currentBgsaveSeconds(): number {
    return this.job === null ? -1 : Math.floor((Date.now() - this.job.startedAt) / 1000);
  }

  /** Cron step: a scheduled BGSAVE, or one due by a save point. */
  cron(now: number): void {
    this.aofWriter?.cron(now);
    if (this.job !== null || this.otherWorkActive()) return;
    if (this.rewriteCron(now)) return;
    const unix = Math.floor(now / 1000);
    const retryAllowed = this.lastBgsaveOk || unix - this.lastBgsaveTry > BGSAVE_RETRY_DELAY;
    if (!retryAllowed) return;
    if (this.bgsaveScheduled) {
      this.bgsaveScheduled = false;
      this.startBgsave();
      return;
    }
    const dirty = this.server.keyspace.dirty;
    for (const sp of this.server.config.save) {
      if (dirty >= sp.changes && unix - this.server.lastSave > sp.seconds) {
        this.server.log.info(`${sp.changes} changes in ${sp.seconds} seconds. Saving...`);
        this.startBgsave();
        return;
      }
    }
  }

  /** Cron step of the AOF: a scheduled rewrite, or an automatic one; true when one started. */
  private rewriteCron(now: number): boolean {
    if (rewriteLimited(this.aofRewriteFailures, this.aofLastRewriteFailMs, now)) return false;
    if (this.aofRewriteScheduled) return this.startRewrite();
    const cfg = this.server.config;
    if (this.aofWriter === null) return false;
    const size = this.aofCurrentSize();
    if (
      !autoRewriteDue(
        size,
        this.aofRewriteBaseSize,
        cfg.autoAofRewritePercentage,
        cfg.autoAofRewriteMinSize,
      )
    ) return false;
    const base = this.aofRewriteBaseSize > 0 ? this.aofRewriteBaseSize : 1;
    const growth = Math.floor((size * 100) / base) - 100;
    this.server.log.info(`Starting automatic rewriting of AOF on ${growth}% growth`);
    return this.startRewrite();
  }

  /**
   * Redis' `stop-writes-on-bgsave-error`: true when write commands must be
   * refused with MISCONF (save points set and the last background save failed).
   */
  /**
   * The MISCONF error write commands (and PING) get while the disk fails
   * (Redis' writeCommandsDeniedByDiskError): the last BGSAVE failed with
   * `stop-writes-on-bgsave-error yes` and save points, or the last AOF write
   * failed. Null in the common case, checked first: this runs per command.
   */
  writesDenied(): string | null {
    const w = this.aofWriter;
    if (this.lastBgsaveOk && (w === null || w.lastWriteOk)) return null;
    const cfg = this.server.config;
    if (!this.lastBgsaveOk && cfg.stopWritesOnBgsaveError && cfg.save.length > 0) {
      return MISCONF_RDB;
    }
    if (w !== null && !w.lastWriteOk) {
      return `MISCONF Errors writing to the AOF file: ${w.lastWriteError}`;
    }
    return null;
  }

  /** True when a shutdown must save: SAVE given, or by default when save points exist. */
  wantsFinalSave(save: boolean | null): boolean {
    // As Redis: never while loading, the dataset is not whole yet.
    if (this.server.loading) return false;
    return save === true || (save === null && this.server.config.save.length > 0);
  }

  /** Set once `finalSave` succeeded, so the shutdown hook does not save twice. */
  private finalSaveDone = false;

  /**
   * The save before exiting (SHUTDOWN, SIGTERM), run before the server
   * starts closing so a failure can keep it running, as Redis does: a
   * running BGSAVE is stopped, then the dataset saved. False when the save
   * failed and `force` was not given: the caller must not shut down.
   */
  finalSave(force = false): boolean {
    const log = this.server.log;
    if (this.job !== null) {
      log.warn("There is a child saving an .rdb. Killing it!");
      // It stops at its next turn and removes its own temp file (a name of its own).
      this.job.cancelled = true;
    }
    log.warn("Saving the final RDB snapshot before exiting.");
    if (this.saveSync()) {
      this.finalSaveDone = true;
      return true;
    }
    if (force) {
      log.warn("Error trying to save the DB. Exit anyway.");
      return true;
    }
    log.warn("Error trying to save the DB, can't exit.");
    return false;
  }

  /**
   * The shutdown hook: a running BGSAVE is stopped; then the dataset is
   * saved when wanted and `finalSave` did not already do it (a failure here
   * is only logged: the server is already closing).
   */
  async onShutdown(save: boolean | null): Promise<void> {
    if (this.rewriteJob !== null) {
      this.cancelRewrite();
      await this.rewriteJob?.done;
    }
    if (this.aofWriter !== null) {
      this.server.log.info("Calling fsync() on the AOF file.");
      await this.aofWriter.close();
    }
    if (this.job !== null) {
      this.server.log.warn("There is a child saving an .rdb. Killing it!");
      await this.cancelBgsave();
    }
    if (this.finalSaveDone || !this.wantsFinalSave(save)) return;
    this.finalSave(true);
  }

  /** The start-up load in progress (INFO `loading_*` fields), else null. */
  loadProgress: LoadProgress | null = null;

  /**
   * Marks the start of a start-up load of `totalBytes`: until `endLoading`,
   * clients get `LOADING` for commands without the `loading` flag.
   */
  beginLoading(totalBytes: number): LoadProgress {
    this.server.loading = true;
    this.loadProgress = new LoadProgress(
      totalBytes,
      this.server.config.loadingProcessEventsIntervalBytes,
      this.server.log,
      () => this.server.stopping,
    );
    return this.loadProgress;
  }

  /** Marks the end of the start-up load (whether it succeeded or not). */
  endLoading(): void {
    this.server.loading = false;
    this.loadProgress = null;
  }

  /**
   * Loads `dir/dbfilename` into the keyspace if it exists (start-up, after
   * the server started listening): the checksum is verified, expired keys
   * are dropped. Returns null when there is no file. Throws `RdbLoadError`
   * on corruption, on keys of types this server cannot hold, or on a
   * database number beyond `databases`: never half a dataset; and
   * `LoadCancelled` when a shutdown interrupts it.
   */
  async loadAtStartup(): Promise<RdbLoadResult | null> {
    const { dir, dbfilename } = this.server.config;
    const path = `${dir}/${dbfilename}`;
    const log = this.server.log;
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return null;
      throw new RdbLoadError(`Fatal error loading the DB from ${path}: ${strerror(err)}. Exiting.`);
    }
    const ks = this.server.keyspace;
    const started = performance.now();
    const progress = this.beginLoading(bytes.length);
    progress.startFile(bytes.length);
    let counts: { loaded: number; expired: number };
    try {
      counts = await this.applyRdb(bytes, path, progress);
    } finally {
      this.endLoading();
    }
    const { loaded, expired } = counts;
    ks.dirty = 0;
    const seconds = (performance.now() - started) / 1000;
    log.info(`DB loaded from disk: ${seconds.toFixed(3)} seconds`);
    return { keysLoaded: loaded, keysExpired: expired, seconds };
  }

  /**
   * Adds the keys of RDB `bytes` (read from `path`) to the keyspace, in
   * slices that let clients be answered meanwhile: the checksum is verified,
   * expired keys are dropped. Throws `RdbLoadError` on corruption, on keys
   * of types this server cannot hold, or on a database number beyond
   * `databases`. Used for `dbfilename` and for an AOF's RDB base.
   * INFO's `rdb_last_load_keys_*` follow it as it goes.
   */
  async applyRdb(
    bytes: Uint8Array,
    path: string,
    progress: LoadProgress,
    allowTail = false,
  ): Promise<{ loaded: number; expired: number; rdbEnd: number }> {
    const ks = this.server.keyspace;
    const log = this.server.log;
    const now = Date.now();
    let loaded = 0;
    let expired = 0;
    let rdbEnd = bytes.length;
    this.lastLoadKeysLoaded = 0;
    this.lastLoadKeysExpired = 0;
    try {
      const steps = readRdbSteps(bytes, {
        now,
        onAux: (name, value) => {
          if (name === "redis-ver") log.info(`Loading RDB produced by version ${value}`);
          else if (name === "ctime" && Number.isFinite(Number(value))) {
            log.info(`RDB age ${Math.floor(now / 1000) - Number(value)} seconds`);
          } else if (name === "aof-base" && value === "1") {
            log.info("RDB is base AOF");
          } else if (name === "used-mem" && Number.isFinite(Number(value))) {
            progress.rdbUsedMem = Number(value);
            log.info(
              `RDB memory usage when created ${(Number(value) / 1024 / 1024).toFixed(2)} Mb`,
            );
          }
        },
        onKey: (dbIndex, key, value, expireAt, isExpired) => {
          const db = ks.dbs[dbIndex];
          if (db === undefined) {
            throw new RdbLoadError(
              `FATAL: Data file ${path} was created with a Redis server configured to handle more than ${ks.dbs.length} databases. Exiting`,
            );
          }
          if (isExpired) {
            expired++;
            return;
          }
          if (!db.loadKey(key, value, expireAt)) {
            throw new RdbLoadError(
              `Fatal error loading the DB from ${path}: Duplicated key found in RDB file: '${key}' in DB ${dbIndex}. Exiting.`,
            );
          }
          loaded++;
        },
      });
      let step = steps.next();
      while (!step.done) {
        if (progress.due(step.value)) {
          progress.keysLoaded = this.lastLoadKeysLoaded = loaded;
          this.lastLoadKeysExpired = expired;
          await progress.pause();
        }
        step = steps.next();
      }
      const res = step.value;
      if (res.skipped.length > 0) {
        const first = res.skipped[0];
        throw new RdbLoadError(
          `Fatal error loading the DB from ${path}: it holds ${res.skipped.length} key(s) of types this server cannot hold yet (first: '${first.key}' in DB ${first.db}, type ${first.typeName}, at byte offset ${first.offset}). Refusing to start with part of the dataset. Exiting.`,
        );
      }
      for (const w of res.warnings) {
        // An old RDB-preamble AOF goes on with commands after the RDB: not a warning there.
        const m = TRAILING.exec(w);
        if (m) rdbEnd = bytes.length - Number(m[1]);
        else log.warn(w);
      }
      if (rdbEnd < bytes.length && !allowTail) {
        log.warn(`${bytes.length - rdbEnd} bytes after the end of the RDB ignored`);
      }
    } catch (err) {
      if (err instanceof RdbError) {
        throw new RdbLoadError(`Fatal error loading the DB from ${path}: ${err.message}. Exiting.`);
      }
      throw err;
    }
    progress.keysLoaded = this.lastLoadKeysLoaded = loaded;
    this.lastLoadKeysExpired = expired;
    log.info(`Done loading RDB, keys loaded: ${loaded}, keys expired: ${expired}.`);
    return { loaded, expired, rdbEnd };
  }
}

/** The reader's warning for bytes after the RDB checksum (where an old preamble AOF's commands are). */
const TRAILING = /^(\d+) bytes after the end of the RDB ignored$/;
