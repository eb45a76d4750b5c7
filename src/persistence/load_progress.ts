/**
 * Progress of a start-up load (RDB or AOF), and the points where it lets the
 * event loop run.
 *
 * The server listens before it loads, as Redis does, so that clients that
 * connect meanwhile are answered (`LOADING Redis is loading the dataset in
 * memory` for commands without the `loading` flag, INFO with the
 * `loading_*` fields). Loading is synchronous work split into slices: the
 * loaders report the byte offset they reached every few hundred keys or
 * commands (`due`), and once a slice has covered
 * `loading-process-events-interval-bytes` (Redis' knob, 2 MB by default)
 * they `await pause()`, which lets accepted connections be read and
 * answered before the next slice. Progress is logged every two seconds.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";

/** Default interval between two progress lines in the log. */
const LOG_EVERY_MS = 2000;

/** The load was abandoned because the server is shutting down. */
export class LoadCancelled extends Error {
  constructor() {
    super("Loading interrupted by shutdown");
    this.name = "LoadCancelled";
  }
}

/** One start-up load: sizes, position, timing; read by INFO persistence. */
export class LoadProgress {
  /** `loading_start_time`: Unix time in seconds. */
  readonly startTime = Math.floor(Date.now() / 1000);
  /** `loading_loaded_bytes`: bytes of the files handled so far. */
  loadedBytes = 0;
  /** `loading_rdb_used_mem`: the `used-mem` AUX field of the RDB, when known. */
  rdbUsedMem = 0;
  /** Keys added so far (INFO `rdb_last_load_keys_loaded` while loading). */
  keysLoaded = 0;
  private readonly started = performance.now();
  private lastLog = performance.now();
  /** `loadedBytes` when the current slice began. */
  private sliceStart = 0;

  /**
   * @param totalBytes `loading_total_bytes`: sizes of every file to load.
   * @param sliceBytes bytes loaded between two turns of the event loop.
   * @param stopping tells whether the server is shutting down (the load is then abandoned).
   * @param logEveryMs interval between two progress lines.
   */
  constructor(
    readonly totalBytes: number,
    private readonly sliceBytes: number,
    private readonly log: Logger,
    private readonly stopping: () => boolean,
    private readonly logEveryMs = LOG_EVERY_MS,
  ) {}

  /** `loading_loaded_perc`. */
  get percent(): number {
    return this.totalBytes === 0 ? 0 : (this.loadedBytes / this.totalBytes) * 100;
  }

  /** `loading_eta_seconds`, estimated as Redis does (1 during the first second). */
  get etaSeconds(): number {
    const elapsed = Math.floor(Date.now() / 1000) - this.startTime;
    if (elapsed === 0) return 1;
    return Math.floor((elapsed * (this.totalBytes - this.loadedBytes)) / (this.loadedBytes + 1));
  }

  /** Where the current file starts among all the bytes to load, and its size. */
  private fileStart = 0;
  private fileSize = 0;

  /** The next file (of `size` bytes) begins: positions are now relative to it. */
  startFile(size: number): void {
    this.fileStart += this.fileSize;
    this.fileSize = size;
    this.loadedBytes = this.fileStart;
  }

  /**
   * Records the position reached in the current file; true when the current
   * slice has used up its time.
   */
  due(position: number): boolean {
    this.loadedBytes = this.fileStart + position;
    return this.loadedBytes - this.sliceStart >= this.sliceBytes;
  }

  /**
   * Lets the event loop serve clients, logs progress when it is time, and
   * starts a new slice. Throws `LoadCancelled` when the server shuts down.
   */
  async pause(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (this.stopping()) throw new LoadCancelled();
    const now = performance.now();
    if (now - this.lastLog >= this.logEveryMs) {
      this.lastLog = now;
      const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
      this.log.info(
        `Loading: ${this.percent.toFixed(2)}% (${mb(this.loadedBytes)} of ${
          mb(this.totalBytes)
        } MB), ${this.keysLoaded} keys, ${((now - this.started) / 1000).toFixed(1)} seconds`,
      );
    }
    this.sliceStart = this.loadedBytes;
  }
}
