/**
 * Incremental parser for client requests: RESP multibulk and inline commands.
 *
 * The connection reads straight into this parser's single growing buffer
 * (`readTarget` / `commit`), then pulls whole commands with `next()`.
 * Arguments are `subarray` views into that buffer: valid until the next read,
 * so a handler that keeps a value must copy it. A partially received
 * multibulk keeps its progress (arguments seen so far, pending bulk length),
 * so a huge request split over many reads is scanned once, not once per read.
 *
 * Limits and error texts follow Redis 7.0's `processMultibulkBuffer` and
 * `processInlineBuffer`.
 *
 * @module
 */

import { splitArgs } from "./split_args.ts";

/** Largest inline request, or unterminated count line, Redis accepts. */
export const PROTO_INLINE_MAX_SIZE = 64 * 1024;
/** Multibulk lengths above this are refused to unauthenticated clients. */
export const UNAUTH_MULTIBULK_MAX = 10;
/** Bulk lengths above this are refused to unauthenticated clients. */
export const UNAUTH_BULK_MAX = 16384;
/** A bulk at least this big gets a buffer sized for it up front. */
const BIG_ARG = 32 * 1024;
/** Read sizes adapt between these: idle connections hold small buffers. */
const MIN_READ = 1024;
const MAX_READ = 16 * 1024;
const INT_MAX = 2147483647;

/** A request that cannot be parsed; the text is the error reply (without `ERR `). */
export class ProtocolError extends Error {}

/** Limits the parser enforces; read on every request so CONFIG SET applies at once. */
export interface ParserLimits {
  /** `proto-max-bulk-len` */
  maxBulkLen: number;
  /** True while the client still has to authenticate. */
  unauthenticated: boolean;
}

const INT64_MAX_DIGITS = "9223372036854775807";
const INT64_MIN_DIGITS = "9223372036854775808";

/**
 * Parses bytes `[s, e)` as `string2ll` does: optional `-`, digits, no
 * leading zeros, within the signed 64-bit range; `null` unless valid.
 * Magnitudes beyond 2^53 lose precision, which no caller cares about: they
 * are all far beyond every limit.
 */
function parseLength(buf: Uint8Array, s: number, e: number): number | null {
  let i = s;
  const neg = i < e && buf[i] === 45;
  if (neg) i++;
  const digits = e - i;
  if (digits <= 0 || digits > 19) return null;
  if (buf[i] === 48 && digits > 1) return null;
  let v = 0;
  for (let j = i; j < e; j++) {
    const d = buf[j] - 48;
    if (d < 0 || d > 9) return null;
    v = v * 10 + d;
  }
  if (digits === 19) {
    let text = "";
    for (let j = i; j < e; j++) text += String.fromCharCode(buf[j]);
    if (text > (neg ? INT64_MIN_DIGITS : INT64_MAX_DIGITS)) return null;
  }
  if (neg && v === 0) return null;
  return neg ? -v : v;
}

/** Incremental request parser over one buffer. */
export class RequestParser {
  /** Holds unparsed bytes in `[start, end)`. */
  buf: Uint8Array;
  start = 0;
  end = 0;
  // Progress through the multibulk currently being parsed.
  private pending = 0; // arguments still expected (0: not inside a multibulk)
  private bulkLen = -1; // length of the bulk being waited for, -1: unknown
  /** Arguments of the multibulk in progress, as views into `buf`. */
  private args: Uint8Array[] = [];
  private scan = 0; // where to resume parsing inside the buffer
  /**
   * Size of the next read: doubles when a read fills it, halves when reads
   * use little of it. Keeps thousands of idle subscribers cheap while busy
   * pipelines still read 16 KiB at a time.
   */
  private readSize = MIN_READ;
  private lastTarget = 0;

  constructor(initialSize = MIN_READ) {
    this.buf = new Uint8Array(initialSize);
  }

  /** Bytes received but not yet consumed as commands. */
  get pendingBytes(): number {
    return this.end - this.start;
  }

  /** Size of the buffer holding the query (for CLIENT LIST `qbuf`). */
  get capacity(): number {
    return this.buf.length;
  }

  /**
   * Returns a view to read into, after making room (compacting consumed bytes
   * away or growing the buffer).
   */
  readTarget(): Uint8Array {
    if (this.start === this.end && this.pending === 0) {
      this.start = this.end = this.scan = 0;
      if (this.buf.length > 2 * this.readSize) this.buf = new Uint8Array(this.readSize);
    }
    let want = this.readSize;
    if (this.bulkLen >= BIG_ARG) {
      want = Math.max(want, this.bulkLen + 2 - (this.end - this.scan));
    }
    if (this.buf.length - this.end < want) {
      const used = this.end - this.start;
      if (this.start > 0 && this.buf.length - used >= want) {
        this.buf.copyWithin(0, this.start, this.end);
      } else {
        const next = new Uint8Array(Math.max(this.buf.length * 2, used + want));
        next.set(this.buf.subarray(this.start, this.end));
        this.buf = next;
      }
      this.shift(this.start);
    }
    const target = this.buf.subarray(this.end);
    this.lastTarget = target.length;
    return target;
  }

  /** Records that `n` bytes were read into the view from `readTarget()`. */
  commit(n: number): void {
    this.end += n;
    if (n >= this.lastTarget) this.readSize = Math.min(this.readSize * 2, MAX_READ);
    else if (n < this.readSize / 4) this.readSize = Math.max(this.readSize / 2, MIN_READ);
  }

  /** Appends bytes (for tests and for feeding from elsewhere). */
  feed(bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.length) {
      const target = this.readTarget();
      const n = Math.min(target.length, bytes.length - off);
      target.set(bytes.subarray(off, off + n));
      this.commit(n);
      off += n;
    }
  }

  /** Moves positions (and partial argument views) after data moved `by` bytes down. */
  private shift(by: number): void {
    this.start -= by;
    this.end -= by;
    this.scan -= by;
    const args = this.args;
    for (let i = 0; i < args.length; i++) {
      const from = args[i].byteOffset - by;
      args[i] = this.buf.subarray(from, from + args[i].length);
    }
  }

  /**
   * Returns the next whole command, `null` when more bytes are needed, or
   * throws `ProtocolError`. An empty array is an empty request (blank inline
   * line, `*0`), which Redis ignores.
   */
  next(limits: ParserLimits): Uint8Array[] | null {
    if (this.pending === 0) {
      if (this.start >= this.end) return null;
      if (this.buf[this.start] !== 42) return this.inline();
      const r = this.multibulkHeader(limits);
      if (r !== undefined) return r;
    }
    return this.bulks(limits);
  }

  /** Index of the next `\r` in `[from, end)`, or -1. Lines are short: a plain loop beats indexOf here. */
  private findCR(from: number): number {
    const buf = this.buf;
    const end = this.end;
    for (let i = from; i < end; i++) if (buf[i] === 13) return i;
    return -1;
  }

  private inline(): Uint8Array[] | null {
    const buf = this.buf;
    const nl = buf.subarray(0, this.end).indexOf(10, this.start);
    if (nl < 0) {
      if (this.end - this.start > PROTO_INLINE_MAX_SIZE) {
        throw new ProtocolError("Protocol error: too big inline request");
      }
      return null;
    }
    let lineEnd = nl;
    if (lineEnd > this.start && buf[lineEnd - 1] === 13) lineEnd--;
    const args = splitArgs(buf.subarray(this.start, lineEnd));
    this.start = this.scan = nl + 1;
    if (args === null) {
      throw new ProtocolError("Protocol error: unbalanced quotes in request");
    }
    return args;
  }

  /** Parses `*<count>\r\n`; returns undefined to go on with the bulks. */
  private multibulkHeader(limits: ParserLimits): Uint8Array[] | null | undefined {
    const cr = this.findCR(this.start);
    if (cr < 0 || cr + 1 >= this.end) {
      if (this.end - this.start > PROTO_INLINE_MAX_SIZE) {
        throw new ProtocolError("Protocol error: too big mbulk count string");
      }
      return null;
    }
    const count = parseLength(this.buf, this.start + 1, cr);
    if (count === null || count > INT_MAX) {
      throw new ProtocolError("Protocol error: invalid multibulk length");
    }
    if (count > UNAUTH_MULTIBULK_MAX && limits.unauthenticated) {
      throw new ProtocolError("Protocol error: unauthenticated multibulk length");
    }
    this.scan = cr + 2;
    if (count <= 0) {
      this.start = this.scan;
      return [];
    }
    this.pending = count;
    this.bulkLen = -1;
    return undefined;
  }

  private bulks(limits: ParserLimits): Uint8Array[] | null {
    const buf = this.buf;
    const end = this.end;
    const args = this.args;
    let scan = this.scan;
    let pending = this.pending;
    let bulkLen = this.bulkLen;
    while (pending > 0) {
      if (bulkLen < 0) {
        let cr = scan;
        while (cr < end && buf[cr] !== 13) cr++;
        if (cr + 1 >= end) {
          if (end - scan > PROTO_INLINE_MAX_SIZE) {
            throw new ProtocolError("Protocol error: too big bulk count string");
          }
          break;
        }
        if (buf[scan] !== 36) {
          throw new ProtocolError(
            `Protocol error: expected '$', got '${String.fromCharCode(buf[scan])}'`,
          );
        }
        const len = parseLength(buf, scan + 1, cr);
        if (len === null || len < 0 || len > limits.maxBulkLen) {
          throw new ProtocolError("Protocol error: invalid bulk length");
        }
        if (len > UNAUTH_BULK_MAX && limits.unauthenticated) {
          throw new ProtocolError("Protocol error: unauthenticated bulk length");
        }
        bulkLen = len;
        scan = cr + 2;
      }
      // Like Redis, the two bytes after the payload are skipped unchecked.
      if (end - scan < bulkLen + 2) break;
      args.push(buf.subarray(scan, scan + bulkLen));
      scan += bulkLen + 2;
      bulkLen = -1;
      pending--;
    }
    this.scan = scan;
    this.pending = pending;
    this.bulkLen = bulkLen;
    if (pending > 0) return null;
    this.args = [];
    this.start = scan;
    return args;
  }
}
