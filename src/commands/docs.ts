/**
 * COMMAND DOCS argument lists, built from each command's `syntax` string.
 *
 * A `CommandSpec` carries its arguments in Redis' documentation notation
 * (`key value [NX | XX] [GET] [EX seconds | PX milliseconds | KEEPTTL]`).
 * This module parses that notation into the argument tree COMMAND DOCS
 * replies with (name, type, token, optional/multiple flags, nested
 * `arguments` for blocks and one-ofs), and writes it in Redis' reply shape.
 *
 * The notation has no argument types and no names for groups, so both are
 * inferred the way Redis names them most of the time: upper-case words are
 * tokens, `key`-like names are keys, well-known names are integers or
 * doubles, and a group is named after its members (`offset_count`) unless a
 * well-known set of members has a conventional name (`NX | XX` is
 * `condition`).
 *
 * @module
 */

import type { ReplyWriter } from "../protocol/reply_writer.ts";

/** An argument's type, as COMMAND DOCS reports it. */
export type DocArgType =
  | "key"
  | "string"
  | "integer"
  | "double"
  | "pattern"
  | "unix-time"
  | "pure-token"
  | "oneof"
  | "block";

/** One documented argument. */
export interface DocArg {
  name: string;
  type: DocArgType;
  token?: string;
  optional?: boolean;
  multiple?: boolean;
  multipleToken?: boolean;
  /** Index into the command's key specs (key arguments only). */
  keySpecIndex?: number;
  /** Members of a block or one-of. */
  arguments?: DocArg[];
}

/** A node of the parsed notation, before it becomes arguments. */
type Node =
  | { t: "word"; text: string; token: boolean }
  | { t: "group"; open: string; alts: Node[][] }
  | { t: "more" };

const CLOSERS: Record<string, string> = { "[": "]", "<": ">", "(": ")" };

/** Splits the notation into words and punctuation. */
function lex(syntax: string): string[] {
  const out: string[] = [];
  let word = "";
  const flush = () => {
    if (word === "") return;
    if (word.length > 3 && word.endsWith("...")) {
      out.push(word.slice(0, -3), "...");
    } else out.push(word);
    word = "";
  };
  for (const ch of syntax) {
    if (ch === " " || ch === "\t" || ch === "\n") flush();
    else if ("[]<>()|".includes(ch)) {
      flush();
      out.push(ch);
    } else word += ch;
  }
  flush();
  return out;
}

/** A word is an argument name if it has a lower-case letter; otherwise it is a literal token. */
function isToken(word: string): boolean {
  return !/[a-z]/.test(word);
}

/** Parses alternatives up to `close` (or the end); throws on unbalanced input. */
function parseAlts(words: string[], pos: { i: number }, close: string | null): Node[][] {
  const alts: Node[][] = [[]];
  while (pos.i < words.length) {
    const w = words[pos.i++];
    if (w === close) return alts;
    if (w === "|") alts.push([]);
    else if (w === "...") alts[alts.length - 1].push({ t: "more" });
    else if (w in CLOSERS) {
      const inner = parseAlts(words, pos, CLOSERS[w]);
      alts[alts.length - 1].push({ t: "group", open: w, alts: inner });
    } else if (w === "]" || w === ">" || w === ")") {
      throw new Error(`unbalanced '${w}'`);
    } else {
      alts[alts.length - 1].push({ t: "word", text: w, token: isToken(w) });
    }
  }
  if (close !== null) throw new Error(`missing '${close}'`);
  return alts;
}

/** Names of literal tokens that are not words. */
const PUNCTUATION_NAMES: Record<string, string> = {
  "*": "auto_id",
  "$": "new_id",
  "=": "equal",
  "~": "approximately",
  '""': "empty_string",
  "-": "minus",
  "+": "plus",
};

/** Conventional names for groups, keyed by their members' names joined with `_`. */
const GROUP_NAMES: Record<string, string> = {
  nx_xx: "condition",
  xx_nx: "condition",
  nx_xx_gt_lt: "condition",
  min_max: "where",
  gt_lt: "comparison",
  asc_desc: "order",
  m_km_ft_mi: "unit",
  left_right: "where",
  before_after: "where",
  async_sync: "async",
  sum_min_max: "aggregate",
  bylex_byscore: "sortby",
  "module-name_category_pattern": "filterby",
  byscore_bylex: "sortby",
  on_off: "enabled",
  yes_no: "mode",
  "seconds_milliseconds_unix-time-seconds_unix-time-milliseconds_keepttl": "expiration",
  "seconds_milliseconds_unix-time-seconds_unix-time-milliseconds_persist": "expiration",
};

const INTEGER_NAMES = new Set([
  "count",
  "cursor",
  "db",
  "offset",
  "index",
  "index1",
  "index2",
  "numkeys",
  "port",
  "milliseconds",
  "seconds",
  "ms",
  "client-id",
  "slot",
  "start-slot",
  "end-slot",
  "ttl",
  "limit",
  "rank",
  "version",
  "numreplicas",
  "protover",
  "increment",
  "decrement",
  "start",
  "stop",
  "end",
  "bits",
  "num-matches",
  "destination-db",
  "frequency",
  "weight",
  "len",
  "entries-read",
  "entries-added",
  "numlocal",
]);

const DOUBLE_NAMES = new Set([
  "latitude",
  "longitude",
  "radius",
  "width",
  "height",
  "score",
  "timeout",
]);

const KEY_NAMES = new Set([
  "key",
  "destination",
  "source",
  "src",
  "dst",
  "destkey",
  "sourcekey",
  "newkey",
]);

/** Infers an argument's type from its name. */
function typeOfName(name: string): DocArgType {
  if (KEY_NAMES.has(name) || /^key\d+$/.test(name)) return "key";
  if (name === "pattern") return "pattern";
  if (name.startsWith("unix-time")) return "unix-time";
  if (INTEGER_NAMES.has(name)) return "integer";
  if (DOUBLE_NAMES.has(name)) return "double";
  return "string";
}

function tokenName(token: string): string {
  return PUNCTUATION_NAMES[token] ?? (token.toLowerCase() || "token");
}

function groupName(members: DocArg[], fallback?: string): string {
  const joined = members.map((m) => m.name).join("_");
  return GROUP_NAMES[joined] ?? fallback ?? joined;
}

/** A structural signature used to recognise `x [x ...]` repetitions. */
function signature(a: DocArg): string {
  const inner = a.arguments ? `(${a.arguments.map(signature).join(" ")})` : "";
  return `${a.token ?? ""}:${a.name}:${a.type}${inner}`;
}

/** The signature of an argument without its token. */
function valueSignature(a: DocArg): string {
  return signature({ ...a, token: undefined });
}

/** Turns alternatives into one argument: a one-of, or a single sequence. */
function altsToArg(alts: Node[][], token?: string): DocArg[] {
  if (alts.length > 1) {
    const members = alts.map((alt) => seqToSingle(alt));
    const arg: DocArg = { name: groupName(members), type: "oneof", arguments: members };
    if (token !== undefined) arg.token = token;
    return [arg];
  }
  const seq = convertSeq(alts[0]);
  if (token !== undefined) {
    if (seq.length === 1 && seq[0].token === undefined) return [{ ...seq[0], token }];
    return [{ name: groupName(seq), type: "block", token, arguments: seq }];
  }
  return seq;
}

/** One alternative of a one-of: a single argument, or a block of several. */
function seqToSingle(nodes: Node[]): DocArg {
  const seq = convertSeq(nodes);
  if (seq.length === 1) return seq[0];
  return tokenBlock(seq) ?? { name: groupName(seq), type: "block", arguments: seq };
}

/**
 * `TOKEN a b` (a token followed only by plain arguments) is a block carrying
 * the token, as Redis documents `LIMIT offset count`.
 */
function tokenBlock(seq: DocArg[]): DocArg | null {
  if (seq.length < 2) return null;
  const first = seq[0];
  if (first.token === undefined || first.type === "pure-token" || first.arguments) return null;
  for (let i = 1; i < seq.length; i++) {
    const a = seq[i];
    if (a.token !== undefined || a.optional || a.arguments) return null;
  }
  const members = [{ ...first, token: undefined }, ...seq.slice(1)];
  return { name: groupName(members), type: "block", token: first.token, arguments: members };
}

/** Marks the end of `units` as repeated by `rep` (the contents of `[... ...]`), if it matches. */
function applyRepetition(units: DocArg[], rep: DocArg[]): boolean {
  const k = rep.length;
  if (k === 0 || units.length < k) return false;
  const tail = units.slice(units.length - k);
  const repSig = rep.map(signature).join(" ");
  const strip = (a: DocArg) => ({ ...a, optional: undefined, multiple: undefined });
  if (tail.map((a) => signature(strip(a))).join(" ") === repSig) {
    if (k === 1) {
      tail[0].multiple = true;
      if (rep[0].token !== undefined) tail[0].multipleToken = true;
    } else {
      units.splice(units.length - k, k, {
        name: groupName(tail),
        type: "block",
        multiple: true,
        arguments: tail,
      });
    }
    return true;
  }
  if (k === 1 && tail[0].token !== undefined && valueSignature(strip(tail[0])) === repSig) {
    tail[0].multiple = true;
    return true;
  }
  return false;
}

/** Converts a sequence of nodes to arguments. */
function convertSeq(nodes: Node[]): DocArg[] {
  let units: DocArg[] = [];
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i];
    if (n.t === "more") continue;
    if (n.t === "word") {
      if (!n.token) {
        units.push({ name: n.text, type: typeOfName(n.text) });
        continue;
      }
      const next = nodes[i + 1];
      if (next?.t === "word" && !next.token) {
        units.push({ name: next.text, type: typeOfName(next.text), token: n.text });
        i++;
      } else if (next?.t === "group" && next.open !== "[") {
        units.push(...altsToArg(next.alts, n.text));
        i++;
      } else {
        units.push({ name: tokenName(n.text), type: "pure-token", token: n.text });
      }
      continue;
    }
    // A group.
    const last = n.alts[n.alts.length - 1];
    if (n.open === "[" && last.length > 0 && last[last.length - 1].t === "more") {
      const rep = n.alts.length === 1
        ? convertSeq(last.slice(0, -1))
        : altsToArg([...n.alts.slice(0, -1), last.slice(0, -1)]);
      if (applyRepetition(units, rep)) continue;
      const folded = foldTokenRuns(units);
      if (applyRepetition(folded, rep)) {
        units = folded;
        continue;
      }
    }
    const args = altsToArg(n.alts);
    if (n.open === "[") {
      if (args.length === 1) {
        units.push({ ...args[0], optional: true });
      } else if (args.length > 1) {
        units.push({ ...optionalBlock(args), optional: true });
      }
    } else if (args.length === 1) units.push(args[0]);
    else if (args.length > 1) units.push({ name: groupName(args), type: "block", arguments: args });
  }
  return foldTokenRuns(units);
}

/**
 * The block for an optional group of several arguments: `[TO host port [FORCE]]`
 * and `[FULL [COUNT count]]` carry the leading token on the block itself.
 */
function optionalBlock(args: DocArg[]): DocArg {
  const first = args[0];
  if (first.token !== undefined && !first.optional && !first.multiple) {
    if (first.type === "pure-token") {
      return { name: first.name, type: "block", token: first.token, arguments: args.slice(1) };
    }
    if (first.type === "block") {
      const members = [...first.arguments!, ...args.slice(1)];
      return { name: groupName(members), type: "block", token: first.token, arguments: members };
    }
  }
  return tokenBlock(args) ?? { name: groupName(args), type: "block", arguments: args };
}

/**
 * Folds `TOKEN a b` (a token argument followed by plain required arguments)
 * into a block carrying the token, as in `GROUP group consumer`. A run
 * followed by a required untokened group stays flat (`BYBOX width height
 * <M | KM>`).
 */
function foldTokenRuns(units: DocArg[]): DocArg[] {
  const plain = (a: DocArg) =>
    a.token === undefined && !a.optional && !a.arguments && a.type !== "pure-token";
  const out: DocArg[] = [];
  for (let i = 0; i < units.length; i++) {
    const u = units[i];
    if (u.token !== undefined && u.type !== "pure-token" && !u.arguments && !u.optional) {
      let j = i + 1;
      while (j < units.length && plain(units[j])) j++;
      const after = units[j];
      const blocked = after !== undefined && after.token === undefined && !after.optional;
      if (j - i >= 2 && !blocked) {
        out.push(tokenBlock(units.slice(i, j))!);
        i = j - 1;
        continue;
      }
    }
    out.push(u);
  }
  return out;
}

/** Parses a syntax string into COMMAND DOCS arguments; throws on malformed notation. */
export function parseSyntax(syntax: string, skipWord?: string): DocArg[] {
  const words = lex(syntax);
  // Tolerate a syntax that repeats the (sub)command's own name.
  if (skipWord !== undefined && words.length > 0 && words[0].toLowerCase() === skipWord) {
    words.shift();
  }
  const alts = parseAlts(words, { i: 0 }, null);
  if (alts.length > 1) return altsToArg(alts);
  return convertSeq(alts[0]);
}

/**
 * Sets `keySpecIndex` on the key arguments: in document order, the n-th key
 * argument belongs to the n-th of `specCount` key specs (the last one takes
 * the rest), which is how Redis' commands order them (`SMOVE source
 * destination`).
 */
export function assignKeySpecIndex(args: DocArg[], specCount: number): void {
  let next = 0;
  const visit = (list: DocArg[]) => {
    for (const a of list) {
      if (a.type === "key") a.keySpecIndex = Math.min(next++, specCount - 1);
      if (a.arguments) visit(a.arguments);
    }
  };
  visit(args);
}

/** Writes one argument as COMMAND DOCS does. */
function writeArg(out: ReplyWriter, a: DocArg): void {
  const flags: string[] = [];
  if (a.optional) flags.push("optional");
  if (a.multiple) flags.push("multiple");
  if (a.multipleToken) flags.push("multiple_token");
  const n = 2 + (a.keySpecIndex !== undefined ? 1 : 0) + (a.token !== undefined ? 1 : 0) +
    (flags.length > 0 ? 1 : 0) + (a.arguments ? 1 : 0);
  out.map(n);
  out.bulkString("name");
  out.bulkString(a.name);
  out.bulkString("type");
  out.bulkString(a.type);
  if (a.keySpecIndex !== undefined) {
    out.bulkString("key_spec_index");
    out.integer(a.keySpecIndex);
  }
  if (a.token !== undefined) {
    out.bulkString("token");
    out.bulkString(a.token);
  }
  if (flags.length > 0) {
    out.bulkString("flags");
    out.set(flags.length);
    for (const f of flags) out.simple(f);
  }
  if (a.arguments) {
    out.bulkString("arguments");
    writeArgs(out, a.arguments);
  }
}

/** Writes an argument list (an array of argument maps). */
export function writeArgs(out: ReplyWriter, args: readonly DocArg[]): void {
  out.array(args.length);
  for (const a of args) writeArg(out, a);
}

/** Renders arguments back into the notation (for tests and diagnostics). */
export function renderSyntax(args: readonly DocArg[]): string {
  return args.map(renderArg).join(" ");
}

function renderArg(a: DocArg): string {
  let body: string;
  if (a.type === "pure-token") body = a.token!;
  else {
    if (a.type === "oneof") {
      const inner = a.arguments!.map(renderArg).join(" | ");
      body = a.optional && a.token === undefined && !a.multiple ? inner : `<${inner}>`;
    } else if (a.type === "block") body = renderSyntax(a.arguments!);
    else body = a.name;
    if (a.token !== undefined) body = `${a.token} ${body}`;
  }
  if (a.multiple) {
    const again = a.multipleToken || a.token === undefined ? body : body.slice(a.token.length + 1);
    body = `${body} [${again} ...]`;
  }
  return a.optional ? `[${body}]` : body;
}
