/**
 * Atomic replacement of the RDB file, as Redis' `rdbSave` does it: write
 * `temp-<pid>.rdb` in `dir`, fsync it, rename it over `dbfilename`, then
 * fsync the directory so the rename itself survives a crash. Until the
 * rename succeeds the old file is untouched; on any failure the temp file
 * is removed.
 *
 * Two forms: `writeFileAtomicSync` (blocking SAVE, shutdown) and
 * `AtomicFileWriter` (BGSAVE: async writes chunk by chunk, so the event loop
 * keeps serving clients between them). Failures throw `RdbFileError` with
 * the message Redis logs for the same step.
 *
 * @module
 */

import { strerror } from "../config/values.ts";

/** A failed save step; the message is the line Redis logs for it. */
export class RdbFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RdbFileError";
  }
}

/** Name of the temporary file SAVE writes before renaming it (Redis: `temp-<pid>.rdb`). */
export function tempRdbName(): string {
  return `temp-${Deno.pid}.rdb`;
}

/**
 * Name of BGSAVE's temporary file. Redis names it after the child's pid; it
 * differs from SAVE's so the final save at shutdown never shares a file with
 * a BGSAVE still finishing its last write.
 */
export function tempBgsaveName(): string {
  return `temp-bg-${Deno.pid}.rdb`;
}

function openError(dir: string, temp: string, err: unknown): RdbFileError {
  return new RdbFileError(
    `Failed opening the temp RDB file ${temp} (in server root dir ${dir}) for saving: ${
      strerror(err)
    }`,
  );
}

function writeError(err: unknown): RdbFileError {
  return new RdbFileError(`Write error saving DB on disk: ${strerror(err)}`);
}

function renameError(dir: string, temp: string, name: string, err: unknown): RdbFileError {
  return new RdbFileError(
    `Error moving temp DB file ${temp} on the final destination ${name} (in server root dir ${dir}): ${
      strerror(err)
    }`,
  );
}

const OPEN = { write: true, create: true, truncate: true } as const;

/** Writes every chunk to `dir/name` atomically; throws `RdbFileError` (old file kept). */
export function writeFileAtomicSync(dir: string, name: string, chunks: Iterable<Uint8Array>): void {
  const temp = `${dir}/${tempRdbName()}`;
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(temp, OPEN);
  } catch (err) {
    throw openError(dir, tempRdbName(), err);
  }
  try {
    try {
      for (const c of chunks) {
        let off = 0;
        while (off < c.length) off += file.writeSync(c.subarray(off));
      }
      file.syncSync();
    } finally {
      file.close();
    }
  } catch (err) {
    removeQuietly(temp);
    throw err instanceof RdbFileError ? err : writeError(err);
  }
  try {
    Deno.renameSync(temp, `${dir}/${name}`);
  } catch (err) {
    removeQuietly(temp);
    throw renameError(dir, tempRdbName(), name, err);
  }
  syncDirSync(dir);
}

/** An RDB file being written in slices (BGSAVE); `commit` publishes it, `abort` drops it. */
export class AtomicFileWriter {
  private constructor(
    private readonly dir: string,
    private readonly name: string,
    private readonly tempName: string,
    private readonly file: Deno.FsFile,
  ) {}

  /** Opens `dir/tempName` for a later rename to `dir/name`. */
  static async open(dir: string, name: string, tempName: string): Promise<AtomicFileWriter> {
    try {
      const file = await Deno.open(`${dir}/${tempName}`, OPEN);
      return new AtomicFileWriter(dir, name, tempName, file);
    } catch (err) {
      throw openError(dir, tempName, err);
    }
  }

  private closed = false;

  /** Appends one chunk. */
  async write(chunk: Uint8Array): Promise<void> {
    try {
      let off = 0;
      while (off < chunk.length) off += await this.file.write(chunk.subarray(off));
    } catch (err) {
      await this.abort();
      throw writeError(err);
    }
  }

  /** fsync, close, rename over the target and fsync the directory. */
  async commit(): Promise<void> {
    const temp = `${this.dir}/${this.tempName}`;
    try {
      await this.file.sync();
    } catch (err) {
      await this.abort();
      throw writeError(err);
    }
    this.close();
    try {
      await Deno.rename(temp, `${this.dir}/${this.name}`);
    } catch (err) {
      removeQuietly(temp);
      throw renameError(this.dir, this.tempName, this.name, err);
    }
    syncDirSync(this.dir);
  }

  /** Closes and removes the temp file (the target is untouched). */
  abort(): Promise<void> {
    this.close();
    removeQuietly(`${this.dir}/${this.tempName}`);
    return Promise.resolve();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.file.close();
    } catch { /* already closed */ }
  }
}

/**
 * Work done per event-loop turn by `writeFileSliced`: chunks are pulled from
 * the generator until this much time has passed, then written, so clients
 * wait at most about this long for a background save (plus one chunk).
 */
const SLICE_MS = 2;

/**
 * Writes `chunks` to `dir/tempName` in time-bounded slices, one slice per
 * event-loop turn, then fsyncs and renames it to `dir/name` (BGSAVE and the
 * AOF rewrite base). Returns the bytes written, or null when `cancelled()`
 * turned true (the temp file is removed). Throws `RdbFileError` on I/O
 * errors (the temp file is removed).
 */
export async function writeFileSliced(
  dir: string,
  name: string,
  tempName: string,
  chunks: Iterable<Uint8Array>,
  cancelled: () => boolean,
): Promise<number | null> {
  const file = await AtomicFileWriter.open(dir, name, tempName);
  const it = chunks[Symbol.iterator]();
  let size = 0;
  try {
    for (let done = false; !done && !cancelled();) {
      const start = performance.now();
      const parts: Uint8Array[] = [];
      do {
        const r = it.next();
        if (r.done) done = true;
        else parts.push(r.value);
      } while (!done && performance.now() - start < SLICE_MS);
      for (const p of parts) {
        await file.write(p);
        size += p.length;
      }
      // Let commands and timers run before the next slice.
      if (!done) await new Promise((r) => setTimeout(r, 0));
    }
    if (cancelled()) {
      it.return?.();
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

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch { /* never created, or already gone */ }
}

/** fsync of the directory, so the rename is durable (best effort: not every filesystem allows it). */
function syncDirSync(dir: string): void {
  try {
    const d = Deno.openSync(dir, { read: true });
    try {
      d.syncSync();
    } finally {
      d.close();
    }
  } catch { /* e.g. a filesystem without directory fsync */ }
}
