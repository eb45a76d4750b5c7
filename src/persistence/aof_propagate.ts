/**
 * What Redis 7.0 writes to the AOF (and to replicas) for a command that has
 * just run and changed the dataset: commands carrying a relative expiry, or
 * whose effect depends on the moment they ran, are rewritten to an absolute,
 * replayable form, as `rewriteClientCommandVector` does in `t_string.c` and
 * `expire.c`:
 *
 * - `SET k v ... EX|PX|EXAT|PXAT t ...` → `SET k v PXAT <ms>` (NX/XX/GET dropped);
 *   `SET ... GET` without expiry → the same command without `GET`.
 * - `SETEX k s v` / `PSETEX k ms v` → `SET k v PXAT <ms>`.
 * - `EXPIRE|PEXPIRE|EXPIREAT k t [NX|XX|GT|LT]` → `PEXPIREAT k <ms> [flag]`
 *   (name and time replaced, other arguments kept); `PEXPIREAT` stays as sent.
 *   A time already past deletes the key: `DEL k` (`UNLINK k` with `lazyfree-lazy-expire`).
 * - `GETEX k EX|PX|EXAT|PXAT t` → `PEXPIREAT k <ms>`, or `DEL`/`UNLINK` for a past
 *   EXAT/PXAT; `GETEX k PERSIST` → `PERSIST k`; plain `GETEX k` → nothing.
 * - `GETSET k v` → `SET k v`; `GETDEL k` → `DEL k` (`UNLINK` with `lazyfree-lazy-user-del`).
 * - `INCRBYFLOAT k n` → `SET k <new value> KEEPTTL` (see `incrbyfloatForm`).
 *
 * Verified against redis-server 7.0.15's incremental AOF files. Everything else
 * is propagated unchanged. Redis' shared objects are upper case (`SET`, `PXAT`,
 * `PEXPIREAT`, `DEL`), while arguments kept from the client keep their case.
 *
 * @module
 */

import { bytesOf } from "../protocol/latin1.ts";
import { parseInt64 } from "../common/numbers.ts";

const SET = bytesOf("SET");
const PXAT = bytesOf("PXAT");
const PEXPIREAT = bytesOf("PEXPIREAT");
const DEL = bytesOf("DEL");
const UNLINK = bytesOf("UNLINK");
const PERSIST = bytesOf("PERSIST");
const KEEPTTL = bytesOf("KEEPTTL");

/** The moment and settings a command ran with. */
export interface PropagateContext {
  /** The command's clock (ms since the epoch): the same value it stored as the expiry. */
  nowMs: number;
  /** `lazyfree-lazy-expire`: a key deleted by a past expiry goes out as UNLINK. */
  lazyExpire?: boolean;
  /** `lazyfree-lazy-user-del`: GETDEL goes out as UNLINK. */
  lazyUserDel?: boolean;
  /**
   * Loading or replica (`checkAlreadyExpired` is false there): a past expiry is
   * set, not turned into a delete.
   */
  neverAlreadyExpired?: boolean;
}

/** Lower-case ASCII comparison of an argument with a lower-case word. */
function is(a: Uint8Array, lower: string): boolean {
  if (a.length !== lower.length) return false;
  for (let i = 0; i < a.length; i++) {
    let c = a[i];
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** The commands `propagatedForm` rewrites. */
const REWRITTEN = [
  "set",
  "setex",
  "psetex",
  "expire",
  "pexpire",
  "expireat",
  "pexpireat",
  "getex",
  "getset",
  "getdel",
];
/** `REWRITTEN` indexed by name length. */
const REWRITTEN_BY_LENGTH: (string[] | undefined)[] = [];
for (const name of REWRITTEN) (REWRITTEN_BY_LENGTH[name.length] ??= []).push(name);

/**
 * The lower-case name of command name `a` when `propagatedForm` rewrites
 * that command, else null. Allocation-free: it runs for every logged write.
 */
function rewrittenName(a: Uint8Array): string | null {
  const names = REWRITTEN_BY_LENGTH[a.length];
  if (names === undefined) return null;
  for (let i = 0; i < names.length; i++) if (is(a, names[i])) return names[i];
  return null;
}

type Unit = "s" | "ms";

/** `t` in `unit`, made absolute in ms (`relative`: added to now). Exact beyond 2^53. */
function absoluteMs(t: Uint8Array, unit: Unit, relative: boolean, nowMs: number): bigint {
  const v = parseInt64(t);
  if (v === null) throw new RangeError("aof_propagate: expiry is not an integer");
  let ms = BigInt(v);
  if (unit === "s") ms *= 1000n;
  if (relative) ms += BigInt(nowMs);
  return ms;
}

function intArg(v: bigint): Uint8Array {
  return bytesOf(v.toString());
}

function alreadyExpired(when: bigint, ctx: PropagateContext): boolean {
  return !ctx.neverAlreadyExpired && when <= BigInt(ctx.nowMs);
}

/** The expiry option of SET / GETEX arguments from `from` on, or null. */
interface ExpiryOption {
  unit: Unit;
  relative: boolean;
  value: Uint8Array;
}

function findExpiry(args: readonly Uint8Array[], from: number): ExpiryOption | null {
  for (let j = from; j < args.length - 1; j++) {
    const a = args[j];
    if (is(a, "ex")) return { unit: "s", relative: true, value: args[j + 1] };
    if (is(a, "px")) return { unit: "ms", relative: true, value: args[j + 1] };
    if (is(a, "exat")) return { unit: "s", relative: false, value: args[j + 1] };
    if (is(a, "pxat")) return { unit: "ms", relative: false, value: args[j + 1] };
  }
  return null;
}

/**
 * The arguments to write to the AOF for `args`, a command that has just run
 * successfully and changed the dataset, or null when nothing is to be written
 * (plain `GETEX k`). Commands Redis propagates as sent come back unchanged
 * (the same array). Callers must not call this for commands that changed
 * nothing (SET NX on an existing key, GETEX PERSIST on a key without TTL, ...):
 * Redis propagates only when the dataset changed.
 */
export function propagatedForm(
  args: readonly Uint8Array[],
  ctx: PropagateContext,
): readonly Uint8Array[] | null {
  if (args.length === 0) return args;
  const name = rewrittenName(args[0]);
  switch (name) {
    case "set":
      return setForm(args, ctx);
    case "setex":
    case "psetex": {
      const unit: Unit = args[0].length === 5 ? "s" : "ms";
      const when = absoluteMs(args[2], unit, true, ctx.nowMs);
      return [SET, args[1], args[3], PXAT, intArg(when)];
    }
    case "expire":
    case "pexpire":
    case "expireat":
    case "pexpireat":
      return expireForm(name, args, ctx);
    case "getex":
      return getexForm(args, ctx);
    case "getset":
      return [SET, ...args.slice(1)];
    case "getdel":
      return [ctx.lazyUserDel ? UNLINK : DEL, args[1]];
    default:
      return args;
  }
}

function setForm(args: readonly Uint8Array[], ctx: PropagateContext): readonly Uint8Array[] {
  const exp = findExpiry(args, 3);
  if (exp) {
    const when = absoluteMs(exp.value, exp.unit, exp.relative, ctx.nowMs);
    return [SET, args[1], args[2], PXAT, intArg(when)];
  }
  let hasGet = false;
  for (let j = 3; j < args.length; j++) if (is(args[j], "get")) hasGet = true;
  if (!hasGet) return args;
  return args.filter((a, j) => j < 3 || !is(a, "get"));
}

function expireForm(
  name: string,
  args: readonly Uint8Array[],
  ctx: PropagateContext,
): readonly Uint8Array[] {
  const unit: Unit = name === "expire" || name === "expireat" ? "s" : "ms";
  const relative = name === "expire" || name === "pexpire";
  const when = absoluteMs(args[2], unit, relative, ctx.nowMs);
  if (alreadyExpired(when, ctx)) return [ctx.lazyExpire ? UNLINK : DEL, args[1]];
  if (name === "pexpireat") return args;
  const out = args.slice();
  out[0] = PEXPIREAT;
  out[2] = intArg(when);
  return out;
}

function getexForm(
  args: readonly Uint8Array[],
  ctx: PropagateContext,
): readonly Uint8Array[] | null {
  const exp = findExpiry(args, 2);
  if (exp) {
    const when = absoluteMs(exp.value, exp.unit, exp.relative, ctx.nowMs);
    if (!exp.relative && alreadyExpired(when, ctx)) return [ctx.lazyExpire ? UNLINK : DEL, args[1]];
    return [PEXPIREAT, args[1], intArg(when)];
  }
  for (let j = 2; j < args.length; j++) if (is(args[j], "persist")) return [PERSIST, args[1]];
  return null;
}

/** INCRBYFLOAT is written as `SET k <new value> KEEPTTL`, so float formatting never diverges. */
export function incrbyfloatForm(key: Uint8Array, newValue: Uint8Array): Uint8Array[] {
  return [SET, key, newValue, KEEPTTL];
}

/** A key deleted because it expired (lazily or by the active cycle) is written as `DEL k` (`UNLINK k` with `lazyfree-lazy-expire`). */
export function expiredKeyForm(key: Uint8Array, lazyExpire = false): Uint8Array[] {
  return [lazyExpire ? UNLINK : DEL, key];
}
