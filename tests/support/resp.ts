/**
 * A small, independent RESP2/RESP3 codec for tests: encodes requests, decodes
 * replies into typed values, and re-encodes values into canonical bytes.
 *
 * It shares no code with `src/protocol/` on purpose, so a test that checks the
 * server's bytes with it does not just check the server against itself.
 * Everything is bytes (`Uint8Array`) or latin1 strings (one char per byte).
 *
 * @module
 */

/** A decoded reply. Text-like payloads stay bytes so binary data survives. */
export type RespValue =
  | { type: "simple"; value: string }
  | { type: "error"; value: string }
  | { type: "integer"; value: bigint }
  | { type: "bulk"; value: Uint8Array | null }
  | { type: "array"; value: RespValue[] | null }
  | { type: "null" }
  | { type: "double"; value: string }
  | { type: "bool"; value: boolean }
  | { type: "bignum"; value: string }
  | { type: "blobError"; value: Uint8Array }
  | { type: "verbatim"; format: string; value: Uint8Array }
  | { type: "map"; value: [RespValue, RespValue][] }
  | { type: "set"; value: RespValue[] }
  | { type: "push"; value: RespValue[] };

/** Thrown when bytes are not valid RESP. */
export class RespSyntaxError extends Error {}

/** Latin1 string → bytes (each char code is one byte). */
export function bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/** Bytes → latin1 string. */
export function text(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

/** Concatenates byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Readable, unambiguous rendering of bytes (like Python's repr) for failure messages. */
export function show(data: Uint8Array | string): string {
  const s = typeof data === "string" ? data : text(data);
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) out += "\\\\";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x09) out += "\\t";
    else if (c === 0x22) out += '\\"';
    else if (c < 0x20 || c > 0x7e) out += "\\x" + c.toString(16).padStart(2, "0");
    else out += s[i];
  }
  return `"${out}"`;
}

/** Encodes a request as a RESP multibulk (strings are latin1). */
export function encodeCommand(args: readonly (string | Uint8Array)[]): Uint8Array {
  const parts: Uint8Array[] = [bytes(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === "string" ? bytes(a) : a;
    parts.push(bytes(`$${b.length}\r\n`), b, bytes("\r\n"));
  }
  return concat(parts);
}

const CR = 13;

/** Index of the `\r\n` ending the line that starts at `pos`, or -1 when not received yet. */
function lineEnd(buf: Uint8Array, pos: number): number {
  for (let i = pos; i + 1 < buf.length; i++) {
    if (buf[i] === CR) {
      if (buf[i + 1] !== 10) throw new RespSyntaxError(`CR without LF at ${i}`);
      return i;
    }
  }
  return -1;
}

function parseInteger(s: string, what: string): bigint {
  if (!/^-?\d+$/.test(s)) throw new RespSyntaxError(`bad ${what} ${show(s)}`);
  return BigInt(s);
}

/**
 * Decodes one reply starting at `pos`. Returns the value and the index just
 * past it, or `null` when the buffer does not hold a whole reply yet.
 * Throws `RespSyntaxError` on bytes that can never become valid RESP.
 */
export function decodeReply(
  buf: Uint8Array,
  pos = 0,
): { value: RespValue; end: number } | null {
  if (pos >= buf.length) return null;
  const le = lineEnd(buf, pos + 1);
  if (le < 0) return null;
  const head = text(buf.subarray(pos + 1, le));
  const next = le + 2;
  const blob = (): { data: Uint8Array; end: number } | null => {
    const n = Number(parseInteger(head, "length"));
    if (buf.length < next + n + 2) return null;
    if (buf[next + n] !== 13 || buf[next + n + 1] !== 10) {
      throw new RespSyntaxError(`blob of ${n} bytes not followed by CRLF`);
    }
    return { data: buf.slice(next, next + n), end: next + n + 2 };
  };
  const items = (count: number): { list: RespValue[]; end: number } | null => {
    const list: RespValue[] = [];
    let p = next;
    for (let i = 0; i < count; i++) {
      const r = decodeReply(buf, p);
      if (r === null) return null;
      list.push(r.value);
      p = r.end;
    }
    return { list, end: p };
  };
  switch (buf[pos]) {
    case 43: // +
      return { value: { type: "simple", value: head }, end: next };
    case 45: // -
      return { value: { type: "error", value: head }, end: next };
    case 58: // :
      return { value: { type: "integer", value: parseInteger(head, "integer") }, end: next };
    case 36: { // $
      if (head === "-1") return { value: { type: "bulk", value: null }, end: next };
      const b = blob();
      return b && { value: { type: "bulk", value: b.data }, end: b.end };
    }
    case 42: { // *
      if (head === "-1") return { value: { type: "array", value: null }, end: next };
      const r = items(Number(parseInteger(head, "count")));
      return r && { value: { type: "array", value: r.list }, end: r.end };
    }
    case 95: // _
      if (head !== "") throw new RespSyntaxError(`null with payload ${show(head)}`);
      return { value: { type: "null" }, end: next };
    case 44: // ,
      return { value: { type: "double", value: head }, end: next };
    case 35: // #
      if (head !== "t" && head !== "f") throw new RespSyntaxError(`bad bool ${show(head)}`);
      return { value: { type: "bool", value: head === "t" }, end: next };
    case 40: // (
      parseInteger(head, "big number");
      return { value: { type: "bignum", value: head }, end: next };
    case 33: { // !
      const b = blob();
      return b && { value: { type: "blobError", value: b.data }, end: b.end };
    }
    case 61: { // =
      const b = blob();
      if (b === null) return null;
      if (b.data.length < 4 || b.data[3] !== 58) {
        throw new RespSyntaxError("verbatim string without a 3-letter format");
      }
      return {
        value: { type: "verbatim", format: text(b.data.subarray(0, 3)), value: b.data.slice(4) },
        end: b.end,
      };
    }
    case 37: { // %
      const r = items(2 * Number(parseInteger(head, "count")));
      if (r === null) return null;
      const pairs: [RespValue, RespValue][] = [];
      for (let i = 0; i < r.list.length; i += 2) pairs.push([r.list[i], r.list[i + 1]]);
      return { value: { type: "map", value: pairs }, end: r.end };
    }
    case 126: // ~
    case 62: { // >
      const r = items(Number(parseInteger(head, "count")));
      const type = buf[pos] === 126 ? "set" : "push";
      return r && { value: { type, value: r.list }, end: r.end };
    }
    default:
      throw new RespSyntaxError(`unknown type byte ${show(String.fromCharCode(buf[pos]))}`);
  }
}

/** Decodes a buffer holding exactly one whole reply. */
export function decodeOne(buf: Uint8Array): RespValue {
  const r = decodeReply(buf, 0);
  if (r === null) throw new RespSyntaxError("incomplete reply");
  if (r.end !== buf.length) throw new RespSyntaxError(`${buf.length - r.end} trailing bytes`);
  return r.value;
}

/** Decodes every whole reply in `buf`; throws if bytes are left over. */
export function decodeAll(buf: Uint8Array): RespValue[] {
  const out: RespValue[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const r = decodeReply(buf, pos);
    if (r === null) throw new RespSyntaxError(`incomplete reply at ${pos}`);
    out.push(r.value);
    pos = r.end;
  }
  return out;
}

/** Encodes a value back into RESP (the canonical form the decoder accepts). */
export function encodeValue(v: RespValue): Uint8Array {
  const line = (prefix: string, s: string) => bytes(`${prefix}${s}\r\n`);
  const blob = (prefix: string, data: Uint8Array) =>
    concat([line(prefix, String(data.length)), data, bytes("\r\n")]);
  const many = (prefix: string, list: RespValue[]) =>
    concat([line(prefix, String(list.length)), ...list.map(encodeValue)]);
  switch (v.type) {
    case "simple":
      return line("+", v.value);
    case "error":
      return line("-", v.value);
    case "integer":
      return line(":", v.value.toString());
    case "bulk":
      return v.value === null ? line("$", "-1") : blob("$", v.value);
    case "array":
      return v.value === null ? line("*", "-1") : many("*", v.value);
    case "null":
      return line("_", "");
    case "double":
      return line(",", v.value);
    case "bool":
      return line("#", v.value ? "t" : "f");
    case "bignum":
      return line("(", v.value);
    case "blobError":
      return blob("!", v.value);
    case "verbatim":
      return blob("=", concat([bytes(v.format + ":"), v.value]));
    case "map":
      return concat([line("%", String(v.value.length)), ...v.value.flat().map(encodeValue)]);
    case "set":
      return many("~", v.value);
    case "push":
      return many(">", v.value);
  }
}

/** Compares byte strings the way memcmp does (for sorting). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
