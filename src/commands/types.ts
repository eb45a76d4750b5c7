/**
 * The shape of a command table entry.
 *
 * Every command is declared once, as a `CommandSpec`, in the file of its
 * family; the dispatcher (arity, flags, auth, pub/sub context), COMMAND
 * INFO/DOCS/LIST and later ACL and AOF all read the same entry.
 *
 * @module
 */

import type { Client } from "../server/client.ts";

/** Command flags, spelled as COMMAND INFO reports them. */
export type CommandFlag =
  | "write"
  | "readonly"
  | "denyoom"
  | "admin"
  | "pubsub"
  | "noscript"
  | "blocking"
  | "loading"
  | "stale"
  | "skip_monitor"
  | "skip_slowlog"
  | "fast"
  | "no_auth"
  | "may_replicate"
  | "no_mandatory_keys"
  | "allow_busy"
  | "no_multi"
  | "no_async_loading"
  | "sort_for_script";

/** Runs a command: reads `args` (views valid only during the call), replies on `client.out`. */
export type CommandHandler = (client: Client, args: Uint8Array[]) => void;

/**
 * One Redis 7.0 key spec (COMMAND INFO), for commands whose keys the plain
 * `keys` triple cannot describe exactly (several key roles, keys after a
 * keyword or a count argument). Positions count the command name as 0.
 */
export interface KeySpecDecl {
  /** `RO`/`RW`/`OW`/`RM`, `access`/`update`/`insert`/`delete`, `not_key`, `incomplete`, `variable_flags`. */
  flags: readonly string[];
  /** Where the search starts: an argument index, or just after a keyword searched from `startFrom` (negative: backwards from the end). */
  begin: { index: number } | { keyword: string; startFrom: number } | "unknown";
  /** The keys from there: a range (`lastKey` relative to the start, negative from the end), a count argument, or unknown. */
  find:
    | { lastKey: number; keyStep: number; limit: number }
    | { keyNumIdx: number; firstKey: number; keyStep: number }
    | "unknown";
  notes?: string;
}

/** One command or subcommand. */
export interface CommandSpec {
  /** Lower-case name; a subcommand's is its own word (`get` under `config`). */
  name: string;
  /** Redis arity: N exactly N arguments (name included), -N at least N. */
  arity: number;
  flags: readonly CommandFlag[];
  /** Key positions: first, last (-1: last argument), step; 0,0,0 when keyless. */
  keys?: readonly [number, number, number];
  /** Exact key specs; when absent, COMMAND INFO derives one from `keys` and the flags. */
  keySpecs?: readonly KeySpecDecl[];
  /** Documentation group (`string`, `generic`, `connection`, `server`...). */
  group: string;
  /** One-line summary for COMMAND DOCS. */
  summary: string;
  /** Redis version that introduced it. */
  since: string;
  /** Time complexity, as Redis documents it. */
  complexity?: string;
  /**
   * Argument syntax after the name, in Redis' documentation notation, e.g.
   * `key value [NX | XX] [GET]`. COMMAND DOCS builds its argument list from it.
   */
  syntax?: string;
  /** Extra ACL categories beyond those derived from flags and group. */
  categories?: readonly string[];
  /** Request/response policy hints (COMMAND INFO tips). */
  tips?: readonly string[];
  handler?: CommandHandler;
  subcommands?: readonly CommandSpec[];
}
