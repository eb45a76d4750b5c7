/**
 * OBJECT ENCODING and OBJECT REFCOUNT answers, as Redis 7.0 gives them.
 *
 * For strings Redis picks the encoding when it creates the value object:
 * `tryObjectEncoding` (SET, MSET, GETSET, APPEND on a new key...) makes an
 * integer that fits in a long `int` — shared, refcount INT_MAX, when in
 * 0..9999 — a value of at most 44 bytes `embstr`, and longer ones `raw`;
 * INCRBYFLOAT's result is never an int; APPEND to an existing key and
 * SETRANGE make `raw`; COPY of an int makes an unshared int. Entries record
 * which of these applied (`Entry.enc`); the name is worked out on demand so
 * the write path stays free of it.
 *
 * @module
 */

import { parseInt64 } from "../common/numbers.ts";
import { type Entry, StringEncoding, type ValueBehaviour } from "./database.ts";

/** Redis' OBJ_ENCODING_EMBSTR_SIZE_LIMIT. */
const EMBSTR_SIZE_LIMIT = 44;
/** Redis' OBJ_SHARED_INTEGERS: 0..9999 are shared objects. */
const SHARED_INTEGERS = 10000;
/** Refcount Redis reports for shared objects (OBJ_SHARED_REFCOUNT = INT_MAX). */
const SHARED_REFCOUNT = 2147483647;

/** What Redis reports for big values of each non-string type. */
const DEFAULT_ENCODING: Record<string, string> = {
  list: "quicklist",
  set: "hashtable",
  zset: "skiplist",
  hash: "hashtable",
  stream: "stream",
};

/** The integer a string holds if Redis would int-encode it, else null. */
function intValue(v: Uint8Array): number | bigint | null {
  return v.length <= 20 ? parseInt64(v) : null;
}

/** How an `Auto` string would be classified: int (and shared?) or by length. */
function autoEncoding(v: Uint8Array): string {
  if (intValue(v) !== null) return "int";
  return v.length <= EMBSTR_SIZE_LIMIT ? "embstr" : "raw";
}

/** The OBJECT ENCODING name of an entry. */
export function objectEncoding(e: Entry): string {
  if (e.type !== "string") {
    const b = e.value as ValueBehaviour | null;
    if (b !== null && typeof b === "object" && typeof b.encoding === "function") {
      return b.encoding();
    }
    return DEFAULT_ENCODING[e.type];
  }
  const v = e.value as Uint8Array;
  switch (e.enc) {
    case StringEncoding.Auto:
      return autoEncoding(v);
    case StringEncoding.Int:
      return "int";
    case StringEncoding.Plain:
      return v.length <= EMBSTR_SIZE_LIMIT ? "embstr" : "raw";
    default:
      return "raw";
  }
}

/** The OBJECT REFCOUNT of an entry: shared small integers report INT_MAX. */
export function objectRefcount(e: Entry): number {
  if (e.type !== "string" || e.enc !== StringEncoding.Auto) return 1;
  const n = intValue(e.value as Uint8Array);
  return typeof n === "number" && n >= 0 && n < SHARED_INTEGERS ? SHARED_REFCOUNT : 1;
}

/**
 * The encoding a copy of a string gets (Redis' dupStringObject): the same
 * one, except that a shared int becomes a private int.
 */
export function copiedStringEncoding(e: Entry): number {
  if (e.enc === StringEncoding.Auto) {
    return autoEncoding(e.value as Uint8Array) === "int"
      ? StringEncoding.Int
      : StringEncoding.Plain;
  }
  return e.enc === StringEncoding.Growable ? StringEncoding.Raw : e.enc;
}
