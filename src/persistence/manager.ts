/**
 * The persistence state of the server (Redis' `server.rdb_*` fields): RDB
 * loading at start-up, blocking SAVE, background BGSAVE, automatic save
 * points from the cron, and the final save on shutdown; and the AOF
 * (`appendonly yes`): loading or creating it at start-up (`aof_loader.ts`),
 * feeding every write command that changed the dataset, in its propagated
 * form, to the incremental file (`aof_writer.ts`), and keys expired by the
 * server as DEL.
 *
 * BGSAVE without fork: `snapshotKeyspace` copies the keyspace's references
 * at the instant the save starts (values are never mutated in place, so the
 * copy is consistent), then the RDB generator is resumed one ~64 KiB chunk
 * per event-loop turn and each chunk written asynchronously to the temp
 * file, so clients keep being served while it runs. The snapshot itself is
 * taken synchronously: O(keys) reference copies, far cheaper than
 * serialising.
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
  keyspaceSource,
  rdbChunks,
  type RdbDb,
  type RdbWriteOptions,
  snapshotKeyspace,
} from "./rdb_writer.ts";
import { RdbError, readRdb } from "./rdb_reader.ts";
import { AtomicFileWriter, tempBgsaveName, writeFileAtomicSync } from "./rdb_file.ts";
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
import {
  autoRewriteDue,
  baseChunks,
  concatBytes,
  rewriteLimited,
  writeBaseSliced,
} from "./aof_rewrite.ts";
import type { AofManifest } from "./aof_manifest.ts";
import { expiredKeyForm, incrbyfloatForm, propagatedForm } from "./aof_propagate.ts";

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
  startAof(): void {
    const res = startAof(this.server, (bytes, path) => {
      const { loaded, expired, rdbEnd } = this.applyRdb(bytes, path, true);
      this.lastLoadKeysLoaded = loaded;
      this.lastLoadKeysExpired = expired;
      return rdbEnd;
    });
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
    const cfg = this.server.config;
    this.aofWriter = new AofWriter(
      `${res.dirPath}/${res.incrName}`,
      () => cfg.appendfsync,
      (msg) => this.server.log.warn(msg),
      cfg.aofTimestampEnabled,
    );
    this.aofRewriteBaseSize = this.aofCurrentSize();
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
    const writer = new AofWriter(
      `${dirPath}/${next.name}`,
      () => cfg.appendfsync,
      (msg) => this.server.log.warn(msg),
      cfg.aofTimestampEnabled,
    );
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
    return concatBytes([...baseChunks(src, rdbPreamble, this.writeOptions())]);
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
        const writer = new AofWriter(
          `${dirPath}/${next.name}`,
          () => cfg.appendfsync,
          (msg) => log.warn(msg),
          cfg.aofTimestampEnabled,
        );
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
    job.done = this.runRewrite(job, dirPath, baseName, chunks, after);
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
      const size = await writeBaseSliced(dirPath, baseName, chunks, () => job.cancelled);
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

  private awaitingSync = new Set<Client>();
  private groupSyncScheduled = false;

  /**
   * Runs before a client's replies are flushed: its writes reach the AOF
   * file first (as Redis writes the AOF buffer before replying), so a crash
   * can only lose what the fsync policy allows. With `appendfsync always`
   * the replies are held (returns true) until one fsync at the end of the
   * turn covers the writes of every client served in it: group commit.
   */
  holdReplies(client: Client): boolean {
    const aof = this.aofWriter;
    if (aof === null) return false;
    if (this.server.config.appendfsync !== "always") {
      aof.flush();
      return false;
    }
    if (!aof.needsSync) return false;
    if (client.closeAfterReply) {
      // QUIT after a write: the reply is sent at once, so sync now.
      aof.syncNow();
      return false;
    }
    this.awaitingSync.add(client);
    if (!this.groupSyncScheduled) {
      this.groupSyncScheduled = true;
      queueMicrotask(() => {
        this.groupSyncScheduled = false;
        this.aofWriter?.syncNow();
        const clients = this.awaitingSync;
        this.awaitingSync = new Set();
        for (const c of clients) {
          if (!c.closed && !c.overOutputLimit()) c.flush();
        }
      });
    }
    return true;
  }

  private propagated(db: Database, args: Uint8Array[]): readonly Uint8Array[] | null {
    const name = args[0];
    if (name.length === 11 && latin1(name).toLowerCase() === "incrbyfloat") {
      const e = db.dict.get(latin1(args[1]));
      return e === undefined ? null : incrbyfloatForm(args[1], e.value as Uint8Array);
    }
    const form = propagatedForm(args, {
      nowMs: Date.now(),
      lazyUserDel: this.server.config.lazyfreeLazyUserDel,
    });
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
    const { dir, dbfilename } = this.server.config;
    const ks = this.server.keyspace;
    this.saves++;
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
    job.done = this.runBgsave(job, snapshot);
  }

  private async runBgsave(job: BgsaveJob, snapshot: RdbDb[]): Promise<void> {
    const { dir, dbfilename } = this.server.config;
    const log = this.server.log;
    let error: string | null = null;
    try {
      const file = await AtomicFileWriter.open(dir, dbfilename, tempBgsaveName());
      try {
        for (const chunk of rdbChunks(snapshot, this.writeOptions())) {
          if (job.cancelled) break;
          await file.write(chunk);
          // One chunk per event-loop turn: commands run in between.
          await new Promise((r) => setTimeout(r, 0));
        }
        if (job.cancelled) await file.abort();
        else await file.commit();
      } catch (err) {
        await file.abort();
        throw err;
      }
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
  writesDenied(): boolean {
    if (this.lastBgsaveOk) return false; // the common case, checked first: this runs per command
    const cfg = this.server.config;
    return cfg.stopWritesOnBgsaveError && cfg.save.length > 0;
  }

  /** True when a shutdown must save: SAVE given, or by default when save points exist. */
  wantsFinalSave(save: boolean | null): boolean {
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

  /**
   * Loads `dir/dbfilename` into the keyspace if it exists (start-up): the
   * checksum is verified, expired keys are dropped. Returns null when there is
   * no file. Throws `RdbLoadError` on corruption, on keys of types this server
   * cannot hold, or on a database number beyond `databases`: never half a
   * dataset.
   */
  loadAtStartup(): RdbLoadResult | null {
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
    this.server.loading = true;
    let counts: { loaded: number; expired: number };
    try {
      counts = this.applyRdb(bytes, path);
    } finally {
      this.server.loading = false;
    }
    const { loaded, expired } = counts;
    ks.dirty = 0;
    this.lastLoadKeysLoaded = loaded;
    this.lastLoadKeysExpired = expired;
    const seconds = (performance.now() - started) / 1000;
    log.info(`Done loading RDB, keys loaded: ${loaded}, keys expired: ${expired}.`);
    log.info(`DB loaded from disk: ${seconds.toFixed(3)} seconds`);
    return { keysLoaded: loaded, keysExpired: expired, seconds };
  }

  /**
   * Adds the keys of RDB `bytes` (read from `path`) to the keyspace: the
   * checksum is verified, expired keys are dropped. Throws `RdbLoadError` on
   * corruption, on keys of types this server cannot hold, or on a database
   * number beyond `databases`. Used for `dbfilename` and for an AOF's RDB base.
   */
  applyRdb(
    bytes: Uint8Array,
    path: string,
    allowTail = false,
  ): { loaded: number; expired: number; rdbEnd: number } {
    const ks = this.server.keyspace;
    const log = this.server.log;
    const now = Date.now();
    let loaded = 0;
    let expired = 0;
    let rdbEnd = bytes.length;
    try {
      const res = readRdb(bytes, {
        now,
        onKey: (dbIndex, e) => {
          const db = ks.dbs[dbIndex];
          if (db === undefined) {
            throw new RdbLoadError(
              `FATAL: Data file ${path} was created with a Redis server configured to handle more than ${ks.dbs.length} databases. Exiting`,
            );
          }
          if (e.expired) {
            expired++;
            return;
          }
          if (db.dict.has(e.key)) {
            throw new RdbLoadError(
              `Fatal error loading the DB from ${path}: Duplicated key found in RDB file: '${e.key}' in DB ${dbIndex}. Exiting.`,
            );
          }
          db.set(e.key, "string", e.value);
          if (e.expireAt !== 0) db.setExpire(e.key, e.expireAt);
          loaded++;
        },
      });
      if (res.skipped.length > 0) {
        const first = res.skipped[0];
        throw new RdbLoadError(
          `Fatal error loading the DB from ${path}: it holds ${res.skipped.length} key(s) of types this server cannot hold yet (first: '${first.key}' in DB ${first.db}, type ${first.typeName}, at byte offset ${first.offset}). Refusing to start with part of the dataset. Exiting.`,
        );
      }
      const ver = res.aux.get("redis-ver");
      if (ver !== undefined) log.info(`Loading RDB produced by version ${ver}`);
      const ctime = Number(res.aux.get("ctime"));
      if (Number.isFinite(ctime)) log.info(`RDB age ${Math.floor(now / 1000) - ctime} seconds`);
      const mem = Number(res.aux.get("used-mem"));
      if (Number.isFinite(mem)) {
        log.info(`RDB memory usage when created ${(mem / 1024 / 1024).toFixed(2)} Mb`);
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
    return { loaded, expired, rdbEnd };
  }
}

/** The reader's warning for bytes after the RDB checksum (where an old preamble AOF's commands are). */
const TRAILING = /^(\d+) bytes after the end of the RDB ignored$/;
