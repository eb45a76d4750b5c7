/**
 * The appending side of the AOF: one open incremental file, an in-memory
 * buffer of records, and the fsync policy (`appendfsync`).
 *
 * Records (headed by `AofFeed`, so a SELECT precedes a database change) are
 * encoded straight into one reusable byte buffer (no allocation per
 * command) and written once per event-loop turn (a microtask scheduled by
 * the first record of the turn), as Redis writes its `aof_buf` once per
 * event-loop iteration in `beforeSleep`. The write itself is synchronous:
 * it goes to the page cache, as Redis' `write(2)` does. The persistence
 * manager holds the turn's replies until then (`holdReplies`).
 *
 * - `no`: never fsynced explicitly (the OS decides).
 * - `everysec`: `cron` starts an asynchronous `fdatasync` (`syncData()`, run
 *   in Deno's blocking thread pool) at most once a second, never two at a
 *   time, so the event loop is not blocked.
 * - `always`: `commit` (awaited before a client's replies are sent) writes
 *   the buffer and fdatasyncs it, so a write is acknowledged only once it is
 *   on disk; one fsync covers every record of the turn (group commit), as
 *   Redis' `flushAppendOnlyFile` does before replies go out. Big groups are
 *   fsynced in the background while the next turns run (see `commit`).
 *   Like Redis (`redis_fsync` is `fdatasync` on Linux), only the data and
 *   the metadata needed to read it back (the file size) are synced.
 *
 * A failed write keeps the records in the buffer (retried on the next
 * flush) and, like a failed background fsync, sets `lastWriteOk` false (INFO `aof_last_write_status`; write
 * commands then get `MISCONF Errors writing to the AOF file: …` until a
 * write succeeds); a partial write is cut back so the file never ends in
 * half a record. Under `always` a failed write or fsync is fatal, as in
 * Redis (the `fatal` option).
 *
 * @module
 */

import { AofFeed, encodeCommandInto, encodedSize } from "./aof_log.ts";
import { strerror } from "../config/values.ts";

/** Initial (and kept) size of the AOF buffer. */
const INITIAL_BUFFER = 64 * 1024;
/** A buffer grown past this is dropped once written. */
const MAX_KEPT_BUFFER = 4 * 1024 * 1024;
/** `always`: a group of at least this many records is fsynced in the background (see `commit`). */
const BACKGROUND_SYNC_MIN_RECORDS = 128;

/** fsync errors Redis' background fsync ignores: EBADF, EINVAL (a file that cannot be synced). */
const IGNORED_FSYNC_ERROR = /\(os error (9|22)\)/;

/** The fsync policy (`appendfsync`). */
export type FsyncPolicy = "always" | "everysec" | "no";

/** Options of an `AofWriter`. */
export interface AofWriterOptions {
  /** Annotate records with `#TS:` lines (`aof-timestamp-enabled`). */
  timestamps?: boolean;
  /**
   * Receives the message when a write or fsync fails under `always`; Redis
   * exits there (by default the message is only warned).
   */
  fatal?: (msg: string) => void;
}

/** Appends records to one incremental AOF file. */
export class AofWriter {
  /** Remembers the database last written, so SELECT is emitted on change. */
  readonly feed: AofFeed;
  /** Bytes in the incremental file (written, not counting the buffer). */
  size: number;
  /** The last write to the file succeeded. */
  private writeOk = true;
  /**
   * The last background fsync succeeded (Redis' `aof_bio_fsync_status`;
   * EBADF and EINVAL are ignored as Redis ignores them).
   */
  private fsyncOk = true;
  /** Why the last write failed (`MISCONF Errors writing to the AOF file: …`). */
  lastWriteError = "";
  private file: Deno.FsFile;
  /** The AOF buffer (`aof_buf`): `buf[0, len)` is not written yet. */
  private buf = new Uint8Array(INITIAL_BUFFER);
  private len = 0;
  private scheduled = false;
  /** Bytes written since the last fsync started. */
  private unsynced = false;
  /** Records appended since the last fsync started. */
  private groupRecords = 0;
  /** The background fsync in flight (never two at a time). */
  private syncing: Promise<void> | null = null;
  /** Called when the fsync in flight completes: it covers their records. */
  private syncWaiters: (() => void)[] = [];
  /** Waiting for the next fsync (`always`): their records came after the one in flight started. */
  private nextWaiters: (() => void)[] = [];
  private lastSyncMs = Date.now();
  private closed = false;

  /**
   * Opens (creating if needed) `path` for appending.
   * `policy` is read at each use, so CONFIG SET appendfsync applies at once.
   */
  constructor(
    readonly path: string,
    private readonly policy: () => FsyncPolicy,
    private readonly warn: (msg: string) => void,
    opts: AofWriterOptions = {},
  ) {
    this.file = Deno.openSync(path, { write: true, append: true, create: true });
    this.size = this.file.statSync().size;
    this.feed = new AofFeed({ timestamps: opts.timestamps ?? false });
    this.fatal = opts.fatal ?? warn;
  }

  /** Called when `always` cannot keep its promise (the caller stops the server). */
  private readonly fatal: (msg: string) => void;

  /** `aof_last_write_status`: false while writes or background fsyncs fail (then MISCONF). */
  get lastWriteOk(): boolean {
    return this.writeOk && this.fsyncOk;
  }

  /** Bytes waiting in the buffer (INFO `aof_buffer_length`). */
  get bufferLength(): number {
    return this.len;
  }

  /** Buffers `args` run against database `db`; written at the end of this turn. */
  append(db: number, args: readonly Uint8Array[]): void {
    if (this.closed) return;
    const head = this.feed.header(db);
    const size = encodedSize(args) + (head === null ? 0 : head.length);
    if (this.len + size > this.buf.length) this.grow(this.len + size);
    if (head !== null) {
      this.buf.set(head, this.len);
      this.len += head.length;
    }
    this.len = encodeCommandInto(this.buf, this.len, args);
    this.groupRecords++;
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        this.commit();
      });
    }
  }

  /** Writes the buffer to the file (page cache). False when the write failed (kept for a retry). */
  flush(): boolean {
    if (this.len === 0 || this.closed) return true;
    const data = this.buf.subarray(0, this.len);
    let off = 0;
    try {
      while (off < data.length) off += this.file.writeSync(data.subarray(off));
    } catch (err) {
      if (off > 0) {
        // Never leave half a record behind: cut the file back.
        try {
          this.file.truncateSync(this.size);
        } catch { /* the next load reports (or truncates) the tail */ }
      }
      this.lastWriteError = strerror(err);
      if (this.writeOk) this.warn(`Error writing to the AOF file: ${this.lastWriteError}`);
      this.writeOk = false;
      if (this.policy() === "always") {
        this.fatal(
          "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...",
        );
      }
      return false;
    }
    this.size += data.length;
    this.len = 0;
    // A burst (a big MULTI, a slow turn) grew the buffer: give the memory back.
    if (this.buf.length > MAX_KEPT_BUFFER) this.buf = new Uint8Array(INITIAL_BUFFER);
    this.unsynced = true;
    if (!this.writeOk) this.warn("AOF write error looks solved, Redis can write again.");
    this.writeOk = true;
    return true;
  }

  private grow(need: number): void {
    const next = new Uint8Array(Math.max(need, this.buf.length * 2));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /**
   * True while replies must wait for `commit`: records not written yet, or
   * (`always`) records written but not fsynced, or an fsync in flight (a
   * reply could show what it is making durable).
   */
  get holdsReplies(): boolean {
    return this.len > 0 ||
      ((this.unsynced || this.syncing !== null) && this.policy() === "always");
  }

  /**
   * Makes what is appended so far safe to acknowledge under the policy, then
   * calls `done` (at once, or when the covering fsync completes): written,
   * and under `always` fsynced too, with one fsync for everything appended
   * since the last one (group commit).
   *
   * Under `always` a small group is fsynced right here on the event-loop
   * thread, as Redis does in `beforeSleep`. A big group (many pipelined
   * commands) is fsynced in Deno's blocking thread pool instead, so the
   * event loop keeps executing the next commands meanwhile; their records
   * wait for the next fsync, started when this one completes. The thread
   * hop costs more than that overlap saves for a small group (measured:
   * -P 1 was ~15% slower with it, -P 16 ~12% faster).
   */
  commit(done?: () => void): void {
    if (this.closed || this.policy() !== "always") {
      this.flush();
      done?.();
    } else if (this.len === 0 && !this.unsynced) {
      // Nothing new since the fsync in flight (if any) started.
      if (this.syncing === null) done?.();
      else if (done) this.syncWaiters.push(done);
    } else {
      if (done) this.nextWaiters.push(done);
      if (this.syncing === null) this.syncGroup();
    }
  }

  /** Fsyncs everything appended so far for the `nextWaiters`, here or in the background. */
  private syncGroup(): void {
    const waiters = this.nextWaiters;
    this.nextWaiters = [];
    if (this.groupRecords < BACKGROUND_SYNC_MIN_RECORDS) {
      this.syncNow();
      for (const w of waiters) w();
      return;
    }
    if (!this.flush()) {
      // The write failed (logged, INFO shows err): as before, replies go out.
      for (const w of waiters) w();
      return;
    }
    this.syncWaiters = waiters;
    this.startBackgroundSync(Date.now());
  }

  /**
   * Starts an fsync in the background covering everything written so far;
   * when it completes the `syncWaiters` are called and, under `always`, the
   * group that gathered meanwhile is synced next.
   */
  private startBackgroundSync(now: number): void {
    this.unsynced = false;
    this.groupRecords = 0;
    this.lastSyncMs = now;
    this.syncing = this.file.syncData().then(() => {
      this.fsyncOk = true;
    }, (err) => {
      this.unsynced = true;
      if (this.policy() === "always") this.fsyncFailed(err);
      else if (!IGNORED_FSYNC_ERROR.test(String(err))) {
        this.lastWriteError = strerror(err);
        if (this.fsyncOk) this.warn(`Fail to fsync the AOF file: ${this.lastWriteError}`);
        this.fsyncOk = false;
      }
    }).finally(() => {
      this.syncing = null;
      const waiters = this.syncWaiters;
      this.syncWaiters = [];
      for (const w of waiters) w();
      if (this.nextWaiters.length > 0 && !this.closed) this.syncGroup();
    });
  }

  /** Writes the buffer and fsyncs it on this thread (small groups, a rewrite starting). */
  syncNow(): void {
    if (!this.flush() || !this.unsynced) return;
    try {
      this.file.syncDataSync();
      this.unsynced = false;
      this.groupRecords = 0;
      this.lastSyncMs = Date.now();
    } catch (err) {
      if (this.policy() === "always") this.fsyncFailed(err);
      else this.warn(`Fsync of the AOF file failed: ${strerror(err)}`);
    }
  }

  /** An fsync under `always` failed: Redis exits, since nothing written can be acknowledged. */
  private fsyncFailed(err: unknown): void {
    this.lastWriteError = strerror(err);
    this.fsyncOk = false;
    this.fatal(
      `Can't persist AOF for fsync error when the AOF fsync policy is 'always': ${this.lastWriteError}. Exiting...`,
    );
  }

  /** Cron step: the once-a-second background fsync of `everysec`. */
  cron(now: number): void {
    if (this.closed) return;
    this.flush();
    if (this.policy() !== "everysec" || !this.unsynced || this.syncing !== null) return;
    if (now - this.lastSyncMs < 1000) return;
    this.startBackgroundSync(now);
  }

  /** Resolves once no background fsync is in flight. */
  async synced(): Promise<void> {
    while (this.syncing !== null) await this.syncing;
  }

  /** Writes and fsyncs what is buffered, then closes the file (shutdown). */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.synced();
    this.flush();
    try {
      this.file.syncDataSync();
    } catch { /* best effort at exit */ }
    this.closed = true;
    try {
      this.file.close();
    } catch { /* already closed */ }
    // Replies still waiting for a group fsync: the final one covered them.
    const waiters = this.nextWaiters;
    this.nextWaiters = [];
    for (const w of waiters) w();
  }
}
