/**
 * Helpers shared by command handlers: Redis' standard error replies, and
 * argument parsing that replies with the right error on bad input.
 *
 * @module
 */

import { parseInt64 } from "../common/numbers.ts";
import type { Client } from "../server/client.ts";
import type { Entry, ValueType } from "../keyspace/database.ts";

/** Standard error texts, exactly as Redis 7.0 words them. */
export const Errors = {
  wrongType: "WRONGTYPE Operation against a key holding the wrong kind of value",
  syntax: "ERR syntax error",
  notInteger: "ERR value is not an integer or out of range",
  notFloat: "ERR value is not a valid float",
  overflow: "ERR increment or decrement would overflow",
  noSuchKey: "ERR no such key",
  outOfRange: "ERR index out of range",
  dbIndex: "ERR DB index is out of range",
} as const;

/**
 * Parses an integer argument; on failure replies `message` (default: not an
 * integer) and returns null.
 */
export function intArg(
  client: Client,
  arg: Uint8Array,
  message: string = Errors.notInteger,
): number | null {
  const v = parseInt64(arg);
  if (v === null) {
    client.out.error(message);
    return null;
  }
  return typeof v === "bigint" ? Number(v) : v;
}

/**
 * Looks a key up expecting `type`: returns the entry, `undefined` when the key
 * is missing, or `null` after replying WRONGTYPE.
 */
export function lookupTyped(
  client: Client,
  key: string,
  type: ValueType,
): Entry | undefined | null {
  // Stats, lazy expiry and the `keymiss` event: Redis' lookupKeyRead.
  const e = client.server.keyspace.lookupRead(client.db, key);
  if (e === undefined) return undefined;
  if (e.type !== type) {
    client.out.error(Errors.wrongType);
    return null;
  }
  return e;
}

/** Quotes bytes as Redis' `sdscatrepr` does (MONITOR, SLOWLOG, CLIENT LIST). */
export function reprBytes(b: Uint8Array): string {
  let s = '"';
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    switch (c) {
      case 92:
        s += "\\\\";
        break;
      case 34:
        s += '\\"';
        break;
      case 10:
        s += "\\n";
        break;
      case 13:
        s += "\\r";
        break;
      case 9:
        s += "\\t";
        break;
      case 7:
        s += "\\a";
        break;
      case 8:
        s += "\\b";
        break;
      default:
        if (c >= 32 && c < 127) s += String.fromCharCode(c);
        else s += "\\x" + c.toString(16).padStart(2, "0");
    }
  }
  return s + '"';
}
