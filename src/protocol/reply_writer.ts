/**
 * RESP2/RESP3 reply encoder writing straight into a growable byte buffer.
 *
 * Each connection owns one `ReplyWriter`; command handlers append replies to
 * it and the connection flushes the whole batch with one socket write. The
 * same writer type builds shared frames (a published message encoded once for
 * all its subscribers). Types without a RESP2 form fall back the way Redis
 * does: maps become flat arrays, doubles bulk strings, booleans integers,
 * nulls `$-1` (or `*-1` for null arrays), pushes arrays.
 *
 * @module
 */

import { writeLatin1 } from "./latin1.ts";

const CRLF0 = 13;
const CRLF1 = 10;

/**
 * The 17 significant digits of |d| and its decimal exponent, rounded as C's
 * printf rounds (to nearest, ties to even). JavaScript's `toExponential`
 * breaks exact ties away from zero, so ties are detected and fixed up.
 */
function digits17(a: number): [string, number] {
  const [m, e] = a.toExponential(16).split("e");
  const longer = a.toExponential(100);
  const tail = longer.slice(18, longer.indexOf("e"));
  // An exact tie: the 18th digit is 5 and nothing follows it.
  if (/^50*$/.test(tail)) {
    const [lm, le] = longer.split("e");
    const kept = lm.replace(".", "").slice(0, 17);
    if ((kept.charCodeAt(16) - 48) % 2 === 0) return [kept, Number(le)];
  }
  return [m.replace(".", ""), Number(e)];
}

/** Formats a double as C's `%.17g` (Redis' double replies), with `inf`, `-inf`, `nan`. */
export function formatDouble(d: number): string {
  if (d === Infinity) return "inf";
  if (d === -Infinity) return "-inf";
  if (Number.isNaN(d)) return "nan";
  if (d === 0) return Object.is(d, -0) ? "-0" : "0";
  const sign = d < 0 ? "-" : "";
  const [digits, exp] = digits17(Math.abs(d));
  if (exp < -4 || exp >= 17) {
    const frac = digits.slice(1).replace(/0+$/, "");
    const e = Math.abs(exp) < 10 ? `0${Math.abs(exp)}` : String(Math.abs(exp));
    return `${sign}${digits[0]}${frac ? "." + frac : ""}e${exp < 0 ? "-" : "+"}${e}`;
  }
  let text: string;
  if (exp >= 0) {
    const int = digits.slice(0, exp + 1);
    const frac = digits.slice(exp + 1).replace(/0+$/, "");
    text = frac ? `${int}.${frac}` : int;
  } else {
    text = `0.${"0".repeat(-exp - 1)}${digits}`.replace(/0+$/, "");
  }
  return sign + text;
}

/** Growable output buffer with RESP encoders. */
export class ReplyWriter {
  buf: Uint8Array;
  len = 0;
  /** Protocol version spoken to the peer: 2 or 3. */
  resp: 2 | 3 = 2;
  /** Told of every error reply (for error stats); null for shared frames. */
  onError: ((msg: string) => void) | null = null;

  constructor(initialSize = 1024) {
    this.buf = new Uint8Array(Math.max(initialSize, 64));
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** The bytes written so far (a view, valid until the next write). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /** Drops everything written after position `len`. */
  truncate(len: number): void {
    this.len = len;
  }

  /** Appends bytes as they are (an already encoded frame). */
  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  private line(prefix: number, s: string): void {
    this.ensure(s.length + 3);
    const b = this.buf;
    b[this.len] = prefix;
    const p = writeLatin1(b, this.len + 1, s);
    b[p] = CRLF0;
    b[p + 1] = CRLF1;
    this.len = p + 2;
  }

  /** Writes `<prefix><integer>\r\n` without building a string. */
  private intLine(prefix: number, n: number): void {
    if (!Number.isSafeInteger(n)) return this.line(prefix, String(n));
    this.ensure(24);
    const b = this.buf;
    let p = this.len;
    b[p++] = prefix;
    if (n < 0) {
      b[p++] = 45;
      n = -n;
    }
    if (n < 10) {
      b[p++] = 48 + n;
    } else {
      let digits = 0;
      for (let t = n; t > 0; t = Math.floor(t / 10)) digits++;
      let q = p + digits - 1;
      while (n > 0) {
        b[q--] = 48 + (n % 10);
        n = Math.floor(n / 10);
      }
      p += digits;
    }
    b[p] = CRLF0;
    b[p + 1] = CRLF1;
    this.len = p + 2;
  }

  /** `+OK`-style status reply. */
  simple(s: string): void {
    this.line(43, s);
  }

  /** `+OK` */
  ok(): void {
    this.line(43, "OK");
  }

  /** Error reply; `msg` includes its code (`ERR ...`, `WRONGTYPE ...`). */
  error(msg: string): void {
    // Newlines would break the protocol; Redis replaces them with spaces.
    const clean = msg.replace(/[\r\n]/g, " ");
    this.onError?.(clean);
    this.line(45, clean);
  }

  /** Integer reply. */
  integer(n: number | bigint): void {
    if (typeof n === "bigint") this.line(58, n.toString());
    else this.intLine(58, n);
  }

  /** Bulk string from bytes, or the null bulk. */
  bulk(v: Uint8Array | null): void {
    if (v === null) return this.nullBulk();
    this.intLine(36, v.length);
    this.ensure(v.length + 2);
    this.buf.set(v, this.len);
    this.len += v.length;
    this.buf[this.len++] = CRLF0;
    this.buf[this.len++] = CRLF1;
  }

  /** Bulk string from a latin1 string. */
  bulkString(s: string): void {
    this.intLine(36, s.length);
    this.ensure(s.length + 2);
    const p = writeLatin1(this.buf, this.len, s);
    this.buf[p] = CRLF0;
    this.buf[p + 1] = CRLF1;
    this.len = p + 2;
  }

  /** Bulk string holding UTF-8 text (INFO, CLIENT LIST...). */
  bulkText(s: string): void {
    this.bulk(new TextEncoder().encode(s));
  }

  /** Null bulk: `$-1` in RESP2, `_` in RESP3. */
  nullBulk(): void {
    if (this.resp === 3) this.line(95, "");
    else this.line(36, "-1");
  }

  /** Null array: `*-1` in RESP2, `_` in RESP3. */
  nullArray(): void {
    if (this.resp === 3) this.line(95, "");
    else this.line(42, "-1");
  }

  /** Array header for `n` elements. */
  array(n: number): void {
    this.intLine(42, n);
  }

  /** Map header for `n` pairs (RESP2: an array of 2n elements). */
  map(n: number): void {
    if (this.resp === 3) this.intLine(37, n);
    else this.intLine(42, n * 2);
  }

  /** Set header (RESP2: an array). */
  set(n: number): void {
    this.intLine(this.resp === 3 ? 126 : 42, n);
  }

  /** Push header (RESP2: an array). */
  push(n: number): void {
    this.intLine(this.resp === 3 ? 62 : 42, n);
  }

  /** Double (RESP2: a bulk string). */
  double(d: number): void {
    const s = formatDouble(d);
    if (this.resp === 3) this.line(44, s);
    else this.bulkString(s);
  }

  /** Boolean (RESP2: integer 1 or 0). */
  bool(b: boolean): void {
    if (this.resp === 3) this.line(35, b ? "t" : "f");
    else this.intLine(58, b ? 1 : 0);
  }

  /** Verbatim string with a 3-letter format (RESP2: a bulk string). */
  verbatim(text: string, format = "txt"): void {
    const body = new TextEncoder().encode(text);
    if (this.resp !== 3) return this.bulk(body);
    this.intLine(61, body.length + 4);
    this.ensure(body.length + 6);
    const p = writeLatin1(this.buf, this.len, format + ":");
    this.buf.set(body, p);
    this.len = p + body.length;
    this.buf[this.len++] = CRLF0;
    this.buf[this.len++] = CRLF1;
  }

  /** Array of bulk strings from latin1 strings. */
  stringArray(items: readonly string[]): void {
    this.array(items.length);
    for (const s of items) this.bulkString(s);
  }
}
