/**
 * The appending side of the AOF: one open incremental file, an in-memory
 * buffer of records, and the fsync policy (`appendfsync`).
 *
 * Records (from `AofFeed`, so a SELECT precedes a database change) are
 * buffered and written once per event-loop turn (a microtask scheduled by
 * the first record of the turn), as Redis writes its `aof_buf` once per
 * event-loop iteration in `beforeSleep`. The write itself is synchronous:
 * it goes to the page cache, as Redis' `write(2)` does.
 *
 * - `no`: never fsynced explicitly (the OS decides).
 * - `everysec`: `cron` starts an asynchronous `file.sync()` at most once a
 *   second, never two at a time, so the event loop is not blocked.
 * - `always`: `syncNow` (called before a client's replies are sent) writes
 *   the buffer and fsyncs synchronously, so a write is acknowledged only
 *   once it is on disk; one fsync covers every record of the batch (group
 *   commit), as Redis' `flushAppendOnlyFile` does before replies go out.
 *
 * A failed write keeps the records in the buffer (retried on the next
 * flush) and sets `lastWriteOk` false (INFO `aof_last_write_status`); a
 * partial write is cut back so the file never ends in half a record.
 *
 * @module
 */

import { AofFeed } from "./aof_log.ts";
import { strerror } from "../config/values.ts";

/** The fsync policy (`appendfsync`). */
export type FsyncPolicy = "always" | "everysec" | "no";

/** Appends records to one incremental AOF file. */
export class AofWriter {
  /** Remembers the database last written, so SELECT is emitted on change. */
  readonly feed: AofFeed;
  /** Bytes in the incremental file (written, not counting the buffer). */
  size: number;
  /** `aof_last_write_status`. */
  lastWriteOk = true;
  private file: Deno.FsFile;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  /** Bytes written since the last fsync started. */
  private unsynced = false;
  private syncing: Promise<void> | null = null;
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
    timestamps = false,
  ) {
    this.file = Deno.openSync(path, { write: true, append: true, create: true });
    this.size = this.file.statSync().size;
    this.feed = new AofFeed({ timestamps });
  }

  /** True when written or buffered bytes are not fsynced yet. */
  get needsSync(): boolean {
    return this.pendingBytes > 0 || this.unsynced;
  }

  /** Bytes waiting in the buffer (INFO `aof_buffer_length`). */
  get bufferLength(): number {
    return this.pendingBytes;
  }

  /** Buffers `args` run against database `db`; written at the end of this turn. */
  append(db: number, args: readonly Uint8Array[]): void {
    if (this.closed) return;
    const rec = this.feed.feed(db, args);
    this.pending.push(rec);
    this.pendingBytes += rec.length;
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  /** Writes the buffer to the file (page cache). False when the write failed (kept for a retry). */
  flush(): boolean {
    if (this.pendingBytes === 0 || this.closed) return true;
    const data = this.pending.length === 1
      ? this.pending[0]
      : concat(this.pending, this.pendingBytes);
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
      if (this.lastWriteOk) this.warn(`Error writing to the AOF file: ${strerror(err)}`);
      this.lastWriteOk = false;
      this.pending = [data];
      return false;
    }
    this.size += data.length;
    this.pending = [];
    this.pendingBytes = 0;
    this.unsynced = true;
    if (!this.lastWriteOk) this.warn("AOF write error looks solved, Redis can write again.");
    this.lastWriteOk = true;
    return true;
  }

  /** `appendfsync always`: writes the buffer and fsyncs it before replies are sent. */
  syncNow(): void {
    if (!this.flush() || !this.unsynced) return;
    try {
      this.file.syncSync();
      this.unsynced = false;
      this.lastSyncMs = Date.now();
    } catch (err) {
      this.warn(
        `Can't persist AOF for fsync error when the AOF fsync policy is 'always': ${strerror(err)}`,
      );
      this.lastWriteOk = false;
    }
  }

  /** Cron step: the once-a-second background fsync of `everysec`. */
  cron(now: number): void {
    if (this.closed) return;
    this.flush();
    if (this.policy() !== "everysec" || !this.unsynced || this.syncing !== null) return;
    if (now - this.lastSyncMs < 1000) return;
    this.unsynced = false;
    this.lastSyncMs = now;
    this.syncing = this.file.sync().catch((err) => {
      this.unsynced = true;
      this.warn(`Asynchronous AOF fsync failed: ${strerror(err)}`);
    }).finally(() => {
      this.syncing = null;
    });
  }

  /** Writes and fsyncs what is buffered, then closes the file (shutdown). */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.syncing;
    this.flush();
    try {
      this.file.syncSync();
    } catch { /* best effort at exit */ }
    this.closed = true;
    try {
      this.file.close();
    } catch { /* already closed */ }
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
