/**
 * Expiry commands: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (NX / XX / GT / LT),
 * TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST; plus the expire-time argument
 * rules SET, SETEX, PSETEX and GETEX share.
 *
 * Times are 64-bit millisecond counts in Redis. They stay numbers while
 * they are safe integers (up to 2^53 ms, the year 287396) and become
 * BigInt beyond, both when checking arguments for overflow and when stored
 * (`Entry.expireExact`), so PEXPIRETIME reads back exactly what was set.
 *
 * A TTL in the past deletes the key at once: that is a `del` event, as in
 * Redis, while keys whose TTL runs out later are `expired`.
 *
 * @module
 */

import type { CommandSpec } from "./types.ts";
import type { Client } from "../server/client.ts";
import { isWord, latin1 } from "../protocol/latin1.ts";
import { INT64_MAX, INT64_MIN, parseInt64 } from "../common/numbers.ts";
import { expireTime } from "../keyspace/database.ts";
import { Errors } from "./util.ts";

/** Largest seconds value whose milliseconds fit in int64 (LLONG_MAX / 1000). */
const MAX_SECONDS = 9223372036854775n;

/** Replies Redis' "invalid expire time" error for command `name`. */
function invalidExpire(c: Client, name: string): null {
  c.out.error(`ERR invalid expire time in '${name}' command`);
  return null;
}

/** A time as a number when exact, else as a bigint. */
function exact(big: bigint): number | bigint {
  const n = Number(big);
  return Number.isSafeInteger(n) ? n : big;
}

/**
 * Redis' getExpireMillisecondsOrReply (SET EX/PX/EXAT/PXAT, SETEX, PSETEX,
 * GETEX): the time must be positive; relative times are added to now.
 * Returns the absolute time in ms, or null after replying an error.
 */
export function setExpireMillis(
  c: Client,
  arg: Uint8Array,
  seconds: boolean,
  relative: boolean,
  name: string,
): number | bigint | null {
  const v = parseInt64(arg);
  if (v === null) {
    c.out.error(Errors.notInteger);
    return null;
  }
  if (v <= 0) return invalidExpire(c, name);
  const base = relative ? c.db.now() : 0;
  if (typeof v === "number" && v < 9e12) {
    return (seconds ? v * 1000 : v) + base;
  }
  const big = BigInt(v);
  if (seconds && big > MAX_SECONDS) return invalidExpire(c, name);
  const ms = (seconds ? big * 1000n : big) + BigInt(base);
  if (ms > INT64_MAX) return invalidExpire(c, name);
  return exact(ms);
}

/**
 * Redis' expireGenericCommand arithmetic: `when` (seconds or ms, may be
 * negative) plus `base`; null when it overflows int64.
 */
function expireWhen(v: number | bigint, seconds: boolean, base: number): number | bigint | null {
  if (typeof v === "number" && Math.abs(v) < 9e12) return (seconds ? v * 1000 : v) + base;
  let big = BigInt(v);
  if (seconds) {
    if (big > MAX_SECONDS || big < -MAX_SECONDS) return null;
    big *= 1000n;
  }
  if (big > INT64_MAX - BigInt(base)) return null;
  big += BigInt(base);
  return exact(big < INT64_MIN ? INT64_MIN : big);
}

const EXPIRE_NX = 1;
const EXPIRE_XX = 2;
const EXPIRE_GT = 4;
const EXPIRE_LT = 8;

/** Parses NX / XX / GT / LT from argument 3 on; -1 after replying an error. */
function parseExpireFlags(c: Client, args: Uint8Array[]): number {
  let flags = 0;
  for (let j = 3; j < args.length; j++) {
    const a = args[j];
    if (isWord(a, "nx")) flags |= EXPIRE_NX;
    else if (isWord(a, "xx")) flags |= EXPIRE_XX;
    else if (isWord(a, "gt")) flags |= EXPIRE_GT;
    else if (isWord(a, "lt")) flags |= EXPIRE_LT;
    else {
      // Redis prints the option as a C string: up to the first NUL.
      const s = latin1(a);
      const nul = s.indexOf("\0");
      c.out.error(`ERR Unsupported option ${nul < 0 ? s : s.slice(0, nul)}`);
      return -1;
    }
  }
  if ((flags & EXPIRE_NX) && (flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT))) {
    c.out.error("ERR NX and XX, GT or LT options at the same time are not compatible");
    return -1;
  }
  if ((flags & EXPIRE_GT) && (flags & EXPIRE_LT)) {
    c.out.error("ERR GT and LT options at the same time are not compatible");
    return -1;
  }
  return flags;
}

/** EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT. */
function expireGeneric(
  c: Client,
  args: Uint8Array[],
  seconds: boolean,
  relative: boolean,
  name: string,
): void {
  const flags = parseExpireFlags(c, args);
  if (flags < 0) return;
  const v = parseInt64(args[2]);
  if (v === null) return c.out.error(Errors.notInteger);
  const db = c.db;
  const now = db.now();
  const when = expireWhen(v, seconds, relative ? now : 0);
  if (when === null) {
    invalidExpire(c, name);
    return;
  }
  const key = latin1(args[1]);
  const e = db.get(key);
  if (e === undefined) return c.out.integer(0);
  if (flags !== 0) {
    const current = e.expireAt === 0 ? -1 : expireTime(e);
    if ((flags & EXPIRE_NX) && current !== -1) return c.out.integer(0);
    if ((flags & EXPIRE_XX) && current === -1) return c.out.integer(0);
    // No TTL counts as infinite: GT always fails, LT always succeeds.
    if ((flags & EXPIRE_GT) && (current === -1 || when <= current)) return c.out.integer(0);
    if ((flags & EXPIRE_LT) && current !== -1 && when >= current) return c.out.integer(0);
  }
  const ks = c.server.keyspace;
  if (when <= now) {
    db.delete(key);
    ks.dirty++;
    ks.notify(db, "g", "del", key);
  } else {
    db.setExpire(key, when);
    ks.dirty++;
    ks.notify(db, "g", "expire", key);
  }
  c.out.integer(1);
}

/** TTL / PTTL / EXPIRETIME / PEXPIRETIME. */
function ttlGeneric(c: Client, args: Uint8Array[], ms: boolean, absolute: boolean): void {
  const e = c.server.keyspace.lookupRead(c.db, latin1(args[1]), false);
  if (e === undefined) return c.out.integer(-2);
  if (e.expireAt === 0) return c.out.integer(-1);
  const at = expireTime(e);
  if (typeof at === "bigint") {
    let t = absolute ? at : at - BigInt(c.db.now());
    if (t < 0n) t = 0n;
    return c.out.integer(ms ? t : (t + 500n) / 1000n);
  }
  let t = absolute ? at : at - c.db.now();
  if (t < 0) t = 0;
  c.out.integer(ms ? t : Math.floor((t + 500) / 1000));
}

function expireSpec(
  name: string,
  summary: string,
  since: string,
  syntax: string,
  seconds: boolean,
  relative: boolean,
): CommandSpec {
  return {
    name,
    arity: -3,
    flags: ["write", "fast"],
    keys: [1, 1, 1],
    group: "generic",
    summary,
    since,
    complexity: "O(1)",
    syntax,
    handler: (c, args) => expireGeneric(c, args, seconds, relative, name),
  };
}

function ttlSpec(
  name: string,
  summary: string,
  since: string,
  ms: boolean,
  absolute: boolean,
): CommandSpec {
  return {
    name,
    arity: 2,
    flags: ["readonly", "fast"],
    keys: [1, 1, 1],
    group: "generic",
    summary,
    since,
    complexity: "O(1)",
    syntax: "key",
    tips: absolute ? undefined : ["nondeterministic_output"],
    handler: (c, args) => ttlGeneric(c, args, ms, absolute),
  };
}

/** Expiry command declarations. */
export const expireCommands: CommandSpec[] = [
  expireSpec(
    "expire",
    "Set a key's time to live in seconds",
    "1.0.0",
    "key seconds [NX | XX | GT | LT]",
    true,
    true,
  ),
  expireSpec(
    "pexpire",
    "Set a key's time to live in milliseconds",
    "2.6.0",
    "key milliseconds [NX | XX | GT | LT]",
    false,
    true,
  ),
  expireSpec(
    "expireat",
    "Set the expiration for a key as a UNIX timestamp",
    "1.2.0",
    "key unix-time-seconds [NX | XX | GT | LT]",
    true,
    false,
  ),
  expireSpec(
    "pexpireat",
    "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
    "2.6.0",
    "key unix-time-milliseconds [NX | XX | GT | LT]",
    false,
    false,
  ),
  ttlSpec("ttl", "Get the time to live for a key in seconds", "1.0.0", false, false),
  ttlSpec("pttl", "Get the time to live for a key in milliseconds", "2.6.0", true, false),
  ttlSpec("expiretime", "Get the expiration Unix timestamp for a key", "7.0.0", false, true),
  ttlSpec(
    "pexpiretime",
    "Get the expiration Unix timestamp for a key in milliseconds",
    "7.0.0",
    true,
    true,
  ),
  {
    name: "persist",
    arity: 2,
    flags: ["write", "fast"],
    keys: [1, 1, 1],
    group: "generic",
    summary: "Remove the expiration from a key",
    since: "2.2.0",
    complexity: "O(1)",
    syntax: "key",
    handler: (c, args) => {
      const key = latin1(args[1]);
      const db = c.db;
      const e = db.get(key);
      if (e === undefined || e.expireAt === 0) return c.out.integer(0);
      db.setExpire(key, 0);
      const ks = c.server.keyspace;
      ks.dirty++;
      ks.notify(db, "g", "persist", key);
      c.out.integer(1);
    },
  },
];
