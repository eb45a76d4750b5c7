/**
 * AOF records: encoding commands exactly as Redis 7.0 appends them
 * (`feedAppendOnlyFile`: optional `#TS:` annotation, `SELECT` when the database
 * changes, then `*N\r\n$len\r\narg\r\n...`), and an incremental reader that turns
 * the bytes of one AOF file back into commands (`loadSingleAppendOnlyFile`).
 *
 * The reader never hands out half a record: commands come out whole, and a
 * MULTI block only once its EXEC has been read. At the end of the file it
 * reports where a truncated tail or an unfinished MULTI starts (the offset
 * `aof-load-truncated yes` cuts at); corruption before the end throws
 * `AofFormatError` naming the file and byte offset.
 *
 * What to propagate for a command (relative expiries made absolute, ...) is
 * decided in `aof_propagate.ts`; this module writes whatever it is given.
 *
 * @module
 */

const CR = 13;
const LF = 10;
const STAR = 42;
const DOLLAR = 36;
const HASH = 35;

/** Number of decimal digits of a non-negative integer. */
function digits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

function writeAscii(buf: Uint8Array, pos: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[pos++] = s.charCodeAt(i);
  return pos;
}

/** Writes `prefix`, the decimal digits of `n` (non-negative) and CRLF at `pos`; returns the end. */
function writeHeader(buf: Uint8Array, pos: number, prefix: number, n: number): number {
  buf[pos] = prefix;
  const end = pos + 1 + digits(n);
  for (let i = end - 1; i > pos; i--) {
    buf[i] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
  buf[end] = CR;
  buf[end + 1] = LF;
  return end + 2;
}

/** Bytes `encodeCommand(args)` produces. */
export function encodedSize(args: readonly Uint8Array[]): number {
  let size = 3 + digits(args.length);
  for (let i = 0; i < args.length; i++) {
    const n = args[i].length;
    size += 5 + digits(n) + n;
  }
  return size;
}

/**
 * Encodes `args` as `encodeCommand` does into `buf` at `pos`, which must have
 * room for `encodedSize(args)` bytes; returns the end. The AOF writer encodes
 * straight into its buffer this way: no allocation per command.
 */
export function encodeCommandInto(
  buf: Uint8Array,
  pos: number,
  args: readonly Uint8Array[],
): number {
  let p = writeHeader(buf, pos, STAR, args.length);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const n = a.length;
    p = writeHeader(buf, p, DOLLAR, n);
    // A byte loop beats the call overhead of `set` for the usual short argument.
    if (n > 16) buf.set(a, p);
    else for (let j = 0; j < n; j++) buf[p + j] = a[j];
    p += n;
    buf[p++] = CR;
    buf[p++] = LF;
  }
  return p;
}

/** One command as a RESP array of bulk strings, byte for byte as Redis writes it to the AOF. */
export function encodeCommand(args: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(encodedSize(args));
  encodeCommandInto(out, 0, args);
  return out;
}

/** `SELECT <db>` as Redis writes it when the database changes. */
export function encodeSelect(db: number): Uint8Array {
  const s = String(db);
  const text = `*2\r\n$6\r\nSELECT\r\n$${s.length}\r\n${s}\r\n`;
  const buf = new Uint8Array(text.length);
  writeAscii(buf, 0, text);
  return buf;
}

/** The `#TS:<unix seconds>\r\n` annotation (`aof-timestamp-enabled yes`). */
export function encodeTimestamp(unixSeconds: number): Uint8Array {
  const text = `#TS:${unixSeconds}\r\n`;
  const buf = new Uint8Array(text.length);
  writeAscii(buf, 0, text);
  return buf;
}

/** Options for `AofFeed`. */
export interface AofFeedOptions {
  /** `aof-timestamp-enabled`: write `#TS:` when the second changes. */
  timestamps?: boolean;
}

/**
 * The appending side of one AOF: remembers the database last written
 * (`aof_selected_db`) and the last timestamp annotation, like Redis does.
 */
export class AofFeed {
  /** Database of the last record; -1 forces a SELECT before the next one. */
  selectedDb = -1;
  /** Unix seconds of the last `#TS:` annotation. */
  currentTimestamp = 0;
  timestamps: boolean;

  constructor(opts: AofFeedOptions = {}) {
    this.timestamps = opts.timestamps ?? false;
  }

  /** Bytes to append for `args` run against database `db` at `nowMs`. */
  feed(db: number, args: readonly Uint8Array[], nowMs?: number): Uint8Array {
    const head = this.header(db, nowMs);
    const cmd = encodeCommand(args);
    return head === null ? cmd : concat([head, cmd]);
  }

  /**
   * What precedes the next record, run against database `db` at `nowMs`
   * (read only when timestamps are on): a `#TS:` annotation when the second
   * changed and a SELECT when the database did, or null (the usual case).
   * Updates the remembered state, so the caller must write it.
   */
  header(db: number, nowMs?: number): Uint8Array | null {
    if (!this.timestamps && db === this.selectedDb) return null; // the hot path: no allocation
    const parts: Uint8Array[] = [];
    if (this.timestamps) {
      const unix = Math.floor((nowMs ?? Date.now()) / 1000);
      if (this.currentTimestamp < unix) {
        this.currentTimestamp = unix;
        parts.push(encodeTimestamp(unix));
      }
    }
    if (db !== this.selectedDb) {
      parts.push(encodeSelect(db));
      this.selectedDb = db;
    }
    return parts.length === 0 ? null : parts.length === 1 ? parts[0] : concat(parts);
  }

  /** A new incremental file starts (rewrite, AOF switched on): the next record re-selects. */
  forceSelect(): void {
    this.selectedDb = -1;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** True when a file starts with `REDIS`: an RDB base (or an old RDB-preamble AOF). */
export function isRdbPreamble(head: Uint8Array): boolean {
  return head.length >= 5 && head[0] === 82 && head[1] === 69 && head[2] === 68 &&
    head[3] === 73 && head[4] === 83;
}

/** A command read back from an AOF file. */
export interface AofCommand {
  /** Arguments; each a view into a copy owned by this command (safe to keep). */
  args: Uint8Array[];
  /** Byte offset of the record's `*` in the file. */
  offset: number;
  /** Byte offset just past the record. */
  end: number;
}

/** Corruption before the end of a file (Redis: "Bad file format reading the append only file"). */
export class AofFormatError extends Error {
  readonly file: string;
  /** Byte offset, in the file, of the byte found wrong. */
  readonly offset: number;
  /** What was expected. */
  readonly detail: string;
  constructor(file: string, offset: number, detail: string) {
    super(
      `Bad file format reading the append only file ${file} at offset ${offset}: ${detail}`,
    );
    this.name = "AofFormatError";
    this.file = file;
    this.offset = offset;
    this.detail = detail;
  }
}

/** How a file ended, from `AofReader.finish`. */
export interface AofTail {
  /** Bytes read in total, including `startOffset`. */
  size: number;
  /**
   * Where `aof-load-truncated yes` truncates the file: just past the last whole
   * command outside an unfinished MULTI. Equals `size` when the file is sound.
   */
  validEnd: number;
  /** The file ends in the middle of a record (or of an annotation line). */
  truncated: boolean;
  /** Offset of a trailing MULTI never closed by EXEC (its commands were not returned), or null. */
  unfinishedMultiAt: number | null;
  /** Commands held back because of that MULTI (the MULTI itself included). */
  droppedCommands: number;
}

/** Result of `parseAof`: every command plus how the file ended. */
export interface AofParseResult extends AofTail {
  commands: AofCommand[];
}

/** Longest `*<n>` / `$<n>` header line accepted (Redis reads them with a 1024-byte fgets). */
const MAX_HEADER = 1024;

/** Outcome of parsing one record at a position. */
type Step =
  | { kind: "command"; cmd: AofCommand; next: number }
  | { kind: "annotation"; next: number }
  | { kind: "more"; need: number };

function isName(a: Uint8Array, lower: string): boolean {
  if (a.length !== lower.length) return false;
  for (let i = 0; i < a.length; i++) {
    let c = a[i];
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Reads one AOF file incrementally: `push` chunks in order (each returns the
 * whole commands completed so far), then `finish` at end of file.
 */
export class AofReader {
  readonly file: string;
  private buf = new Uint8Array(0);
  /** Bytes of `buf` holding data. */
  private len = 0;
  /** Parse position in `buf`. */
  private pos = 0;
  /** File offset of `buf[0]`. */
  private base: number;
  /** Don't try to parse again until `len` reaches this. */
  private need = 0;
  /** Offset just past the last whole command outside a MULTI. */
  private validEnd: number;
  /** Commands of an open MULTI block (MULTI first), held back until EXEC. */
  private multi: AofCommand[] | null = null;
  private finished = false;

  /** `startOffset`: where the AOF part begins (after an RDB preamble, for example). */
  constructor(file: string, startOffset = 0) {
    this.file = file;
    this.base = startOffset;
    this.validEnd = startOffset;
  }

  /** Adds the next chunk of the file; returns the commands now complete. Throws `AofFormatError`. */
  push(chunk: Uint8Array): AofCommand[] {
    if (this.finished) throw new Error("AofReader: push after finish");
    this.append(chunk);
    const out: AofCommand[] = [];
    if (this.len < this.need) return out;
    while (this.pos < this.len) {
      const step = this.step(this.pos);
      if (step.kind === "more") {
        this.need = step.need;
        break;
      }
      this.pos = step.next;
      if (step.kind === "command") this.accept(step.cmd, out);
    }
    this.compact();
    return out;
  }

  /** End of file: reports a truncated tail and an unfinished MULTI. */
  finish(): AofTail {
    this.finished = true;
    const size = this.base + this.len;
    const truncated = this.pos < this.len;
    const unfinishedMultiAt = this.multi ? this.multi[0].offset : null;
    const droppedCommands = this.multi ? this.multi.length : 0;
    const sound = !truncated && unfinishedMultiAt === null;
    return {
      size,
      validEnd: sound ? size : this.validEnd,
      truncated,
      unfinishedMultiAt,
      droppedCommands,
    };
  }

  private accept(cmd: AofCommand, out: AofCommand[]): void {
    const name = cmd.args[0];
    if (this.multi) {
      this.multi.push(cmd);
      if (isName(name, "exec")) {
        for (const c of this.multi) out.push(c);
        this.multi = null;
        this.validEnd = cmd.end;
      }
      return;
    }
    if (isName(name, "multi")) {
      this.multi = [cmd];
      return;
    }
    out.push(cmd);
    this.validEnd = cmd.end;
  }

  private append(chunk: Uint8Array): void {
    if (this.len + chunk.length > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.len + chunk.length, this.buf.length * 2, 4096));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    this.buf.set(chunk, this.len);
    this.len += chunk.length;
  }

  /** Drops consumed bytes once they are the larger part of the buffer. */
  private compact(): void {
    if (this.pos === 0 || this.pos * 2 < this.len) return;
    this.buf.copyWithin(0, this.pos, this.len);
    this.len -= this.pos;
    this.base += this.pos;
    this.need = Math.max(0, this.need - this.pos);
    this.pos = 0;
  }

  private error(at: number, detail: string): never {
    throw new AofFormatError(this.file, this.base + at, detail);
  }

  /**
   * Reads `<prefix><digits>\r\n` at `p`. Returns [value, next] or null when
   * the line is not complete yet.
   */
  private header(p: number, prefix: number, what: string): [number, number] | null {
    const b = this.buf;
    if (p >= this.len) return null;
    if (b[p] !== prefix) {
      this.error(p, `expected '${String.fromCharCode(prefix)}' (${what}), got ${show(b[p])}`);
    }
    let q = p + 1;
    let v = 0;
    while (q < this.len && b[q] >= 48 && b[q] <= 57) {
      v = v * 10 + (b[q] - 48);
      q++;
      if (q - p > 20) this.error(p, `${what} too long`);
    }
    if (q >= this.len) return null;
    if (q === p + 1) this.error(q, `expected a number (${what}), got ${show(b[q])}`);
    if (b[q] !== CR) this.error(q, `expected '\\r' after the ${what}, got ${show(b[q])}`);
    if (q + 1 >= this.len) return null;
    if (b[q + 1] !== LF) {
      this.error(q + 1, `expected '\\n' after the ${what}, got ${show(b[q + 1])}`);
    }
    return [v, q + 2];
  }

  /** Parses the record (or annotation line) starting at `p`. */
  private step(p: number): Step {
    const b = this.buf;
    if (b[p] === HASH) {
      // Annotation: skipped up to and including its newline.
      const nl = b.subarray(p, Math.min(this.len, p + MAX_HEADER + 1)).indexOf(LF);
      if (nl === -1) {
        if (this.len - p > MAX_HEADER) this.error(p, "annotation line too long");
        return { kind: "more", need: this.len + 1 };
      }
      return { kind: "annotation", next: p + nl + 1 };
    }
    const head = this.header(p, STAR, "argument count");
    if (!head) return { kind: "more", need: this.len + 1 };
    const [argc, afterHead] = head;
    if (argc < 1) this.error(p + 1, "argument count must be at least 1");
    let q = afterHead;
    const spans: number[] = [];
    for (let j = 0; j < argc; j++) {
      const h = this.header(q, DOLLAR, "bulk length");
      if (!h) return { kind: "more", need: this.len + 1 };
      const [n, start] = h;
      const stop = start + n;
      if (stop + 2 > this.len) return { kind: "more", need: stop + 2 };
      if (b[stop] !== CR || b[stop + 1] !== LF) {
        const at = b[stop] !== CR ? stop : stop + 1;
        this.error(at, `expected '\\r\\n' after a bulk of ${n} bytes, got ${show(b[at])}`);
      }
      spans.push(start, stop);
      q = stop + 2;
    }
    // One copy per command; arguments are views into it.
    const copy = b.slice(p, q);
    const args: Uint8Array[] = new Array(argc);
    for (let j = 0; j < argc; j++) args[j] = copy.subarray(spans[2 * j] - p, spans[2 * j + 1] - p);
    return {
      kind: "command",
      cmd: { args, offset: this.base + p, end: this.base + q },
      next: q,
    };
  }
}

function show(c: number): string {
  return c >= 32 && c < 127
    ? `'${String.fromCharCode(c)}'`
    : `0x${c.toString(16).padStart(2, "0")}`;
}

/** Reads a whole file's bytes at once (see `AofReader`). */
export function parseAof(bytes: Uint8Array, file: string, startOffset = 0): AofParseResult {
  const reader = new AofReader(file, startOffset);
  const commands = reader.push(startOffset === 0 ? bytes : bytes.subarray(startOffset));
  return { commands, ...reader.finish() };
}

/** Redis 7.0's log lines when a truncated AOF is loaded anyway (`aof-load-truncated yes`). */
export function truncatedWarnings(file: string, validEnd: number): string[] {
  return [
    `!!! Warning: short read while loading the AOF file ${file}!!!`,
    `!!! Truncating the AOF ${file} at offset ${validEnd} !!!`,
    `AOF ${file} loaded anyway because aof-load-truncated is enabled`,
  ];
}

/** Redis 7.0's log line for a truncated AOF with `aof-load-truncated no` (the server exits). */
export function unexpectedEofMessage(file: string): string {
  return `Unexpected end of file reading the append only file ${file}. You can: ` +
    `1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. ` +
    `2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.`;
}

/** Redis 7.0's log line for an unfinished MULTI at the end of a file. */
export function revertMultiMessage(file: string): string {
  return `Revert incomplete MULTI/EXEC transaction in AOF file ${file}`;
}

/** What to do with a file's tail when loading, from `tailVerdict`. */
export interface TailVerdict {
  /** `ok`: load as is; `truncate`: cut the file at `validEnd` and go on; `fail`: refuse to start. */
  action: "ok" | "truncate" | "fail";
  validEnd: number;
  /** Redis' log lines for the case (warnings). */
  messages: string[];
}

/**
 * Redis 7.0's decision for how a file ended (`loadSingleAppendOnlyFile` and
 * `loadAppendOnlyFiles`): a truncated tail or unfinished MULTI is cut at
 * `validEnd` only with `aof-load-truncated yes` and only in the last file.
 *
 * One deliberate difference: when the tail is cut inside a MULTI block, Redis'
 * loader truncates after the last whole queued command, leaving a MULTI open
 * that swallows every later write on the next start; we cut before the MULTI,
 * as `redis-check-aof --fix` does. Redis also truncates a non-last file
 * before failing; here a non-last file just fails, untouched.
 */
export function tailVerdict(
  file: string,
  tail: AofTail,
  opts: { loadTruncated: boolean; lastFile: boolean },
): TailVerdict {
  if (!tail.truncated && tail.unfinishedMultiAt === null) {
    return { action: "ok", validEnd: tail.validEnd, messages: [] };
  }
  const messages = !tail.truncated ? [revertMultiMessage(file)] : [];
  if (opts.loadTruncated && opts.lastFile) {
    return {
      action: "truncate",
      validEnd: tail.validEnd,
      messages: [...messages, ...truncatedWarnings(file, tail.validEnd)],
    };
  }
  return {
    action: "fail",
    validEnd: tail.validEnd,
    messages: [...messages, unexpectedEofMessage(file)],
  };
}
