/**
 * Redis 7.0's multi-part AOF manifest (`<appendfilename>.manifest` inside
 * `appenddirname`): parsing, formatting, file naming and the manifest edits a
 * rewrite performs. Pure functions on immutable values: no file I/O here.
 *
 * A manifest line is `file <name> seq <n> type <b|h|i>`; names that need it are
 * quoted as `sdscatrepr` does and read back with `sdssplitargs`. Lines starting
 * with `#` are comments. Validation follows `aofLoadManifestFromFile` in
 * Redis 7.0's `aof.c`, with its error texts.
 *
 * File names are latin1 strings (one char per byte), like keys elsewhere.
 *
 * @module
 */

import { bytesOf, latin1 } from "../protocol/latin1.ts";
import { splitArgs } from "../protocol/split_args.ts";
import { reprBytes } from "../commands/util.ts";

/** `b` base, `h` history (to delete), `i` incremental. */
export type AofFileType = "b" | "h" | "i";

/** One file listed in the manifest. */
export interface AofInfo {
  readonly name: string;
  readonly seq: number;
  readonly type: AofFileType;
}

/** A parsed manifest, in Redis' in-memory shape (`aofManifest`). */
export interface AofManifest {
  readonly base: AofInfo | null;
  /** History files, in manifest order (deleted after a rewrite unless `aof-disable-auto-gc`). */
  readonly history: readonly AofInfo[];
  /** Incremental files, in load order (strictly increasing seq). */
  readonly incr: readonly AofInfo[];
  /** Seq of the current base (`curr_base_file_seq`), 0 when none. */
  readonly baseSeq: number;
  /** Seq of the last incremental file (`curr_incr_file_seq`), 0 when none. */
  readonly incrSeq: number;
}

/** A manifest Redis would refuse, with its error text and the offending line. */
export class AofManifestError extends Error {
  /** The reason, worded as Redis 7.0 logs it. */
  readonly reason: string;
  /** 1-based line number (comment lines count), 0 when not about a line. */
  readonly line: number;
  /** The trimmed line text, when about a line. */
  readonly lineText: string | null;
  constructor(reason: string, line = 0, lineText: string | null = null) {
    super(
      line > 0
        ? `${reason} (reading the manifest file, at line ${line}: '${lineText ?? ""}')`
        : reason,
    );
    this.name = "AofManifestError";
    this.reason = reason;
    this.line = line;
    this.lineText = lineText;
  }
}

/** Redis 7.0's manifest error texts. */
export const ManifestErrors = {
  empty: "Found an empty AOF manifest",
  tooLong: "The AOF manifest file contains too long line",
  invalid: "Invalid AOF manifest file format",
  path: "File can't be a path, just a filename",
  duplicateBase: "Found duplicate base file information",
  nonMonotonic: "Found a non-monotonic sequence number",
  unknownType: "Unknown AOF file type",
} as const;

/** Redis reads manifest lines with `fgets` into a 1024-byte buffer. */
const MANIFEST_MAX_LINE = 1024;

/** Prefix of temporary files in the AOF directory. */
export const TEMP_FILE_PREFIX = "temp-";

/** The manifest's name: `appendonly.aof.manifest`. */
export function manifestFileName(appendfilename: string): string {
  return `${appendfilename}.manifest`;
}

/** The manifest is written here first, then renamed: `temp-appendonly.aof.manifest`. */
export function tempManifestFileName(appendfilename: string): string {
  return `${TEMP_FILE_PREFIX}${appendfilename}.manifest`;
}

/** Base file name: `appendonly.aof.<seq>.base.rdb` (RDB preamble) or `.base.aof`. */
export function baseFileName(appendfilename: string, seq: number, rdbPreamble: boolean): string {
  return `${appendfilename}.${seq}.base${rdbPreamble ? ".rdb" : ".aof"}`;
}

/** Incremental file name: `appendonly.aof.<seq>.incr.aof`. */
export function incrFileName(appendfilename: string, seq: number): string {
  return `${appendfilename}.${seq}.incr.aof`;
}

/** Incremental file used while AOF is being switched on at run time: `temp-appendonly.aof.incr`. */
export function tempIncrFileName(appendfilename: string): string {
  return `${TEMP_FILE_PREFIX}${appendfilename}.incr`;
}

/** The rewrite child's output before it becomes the new base: `temp-rewriteaof-bg-<pid>.aof`. */
export function tempRewriteFileName(pid: number): string {
  return `${TEMP_FILE_PREFIX}rewriteaof-bg-${pid}.aof`;
}

/** True for names Redis accepts in a manifest (no `/` or `\`: `pathIsBaseName`). */
export function isBaseName(name: string): boolean {
  return !name.includes("/") && !name.includes("\\");
}

/** A manifest with no files. */
export function emptyManifest(): AofManifest {
  return { base: null, history: [], incr: [], baseSeq: 0, incrSeq: 0 };
}

/** C's isprint in the C locale. */
function isPrint(c: number): boolean {
  return c >= 32 && c < 127;
}

/**
 * `sdsneedsrepr`: quote when a byte is a backslash, double quote, space or not
 * printable. Deliberately also for a single quote and the empty name: Redis 7.0
 * writes those bare and then cannot read its own manifest back (`a'b` opens a
 * quote for `sdssplitargs`: "Invalid AOF manifest file format", checked with
 * redis-server 7.0.15). The quoted form loads in Redis too.
 */
function needsRepr(name: string): boolean {
  if (name.length === 0) return true;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 92 || c === 34 || c === 39 || c === 32 || !isPrint(c)) return true;
  }
  return false;
}

/** One manifest line, with its `\n`, exactly as `aofInfoFormat` writes it. */
export function formatManifestLine(info: AofInfo): string {
  const name = needsRepr(info.name) ? reprBytes(bytesOf(info.name)) : info.name;
  return `file ${name} seq ${info.seq} type ${info.type}\n`;
}

/** The whole manifest text (base, then history, then incremental), as Redis writes it. */
export function formatManifest(m: AofManifest): string {
  let out = m.base ? formatManifestLine(m.base) : "";
  for (const h of m.history) out += formatManifestLine(h);
  for (const i of m.incr) out += formatManifestLine(i);
  return out;
}

/** `atoll`: leading blanks, optional sign, then digits up to the first non-digit. */
function atoll(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(s);
  if (!m) return 0;
  const v = Number(m[1]);
  // atoll saturates in practice (strtoll); keep the sign, cap the size.
  if (!Number.isSafeInteger(v)) return v < 0 ? Number.MIN_SAFE_INTEGER : Number.MAX_SAFE_INTEGER;
  return v;
}

/** `sdstrim(line, " \t\r\n")`. */
function trimLine(s: string): string {
  return s.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");
}

/**
 * Parses manifest bytes (or a latin1 string) as Redis 7.0 loads them.
 * Throws `AofManifestError` with Redis' wording for anything Redis refuses,
 * including a last line without its `\n` (Redis calls that "too long").
 */
export function parseManifest(input: Uint8Array | string): AofManifest {
  const text = typeof input === "string" ? input : latin1(input);
  if (text.length === 0) throw new AofManifestError(ManifestErrors.empty);
  let base: AofInfo | null = null;
  const history: AofInfo[] = [];
  const incr: AofInfo[] = [];
  let baseSeq = 0;
  let incrSeq = 0;
  let maxSeq = 0;
  let linenum = 0;
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf("\n", pos);
    const end = nl === -1 ? text.length : nl + 1;
    let raw = text.slice(pos, end);
    // fgets stops after MANIFEST_MAX_LINE bytes: a longer line arrives in pieces.
    if (raw.length > MANIFEST_MAX_LINE) raw = raw.slice(0, MANIFEST_MAX_LINE);
    pos += raw.length;
    linenum++;
    if (raw.charCodeAt(0) === 35) continue; // '#': comment
    // A C string ends at NUL; fgets would still have read up to the newline.
    const cstr = raw.includes("\0") ? raw.slice(0, raw.indexOf("\0")) : raw;
    // Redis looks for the newline with strchr, which stops at a NUL byte.
    if (!cstr.endsWith("\n")) {
      throw new AofManifestError(ManifestErrors.tooLong, linenum, trimLine(cstr));
    }
    const line = trimLine(cstr);
    const fail = (reason: string): never => {
      throw new AofManifestError(reason, linenum, line);
    };
    if (line.length === 0) fail(ManifestErrors.invalid);
    const argv = splitArgs(bytesOf(line));
    if (argv === null || argv.length < 6 || argv.length % 2 !== 0) fail(ManifestErrors.invalid);
    let name: string | null = null;
    let seq = 0;
    let type = "";
    for (let i = 0; i < argv!.length; i += 2) {
      const key = latin1(argv![i]).toLowerCase();
      const val = latin1(argv![i + 1]);
      if (key === "file") {
        // sdsnew(argv[i+1]) stops at an embedded NUL.
        name = val.includes("\0") ? val.slice(0, val.indexOf("\0")) : val;
        if (!isBaseName(name)) fail(ManifestErrors.path);
      } else if (key === "seq") {
        seq = atoll(val);
      } else if (key === "type") {
        type = val.length > 0 ? val[0] : "";
      } // other keys: ignored, for forward compatibility
    }
    if (name === null || seq === 0 || type === "" || type === "\0") fail(ManifestErrors.invalid);
    if (type === "b") {
      if (base) fail(ManifestErrors.duplicateBase);
      base = { name: name!, seq, type: "b" };
      baseSeq = seq;
    } else if (type === "h") {
      history.push({ name: name!, seq, type: "h" });
    } else if (type === "i") {
      if (seq <= maxSeq) fail(ManifestErrors.nonMonotonic);
      incr.push({ name: name!, seq, type: "i" });
      incrSeq = seq;
      maxSeq = seq;
    } else {
      fail(ManifestErrors.unknownType);
    }
  }
  return { base, history, incr, baseSeq, incrSeq };
}

/** Base then incremental files: what loading reads, in order (history is never loaded). */
export function filesToLoad(m: AofManifest): AofInfo[] {
  return m.base ? [m.base, ...m.incr] : [...m.incr];
}

/** Adds a new incremental file (`getNewIncrAofName`); returns the new manifest and the name. */
export function withNewIncr(
  m: AofManifest,
  appendfilename: string,
): { manifest: AofManifest; name: string } {
  const seq = m.incrSeq + 1;
  const info: AofInfo = { name: incrFileName(appendfilename, seq), seq, type: "i" };
  return { manifest: { ...m, incr: [...m.incr, info], incrSeq: seq }, name: info.name };
}

/** The incremental file to append to: the last one, or a new one (`getLastIncrAofName`). */
export function withLastIncr(
  m: AofManifest,
  appendfilename: string,
): { manifest: AofManifest; name: string } {
  const last = m.incr[m.incr.length - 1];
  return last ? { manifest: m, name: last.name } : withNewIncr(m, appendfilename);
}

/** Options for `afterRewrite`. */
export interface RewriteOptions {
  appendfilename: string;
  /** `aof-use-rdb-preamble`: the new base is `.base.rdb` rather than `.base.aof`. */
  rdbPreamble: boolean;
  /**
   * AOF is on (Redis: `aof_fd != -1`): the last incremental file is the one being
   * written since the rewrite started and stays incremental. False when AOF is
   * being switched on (the caller then adds the renamed temp incr with `withNewIncr`).
   */
  keepLastIncr: boolean;
}

/**
 * The manifest after a successful rewrite (`backgroundRewriteDoneHandler`):
 * a new base with the next seq; the old base and every incremental file but the
 * last (when `keepLastIncr`) become history, in Redis' order: the rewritten
 * incremental files first, then the old base, then older history.
 * Returns the manifest and the new base's name (rename the rewrite's temp file to it).
 */
export function afterRewrite(
  m: AofManifest,
  opts: RewriteOptions,
): { manifest: AofManifest; baseName: string } {
  const seq = m.baseSeq + 1;
  const base: AofInfo = {
    name: baseFileName(opts.appendfilename, seq, opts.rdbPreamble),
    seq,
    type: "b",
  };
  const keep = opts.keepLastIncr && m.incr.length > 0 ? 1 : 0;
  const rewritten = m.incr.slice(0, m.incr.length - keep).map(asHistory);
  const history = [...rewritten, ...(m.base ? [asHistory(m.base)] : []), ...m.history];
  const incr = m.incr.slice(m.incr.length - keep);
  return { manifest: { ...m, base, history, incr, baseSeq: seq }, baseName: base.name };
}

function asHistory(info: AofInfo): AofInfo {
  return { name: info.name, seq: info.seq, type: "h" };
}

/** The manifest once history files are deleted (`aofDelHistoryFiles`). */
export function withoutHistory(m: AofManifest): AofManifest {
  return { ...m, history: [] };
}

/**
 * The manifest Redis writes when it migrates a legacy single `appendonly.aof`
 * from `dir` into the AOF directory (`aofUpgradePrepare`): that file as base seq 1.
 */
export function legacyMigrationManifest(m: AofManifest, appendfilename: string): AofManifest {
  return { ...m, base: { name: appendfilename, seq: 1, type: "b" }, baseSeq: 1 };
}
