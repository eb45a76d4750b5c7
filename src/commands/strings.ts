/**
 * String commands: SET and its variants (SETNX, SETEX, PSETEX, GETSET, MSET,
 * MSETNX), GET and its variants (GETEX, GETDEL, MGET), APPEND, STRLEN,
 * GETRANGE / SUBSTR, SETRANGE, and the counters INCR, DECR, INCRBY, DECRBY,
 * INCRBYFLOAT — with Redis 7.0's option rules, errors, keyspace events and
 * dirty counts.
 *
 * GET, SET and INCR are the hot path of `redis-benchmark`: they decode the
 * key once, match options with `isWord`, and copy a stored value once.
 * 64-bit integer arithmetic stays exact (BigInt past 2^53); INCRBYFLOAT
 * computes in emulated x87 long double, as Redis does.
 *
 * @module
 */

import type { CommandSpec } from "./types.ts";
import type { Client } from "../server/client.ts";
import type { Entry } from "../keyspace/database.ts";
import { StringEncoding } from "../keyspace/database.ts";
import { bytesOf, isWord, latin1 } from "../protocol/latin1.ts";
import { INT64_MAX, INT64_MIN, intBytes, parseInt64 } from "../common/numbers.ts";
import { copyBytes } from "../common/bytes.ts";
import {
  addLongDouble,
  formatLongDoubleHuman,
  type LongDouble,
  parseLongDouble,
} from "../common/long_double.ts";
import { Errors, lookupTyped } from "./util.ts";
import { setExpireMillis } from "./expire.ts";

// Option flags of SET and GETEX (Redis' OBJ_SET_* / OBJ_* flags).
const NX = 1;
const XX = 2;
const GET = 4;
const KEEPTTL = 8;
const PERSIST = 16;
const EX = 32;
const PX = 64;
const EXAT = 128;
const PXAT = 256;
const ANY_EXPIRE = EX | PX | EXAT | PXAT;

/** Index of the expire-time argument found by the last `parseOptions` call. */
let optExpireArg = 0;

/**
 * Redis' parseExtendedStringArgumentsOrReply for SET (`forSet`) and GETEX,
 * starting at argument `start`. Returns the flags, or -1 after replying a
 * syntax error; the expire argument's index is left in `optExpireArg` (a
 * module variable keeps this allocation-free).
 */
function parseOptions(c: Client, args: Uint8Array[], start: number, forSet: boolean): number {
  let flags = 0;
  for (let j = start; j < args.length; j++) {
    const a = args[j];
    const hasNext = j < args.length - 1;
    if (forSet && isWord(a, "nx") && !(flags & XX)) flags |= NX;
    else if (forSet && isWord(a, "xx") && !(flags & NX)) flags |= XX;
    else if (forSet && isWord(a, "get")) flags |= GET;
    else if (forSet && isWord(a, "keepttl") && !(flags & (PERSIST | ANY_EXPIRE))) {
      flags |= KEEPTTL;
    } else if (!forSet && isWord(a, "persist") && !(flags & (KEEPTTL | ANY_EXPIRE))) {
      flags |= PERSIST;
    } else {
      const unit = a.length === 2
        ? (isWord(a, "ex") ? EX : isWord(a, "px") ? PX : 0)
        : a.length === 4
        ? (isWord(a, "exat") ? EXAT : isWord(a, "pxat") ? PXAT : 0)
        : 0;
      // A second EX is fine (it overrides), EX with PX is not.
      if (unit === 0 || !hasNext || (flags & (KEEPTTL | PERSIST | (ANY_EXPIRE & ~unit)))) {
        c.out.error(Errors.syntax);
        return -1;
      }
      flags |= unit;
      optExpireArg = ++j;
    }
  }
  return flags;
}

/** Absolute expiry for parsed `flags`, or null after replying an error. */
function optionExpire(
  c: Client,
  args: Uint8Array[],
  flags: number,
  name: string,
): number | bigint | null {
  return setExpireMillis(
    c,
    args[optExpireArg],
    (flags & (EX | EXAT)) !== 0,
    (flags & (EX | PX)) !== 0,
    name,
  );
}

/**
 * Redis' setGenericCommand: stores `value` under args[1] honouring NX / XX /
 * GET / KEEPTTL and an absolute expiry (`expireAt`, 0 for none). `okReply`
 * and `abortReply` write the replies of SETNX-style callers.
 */
function setGeneric(
  c: Client,
  flags: number,
  keyArg: Uint8Array,
  value: Uint8Array,
  expireAt: number | bigint,
  okReply: (c: Client) => void,
  abortReply: (c: Client) => void,
): void {
  const key = latin1(keyArg);
  const db = c.db;
  let found: boolean;
  if (flags & GET) {
    const old = lookupTyped(c, key, "string");
    if (old === null) return;
    c.out.bulk(old === undefined ? null : old.value as Uint8Array);
    found = old !== undefined;
  } else {
    found = flags & (NX | XX) ? db.get(key) !== undefined : false;
  }
  if ((flags & NX && found) || (flags & XX && !found)) {
    if (!(flags & GET)) abortReply(c);
    return;
  }
  db.set(key, "string", copyBytes(value), (flags & KEEPTTL) !== 0);
  const ks = c.server.keyspace;
  ks.dirty++;
  ks.notify(db, "$", "set", key);
  if (expireAt !== 0) {
    db.setExpire(key, expireAt);
    ks.notify(db, "g", "expire", key);
  }
  if (!(flags & GET)) okReply(c);
}

const replyOk = (c: Client) => c.out.ok();
const replyNull = (c: Client) => c.out.nullBulk();
const replyOne = (c: Client) => c.out.integer(1);
const replyZero = (c: Client) => c.out.integer(0);

/** Looks a key up for writing (no stats) expecting a string; null after WRONGTYPE. */
function writableString(c: Client, key: string): Entry | undefined | null {
  const e = c.db.get(key);
  if (e !== undefined && e.type !== "string") {
    c.out.error(Errors.wrongType);
    return null;
  }
  return e;
}

/** Redis' checkStringLength: false after replying when the result would be too big. */
function lengthAllowed(c: Client, total: number): boolean {
  if (total > c.server.config.protoMaxBulkLen) {
    c.out.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    return false;
  }
  return true;
}

/** Stores a computed string (counters): in place when the key exists, keeping its TTL. */
function storeResult(c: Client, key: string, e: Entry | undefined, bytes: Uint8Array, enc: number) {
  if (e !== undefined) {
    c.db.replaceValue(key, e, bytes, enc);
  } else {
    c.db.set(key, "string", bytes).enc = enc;
  }
}

/** INCR / DECR / INCRBY / DECRBY with exact 64-bit arithmetic. */
function incrDecr(c: Client, keyArg: Uint8Array, incr: number | bigint): void {
  const key = latin1(keyArg);
  const e = writableString(c, key);
  if (e === null) return;
  let cur: number | bigint = 0;
  if (e !== undefined) {
    const v = parseInt64(e.value as Uint8Array);
    if (v === null) return c.out.error(Errors.notInteger);
    cur = v;
  }
  let result: number | bigint;
  if (typeof cur === "number" && typeof incr === "number" && Number.isSafeInteger(cur + incr)) {
    result = cur + incr;
  } else {
    const big = BigInt(cur) + BigInt(incr);
    if (big > INT64_MAX || big < INT64_MIN) return c.out.error(Errors.overflow);
    result = Number.isSafeInteger(Number(big)) ? Number(big) : big;
  }
  storeResult(c, key, e, intBytes(result), StringEncoding.Auto);
  const ks = c.server.keyspace;
  ks.notify(c.db, "$", "incrby", key);
  ks.dirty++;
  c.out.integer(result);
}

const LD_ZERO: LongDouble = { neg: false, mant: 0n, exp: 0, inf: false };

/** Replies GETRANGE's slice of `v` for C-style `start` / `end` (negative from the end). */
function replyRange(c: Client, v: Uint8Array, start: number, end: number): void {
  const len = v.length;
  if (start < 0 && end < 0 && start > end) return c.out.bulk(v.subarray(0, 0));
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len === 0) return c.out.bulk(v.subarray(0, 0));
  c.out.bulk(v.subarray(start, end + 1));
}

function getrange(c: Client, args: Uint8Array[]): void {
  const start = parseInt64(args[2]);
  if (start === null) return c.out.error(Errors.notInteger);
  const end = parseInt64(args[3]);
  if (end === null) return c.out.error(Errors.notInteger);
  const e = lookupTyped(c, latin1(args[1]), "string");
  if (e === null) return;
  // Indexes beyond 2^53 only matter by sign and size: Number is enough.
  const v = e === undefined ? new Uint8Array(0) : e.value as Uint8Array;
  replyRange(c, v, Number(start), Number(end));
}

/** Grows `e`'s string by `add`, into spare capacity this entry owns when there is room. */
function appendBytes(e: Entry, add: Uint8Array): Uint8Array {
  const old = e.value as Uint8Array;
  const need = old.length + add.length;
  if (e.enc === StringEncoding.Growable && old.byteOffset + need <= old.buffer.byteLength) {
    // Bytes past the old end are seen by no one else; the old view stays valid.
    const grown = new Uint8Array(old.buffer, old.byteOffset, need);
    grown.set(add, old.length);
    return grown;
  }
  // sds' greedy growth: double below 1 MB, then 1 MB more.
  const cap = need < 1048576 ? need * 2 : need + 1048576;
  const buf = new Uint8Array(cap);
  buf.set(old);
  buf.set(add, old.length);
  return buf.subarray(0, need);
}

function msetGeneric(c: Client, args: Uint8Array[], nx: boolean): void {
  if (args.length % 2 === 0) {
    return c.out.error(`ERR wrong number of arguments for '${nx ? "msetnx" : "mset"}' command`);
  }
  const db = c.db;
  if (nx) {
    for (let j = 1; j < args.length; j += 2) {
      if (db.get(latin1(args[j])) !== undefined) return c.out.integer(0);
    }
  }
  const ks = c.server.keyspace;
  for (let j = 1; j < args.length; j += 2) {
    const key = latin1(args[j]);
    db.set(key, "string", copyBytes(args[j + 1]));
    ks.notify(db, "$", "set", key);
  }
  ks.dirty += (args.length - 1) / 2;
  if (nx) c.out.integer(1);
  else c.out.ok();
}

function stringSpec(spec: Omit<CommandSpec, "group">): CommandSpec {
  return { group: "string", ...spec };
}

const RANGE_COMPLEXITY =
  "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.";

/** String command declarations. */
export const stringCommands: CommandSpec[] = [
  stringSpec({
    name: "get",
    arity: 2,
    flags: ["readonly", "fast"],
    keys: [1, 1, 1],
    summary: "Get the value of a key",
    since: "1.0.0",
    complexity: "O(1)",
    syntax: "key",
    handler: (c, args) => {
      const e = lookupTyped(c, latin1(args[1]), "string");
      if (e === null) return;
      c.out.bulk(e === undefined ? null : e.value as Uint8Array);
    },
  }),
  stringSpec({
    name: "set",
    arity: -3,
    flags: ["write", "denyoom"],
    keys: [1, 1, 1],
    summary: "Set the string value of a key",
    since: "1.0.0",
    complexity: "O(1)",
    syntax:
      "key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]",
    handler: (c, args) => {
      if (args.length === 3) {
        // The benchmark path: no options.
        const key = latin1(args[1]);
        const db = c.db;
        db.set(key, "string", copyBytes(args[2]));
        const ks = c.server.keyspace;
        ks.dirty++;
        ks.notify(db, "$", "set", key);
        return c.out.ok();
      }
      const flags = parseOptions(c, args, 3, true);
      if (flags < 0) return;
      let expireAt: number | bigint = 0;
      if (flags & ANY_EXPIRE) {
        const at = optionExpire(c, args, flags, "set");
        if (at === null) return;
        expireAt = at;
      }
      setGeneric(c, flags, args[1], args[2], expireAt, replyOk, replyNull);
    },
  }),
  stringSpec({
    name: "setnx",
    arity: 3,
    flags: ["write", "denyoom", "fast"],
    keys: [1, 1, 1],
    summary: "Set the value of a key, only if the key does not exist",
    since: "1.0.0",
    complexity: "O(1)",
    syntax: "key value",
    handler: (c, args) => setGeneric(c, NX, args[1], args[2], 0, replyOne, replyZero),
  }),
  stringSpec({
    name: "setex",
    arity: 4,
    flags: ["write", "denyoom"],
    keys: [1, 1, 1],
    summary: "Set the value and expiration of a key",
    since: "2.0.0",
    complexity: "O(1)",
    syntax: "key seconds value",
    handler: (c, args) => {
      const at = setExpireMillis(c, args[2], true, true, "setex");
      if (at !== null) setGeneric(c, 0, args[1], args[3], at, replyOk, replyNull);
    },
  }),
  stringSpec({
    name: "psetex",
    arity: 4,
    flags: ["write", "denyoom"],
    keys: [1, 1, 1],
    summary: "Set the value and expiration in milliseconds of a key",
    since: "2.6.0",
    complexity: "O(1)",
    syntax: "key milliseconds value",
    handler: (c, args) => {
      const at = setExpireMillis(c, args[2], false, true, "psetex");
      if (at !== null) setGeneric(c, 0, args[1], args[3], at, replyOk, replyNull);
    },
  }),
  stringSpec({
    name: "getset",
    arity: 3,
    flags: ["write", "denyoom", "fast"],
    keys: [1, 1, 1],
    summary: "Set the string value of a key and return its old value",
    since: "1.0.0",
    complexity: "O(1)",
    syntax: "key value",
    handler: (c, args) => setGeneric(c, GET, args[1], args[2], 0, replyOk, replyNull),
  }),
  stringSpec({
    name: "getdel",
    arity: 2,
    flags: ["write", "fast"],
    keys: [1, 1, 1],
    summary: "Get the value of a key and delete the key",
    since: "6.2.0",
    complexity: "O(1)",
    syntax: "key",
    handler: (c, args) => {
      const key = latin1(args[1]);
      const e = lookupTyped(c, key, "string");
      if (e === null) return;
      if (e === undefined) return c.out.nullBulk();
      c.out.bulk(e.value as Uint8Array);
      c.db.delete(key);
      const ks = c.server.keyspace;
      ks.notify(c.db, "g", "del", key);
      ks.dirty++;
    },
  }),
  stringSpec({
    name: "getex",
    arity: -2,
    flags: ["write", "fast"],
    keys: [1, 1, 1],
    summary: "Get the value of a key and optionally set its expiration",
    since: "6.2.0",
    complexity: "O(1)",
    syntax:
      "key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST]",
    handler: (c, args) => {
      const flags = parseOptions(c, args, 2, false);
      if (flags < 0) return;
      const key = latin1(args[1]);
      const e = lookupTyped(c, key, "string");
      if (e === null) return;
      if (e === undefined) return c.out.nullBulk();
      let at: number | bigint = 0;
      if (flags & ANY_EXPIRE) {
        const ms = optionExpire(c, args, flags, "getex");
        if (ms === null) return;
        at = ms;
      }
      c.out.bulk(e.value as Uint8Array);
      const db = c.db;
      const ks = c.server.keyspace;
      if (flags & (EXAT | PXAT) && at <= db.now()) {
        db.delete(key);
        ks.notify(db, "g", "del", key);
        ks.dirty++;
      } else if (at !== 0) {
        db.setExpire(key, at);
        ks.notify(db, "g", "expire", key);
        ks.dirty++;
      } else if (flags & PERSIST && e.expireAt !== 0) {
        db.setExpire(key, 0);
        ks.notify(db, "g", "persist", key);
        ks.dirty++;
      }
    },
  }),
  stringSpec({
    name: "mset",
    arity: -3,
    flags: ["write", "denyoom"],
    keys: [1, -1, 2],
    summary: "Set multiple keys to multiple values",
    since: "1.0.1",
    complexity: "O(N) where N is the number of keys to set.",
    syntax: "key value [key value ...]",
    tips: ["request_policy:multi_shard", "response_policy:all_succeeded"],
    handler: (c, args) => msetGeneric(c, args, false),
  }),
  stringSpec({
    name: "msetnx",
    arity: -3,
    flags: ["write", "denyoom"],
    keys: [1, -1, 2],
    summary: "Set multiple keys to multiple values, only if none of the keys exist",
    since: "1.0.1",
    complexity: "O(N) where N is the number of keys to set.",
    syntax: "key value [key value ...]",
    tips: ["request_policy:multi_shard", "response_policy:agg_min"],
    handler: (c, args) => msetGeneric(c, args, true),
  }),
  stringSpec({
    name: "mget",
    arity: -2,
    flags: ["readonly", "fast"],
    keys: [1, -1, 1],
    summary: "Get the values of all the given keys",
    since: "1.0.0",
    complexity: "O(N) where N is the number of keys to retrieve.",
    syntax: "key [key ...]",
    tips: ["request_policy:multi_shard"],
    handler: (c, args) => {
      const ks = c.server.keyspace;
      const out = c.out;
      out.array(args.length - 1);
      for (let j = 1; j < args.length; j++) {
        const e = ks.lookupRead(c.db, latin1(args[j]));
        out.bulk(e !== undefined && e.type === "string" ? e.value as Uint8Array : null);
      }
    },
  }),
  stringSpec({
    name: "append",
    arity: 3,
    flags: ["write", "denyoom", "fast"],
    keys: [1, 1, 1],
    summary: "Append a value to a key",
    since: "2.0.0",
    complexity:
      "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.",
    syntax: "key value",
    handler: (c, args) => {
      const key = latin1(args[1]);
      const e = writableString(c, key);
      if (e === null) return;
      const add = args[2];
      let len: number;
      if (e === undefined) {
        c.db.set(key, "string", copyBytes(add));
        len = add.length;
      } else {
        len = (e.value as Uint8Array).length + add.length;
        if (!lengthAllowed(c, len)) return;
        c.db.replaceValue(key, e, appendBytes(e, add), StringEncoding.Growable);
      }
      const ks = c.server.keyspace;
      ks.notify(c.db, "$", "append", key);
      ks.dirty++;
      c.out.integer(len);
    },
  }),
  stringSpec({
    name: "strlen",
    arity: 2,
    flags: ["readonly", "fast"],
    keys: [1, 1, 1],
    summary: "Get the length of the value stored in a key",
    since: "2.2.0",
    complexity: "O(1)",
    syntax: "key",
    handler: (c, args) => {
      const e = lookupTyped(c, latin1(args[1]), "string");
      if (e === null) return;
      c.out.integer(e === undefined ? 0 : (e.value as Uint8Array).length);
    },
  }),
  stringSpec({
    name: "getrange",
    arity: 4,
    flags: ["readonly"],
    keys: [1, 1, 1],
    summary: "Get a substring of the string stored at a key",
    since: "2.4.0",
    complexity: RANGE_COMPLEXITY,
    syntax: "key start end",
    handler: getrange,
  }),
  stringSpec({
    name: "substr",
    arity: 4,
    flags: ["readonly"],
    keys: [1, 1, 1],
    summary: "Get a substring of the string stored at a key",
    since: "1.0.0",
    complexity: RANGE_COMPLEXITY,
    syntax: "key start end",
    handler: getrange,
  }),
  stringSpec({
    name: "setrange",
    arity: 4,
    flags: ["write", "denyoom"],
    keys: [1, 1, 1],
    summary: "Overwrite part of a string at key starting at the specified offset",
    since: "2.2.0",
    complexity:
      "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.",
    syntax: "key offset value",
    handler: (c, args) => {
      const off = parseInt64(args[2]);
      if (off === null) return c.out.error(Errors.notInteger);
      if (off < 0) return c.out.error("ERR offset is out of range");
      const key = latin1(args[1]);
      const e = writableString(c, key);
      if (e === null) return;
      const value = args[3];
      const old = e === undefined ? null : e.value as Uint8Array;
      if (value.length === 0) return c.out.integer(old === null ? 0 : old.length);
      const end = Number(off) + value.length;
      if (!lengthAllowed(c, end)) return;
      // A fresh buffer: stored bytes are never changed under a reader.
      const buf = new Uint8Array(old === null ? end : Math.max(end, old.length));
      if (old !== null) buf.set(old);
      buf.set(value, Number(off));
      if (e === undefined) c.db.set(key, "string", buf).enc = StringEncoding.Raw;
      else c.db.replaceValue(key, e, buf, StringEncoding.Raw);
      const ks = c.server.keyspace;
      ks.notify(c.db, "$", "setrange", key);
      ks.dirty++;
      c.out.integer(buf.length);
    },
  }),
  stringSpec({
    name: "incr",
    arity: 2,
    flags: ["write", "denyoom", "fast"],
    keys: [1, 1, 1],
    summary: "Increment the integer value of a key by one",
    since: "1.0.0",
    complexity: "O(1)",
    syntax: "key",
    handler: (c, args) => incrDecr(c, args[1], 1),
  }),
  stringSpec({
    name: "decr",
    arity: 2,
    flags: ["write", "denyoom", "fast"],
    keys: [1, 1, 1],
    summary: "Decrement the integer value of a key by one",
    since: "1.0.0",
    complexity: "O(1)",
    syntax: "key",
    handler: (c, args) => incrDecr(c, args[1], -1),
  }),
  stringSpec({
    name: "incrby",
    arity: 3,
    flags: ["write", "denyoom", "fast"],
    keys: [1, 1, 1],
    summary: "Increment the integer value of a key by the given amount",
    since: "1.0.0",
    complexity: "O(1)",
    syntax: "key increment",
    handler: (c, args) => {
      const incr = parseInt64(args[2]);
      if (incr === null) return c.out.error(Errors.notInteger);
      incrDecr(c, args[1], incr);
    },
  }),
  stringSpec({
    name: "decrby",
    arity: 3,
    flags: ["write", "denyoom", "fast"],
    keys: [1, 1, 1],
    summary: "Decrement the integer value of a key by the given number",
    since: "1.0.0",
    complexity: "O(1)",
    syntax: "key decrement",
    handler: (c, args) => {
      const decr = parseInt64(args[2]);
      if (decr === null) return c.out.error(Errors.notInteger);
      if (decr === INT64_MIN) return c.out.error("ERR decrement would overflow");
      incrDecr(c, args[1], -decr);
    },
  }),
  stringSpec({
    name: "incrbyfloat",
    arity: 3,
    flags: ["write", "denyoom", "fast"],
    keys: [1, 1, 1],
    summary: "Increment the float value of a key by the given amount",
    since: "2.6.0",
    complexity: "O(1)",
    syntax: "key increment",
    handler: (c, args) => {
      const key = latin1(args[1]);
      const e = writableString(c, key);
      if (e === null) return;
      const cur = e === undefined ? LD_ZERO : parseLongDouble(e.value as Uint8Array);
      const incr = parseLongDouble(args[2]);
      if (cur === null || incr === null) return c.out.error(Errors.notFloat);
      const sum = addLongDouble(cur, incr);
      if (sum.inf) return c.out.error("ERR increment would produce NaN or Infinity");
      const bytes = bytesOf(formatLongDoubleHuman(sum));
      storeResult(c, key, e, bytes, StringEncoding.Plain);
      const ks = c.server.keyspace;
      ks.notify(c.db, "$", "incrbyfloat", key);
      ks.dirty++;
      c.out.bulk(bytes);
    },
  }),
];
