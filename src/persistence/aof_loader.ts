/**
 * Start-up with `appendonly yes`: finds or creates the multi-part AOF in
 * `dir/appenddirname`, loads it into the keyspace, and leaves a manifest
 * naming the incremental file to append to (Redis 7.0's
 * `loadAppendOnlyFiles` and `aofOpenIfNeededOnServerStart`).
 *
 * - A manifest exists: the base (RDB when it starts with `REDIS`, else AOF
 *   commands) then each incremental file in order. Commands are replayed
 *   through the command table's handlers for an internal client without a
 *   socket (as Redis' fake client). A truncated tail (or unfinished MULTI)
 *   of the last file is cut back with `aof-load-truncated yes`, otherwise
 *   the server refuses to start; corruption before the end always refuses,
 *   naming the file and byte offset.
 * - No manifest but a legacy `dir/appendfilename`: moved into the directory
 *   as base seq 1 (Redis 7.0's upgrade), then loaded as above.
 * - Nothing: a new base (an RDB of the dataset, empty at start-up, or an
 *   AOF base when `aof-use-rdb-preamble no`) is written. Base or
 *   incremental files without a manifest are refused (Redis 7.0.15 would
 *   start empty and write a new seq-1 base over them).
 * - The load runs in slices (`load_progress.ts`): clients connecting
 *   meanwhile get `LOADING`.
 *
 * Every file is written atomically (temp file, fsync, rename, directory fsync).
 *
 * @module
 */

import type { Server } from "../server/server.ts";
import { Client } from "../server/client.ts";
import {
  type AofInfo,
  type AofManifest,
  AofManifestError,
  baseFileName,
  emptyManifest,
  filesToLoad,
  formatManifest,
  legacyMigrationManifest,
  manifestFileName,
  parseManifest,
  withLastIncr,
} from "./aof_manifest.ts";
import { AofFormatError, isRdbPreamble, parseAof, tailVerdict } from "./aof_log.ts";
import { bytesOf, isWord, latin1 } from "../protocol/latin1.ts";
import { writeFileAtomicSync } from "./rdb_file.ts";
import { strerror } from "../config/values.ts";
import type { LoadProgress } from "./load_progress.ts";

/** The AOF cannot be loaded (or created); the server must not start. */
export class AofLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AofLoadError";
  }
}

/** What start-up found and left. */
export interface AofStartResult {
  /** Absolute path of the AOF directory. */
  dirPath: string;
  /** The manifest now on disk. */
  manifest: AofManifest;
  /** The incremental file to append to. */
  incrName: string;
  /** Commands replayed (RDB base keys not counted). */
  commands: number;
}

/**
 * Loads an RDB (base file, or the preamble of an old-style AOF) into the
 * keyspace, reporting its position to `progress`, and returns the offset
 * where the RDB ends; throws `RdbLoadError`.
 */
export type RdbApplier = (
  bytes: Uint8Array,
  path: string,
  progress: LoadProgress,
) => Promise<number>;

/** A socket that never delivers anything: the replaying client's connection. */
function fakeConn(): Deno.Conn {
  const addr = { transport: "tcp", hostname: "", port: 0 };
  return {
    remoteAddr: addr,
    localAddr: addr,
    read: () => Promise.resolve(null),
    write: (b: Uint8Array) => Promise.resolve(b.length),
    close: () => {},
  } as unknown as Deno.Conn;
}

function readIfExists(path: string): Uint8Array | null {
  try {
    return Deno.readFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw new AofLoadError(
      `Fatal error: can't open the append log file ${path} for reading: ${strerror(err)}`,
    );
  }
}

/** Writes a file in the AOF directory atomically; throws `AofLoadError`. */
export function writeAofFileAtomic(dirPath: string, name: string, bytes: Uint8Array): void {
  try {
    writeFileAtomicSync(dirPath, name, [bytes]);
  } catch (err) {
    throw new AofLoadError(
      `Can't write ${name} in ${dirPath}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/** Replays AOF commands into the keyspace. */
class Replayer {
  private client: Client;
  count = 0;

  constructor(private readonly server: Server) {
    this.client = new Client(server, fakeConn(), 0);
    this.client.authenticated = true;
    // Error replies of replayed commands are not client errors (INFO errorstats).
    this.client.out.onError = () => {};
  }

  run(args: Uint8Array[], file: string, offset: number): void {
    // The reader hands out a MULTI block only once whole: its commands just run in order.
    if (isWord(args[0], "multi") || isWord(args[0], "exec")) return;
    const cmd = this.server.dispatcher.lookup(args);
    if (cmd === undefined || cmd.spec.handler === null || cmd.spec.handler === undefined) {
      throw new AofLoadError(
        `Unknown command '${
          latin1(args[0])
        }' reading the append only file ${file} (at offset ${offset})`,
      );
    }
    const arity = cmd.spec.arity;
    if ((arity > 0 && args.length !== arity) || args.length < -arity) {
      throw new AofLoadError(
        `Wrong number of arguments for '${cmd.fullName}' reading the append only file ${file} (at offset ${offset})`,
      );
    }
    cmd.spec.handler(this.client, args);
    this.client.out.truncate(0);
    this.count++;
  }
}

/**
 * Opens or creates the AOF at start-up and loads it (see the module doc).
 * Throws `AofLoadError` (or `RdbLoadError` for a bad RDB base): never half a dataset.
 */
export async function startAof(server: Server, applyRdb: RdbApplier): Promise<AofStartResult> {
  const cfg = server.config;
  const log = server.log;
  const dirPath = `${cfg.dir}/${cfg.appenddirname}`;
  try {
    Deno.mkdirSync(dirPath, { recursive: true });
  } catch (err) {
    throw new AofLoadError(
      `Can't open or create append-only dir ${cfg.appenddirname}: ${strerror(err)}`,
    );
  }
  const mname = manifestFileName(cfg.appendfilename);
  const text = readIfExists(`${dirPath}/${mname}`);
  let manifest: AofManifest;
  let changed = false;
  if (text === null) {
    const legacy = readIfExists(`${cfg.dir}/${cfg.appendfilename}`);
    if (legacy !== null) {
      // Redis 7.0's upgrade: the old single file becomes base seq 1.
      // As Redis: the manifest first, then the move, so a crash in between
      // leaves a manifest naming a missing file (refused), never a silent empty start.
      log.info("Creating AOF manifest to upgrade the old single append only file");
      manifest = legacyMigrationManifest(emptyManifest(), cfg.appendfilename);
      writeAofFileAtomic(dirPath, mname, bytesOf(formatManifest(manifest)));
      try {
        Deno.renameSync(`${cfg.dir}/${cfg.appendfilename}`, `${dirPath}/${cfg.appendfilename}`);
      } catch (err) {
        throw new AofLoadError(`Error moving the old AOF file into ${dirPath}: ${strerror(err)}`);
      }
      log.info(
        `Successfully migrated an old-style AOF into the AOF directory ${cfg.appenddirname}`,
      );
    } else {
      refuseOrphans(dirPath, cfg.appendfilename, mname);
      manifest = emptyManifest();
    }
  } else {
    try {
      manifest = parseManifest(text);
    } catch (err) {
      if (err instanceof AofManifestError) throw new AofLoadError(err.message);
      throw err;
    }
  }

  let commands = 0;
  const files = filesToLoad(manifest);
  if (files.length > 0) {
    const progress = server.persistence.beginLoading(totalSize(dirPath, files.map((f) => f.name)));
    const started = performance.now();
    try {
      commands = await loadFiles(server, dirPath, files, applyRdb, progress);
    } finally {
      server.persistence.endLoading();
    }
    server.keyspace.dirty = 0;
    log.info(
      `DB loaded from append only file: ${
        ((performance.now() - started) / 1000).toFixed(3)
      } seconds`,
    );
  }

  if (manifest.base === null) {
    // A new base holding the dataset (empty unless only incremental files were loaded).
    const preamble = cfg.aofUseRdbPreamble;
    const seq = manifest.baseSeq + 1;
    const name = baseFileName(cfg.appendfilename, seq, preamble);
    log.info(`Creating AOF base file ${name} on server start`);
    writeAofFileAtomic(dirPath, name, server.persistence.baseFileBytes(preamble));
    manifest = { ...manifest, base: { name, seq, type: "b" }, baseSeq: seq };
    changed = true;
  }
  const last = withLastIncr(manifest, cfg.appendfilename);
  if (last.manifest !== manifest) {
    log.info(`Creating AOF incr file ${last.name} on server start`);
    manifest = last.manifest;
    changed = true;
  } else {
    log.info(`Opening AOF incr file ${last.name} on server start`);
  }
  if (changed) writeAofFileAtomic(dirPath, mname, bytesOf(formatManifest(manifest)));
  return { dirPath, manifest, incrName: last.name, commands };
}

/**
 * Refuses to start when the AOF directory holds base or incremental files
 * but no manifest. redis-server 7.0.15 starts empty there and writes a new
 * base over the old one; here the files are kept and the server stops with
 * a message saying what to do, so the dataset is never silently lost.
 */
function refuseOrphans(dirPath: string, appendfilename: string, manifestName: string): void {
  const prefix = `${appendfilename}.`;
  const orphans: string[] = [];
  try {
    for (const e of Deno.readDirSync(dirPath)) {
      const rest = e.name.startsWith(prefix) ? e.name.slice(prefix.length) : "";
      if (e.isFile && /^\d+\.(base\.(rdb|aof)|incr\.aof)$/.test(rest)) orphans.push(e.name);
    }
  } catch (err) {
    throw new AofLoadError(`Can't read the append-only dir ${dirPath}: ${strerror(err)}`);
  }
  if (orphans.length === 0) return;
  orphans.sort();
  throw new AofLoadError(
    `Fatal error: the AOF directory ${dirPath} holds AOF files (${
      orphans.join(", ")
    }) but no manifest ${manifestName}. Refusing to start with an empty dataset and write over them: restore the manifest, or move the files away to start empty.`,
  );
}

/** Sum of the sizes of the files (`loading_total_bytes`); missing files count 0. */
function totalSize(dirPath: string, names: string[]): number {
  let total = 0;
  for (const name of names) {
    try {
      total += Deno.statSync(`${dirPath}/${name}`).size;
    } catch { /* reported when it is read */ }
  }
  return total;
}

/** Commands replayed between two progress reports. */
const COMMANDS_PER_STEP = 256;

/** Loads each file in order, in slices; returns the number of commands replayed. */
async function loadFiles(
  server: Server,
  dirPath: string,
  files: readonly AofInfo[],
  applyRdb: RdbApplier,
  progress: LoadProgress,
): Promise<number> {
  const replayer = new Replayer(server);
  const cfg = server.config;
  for (let i = 0; i < files.length; i++) {
    const { name, type } = files[i];
    const path = `${dirPath}/${name}`;
    const started = performance.now();
    const bytes = readIfExists(path);
    if (bytes === null) {
      throw new AofLoadError(`The AOF file ${name} doesn't exist`);
    }
    progress.startFile(bytes.length);
    if (bytes.length === 0) continue;
    let start = 0;
    const loaded = () => {
      const seconds = ((performance.now() - started) / 1000).toFixed(3);
      const kind = type === "b" ? "base" : "incr";
      server.log.info(`DB loaded from ${kind} file ${name}: ${seconds} seconds`);
    };
    if (isRdbPreamble(bytes)) {
      server.log.info(`Reading RDB base file on AOF loading...`);
      start = await applyRdb(bytes, path, progress);
      if (start === bytes.length) {
        loaded();
        continue;
      }
      server.log.info("Reading the remaining AOF tail...");
    }
    let res;
    try {
      res = parseAof(bytes, name, start);
    } catch (err) {
      if (err instanceof AofFormatError) throw new AofLoadError(err.message);
      throw err;
    }
    const verdict = tailVerdict(name, res, {
      loadTruncated: cfg.aofLoadTruncated,
      lastFile: i === files.length - 1,
    });
    for (const m of verdict.messages) server.log.warn(m);
    if (verdict.action === "fail") {
      throw new AofLoadError(
        `Unexpected end of file reading the append only file ${name} (at offset ${verdict.validEnd})`,
      );
    }
    const commands = res.commands;
    for (let j = 0; j < commands.length; j++) {
      const c = commands[j];
      replayer.run(c.args, name, c.offset);
      if (j % COMMANDS_PER_STEP === 0 && progress.due(c.offset)) {
        progress.keysLoaded = server.keyspace.dbs.reduce((n, db) => n + db.dict.size, 0);
        await progress.pause();
      }
    }
    if (verdict.action === "truncate") {
      try {
        Deno.truncateSync(path, verdict.validEnd);
      } catch (err) {
        throw new AofLoadError(`Error truncating the AOF file ${name}: ${strerror(err)}`);
      }
    }
    loaded();
  }
  return replayer.count;
}
