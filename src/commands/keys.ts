/**
 * Generic key commands: DEL, UNLINK, EXISTS, TOUCH, TYPE, KEYS, SCAN,
 * RANDOMKEY, RENAME, RENAMENX, COPY, MOVE, SWAPDB, FLUSHDB, FLUSHALL and
 * OBJECT (ENCODING, FREQ, IDLETIME, REFCOUNT, HELP).
 *
 * Each follows Redis 7.0's lookups (which ones count keyspace hits and
 * misses, which emit `keymiss`, which update the access time), errors and
 * keyspace events. SCAN's cursor is a creation sequence number (see
 * `Database.scan`): every key present for the whole iteration is returned
 * exactly once, whatever is written meanwhile.
 *
 * @module
 */

import type { CommandSpec } from "./types.ts";
import type { Client } from "../server/client.ts";
import type { Database, Entry, ValueBehaviour } from "../keyspace/database.ts";
import { accessClock, LFU_INIT_VAL } from "../keyspace/database.ts";
import { copiedStringEncoding, objectEncoding, objectRefcount } from "../keyspace/encoding.ts";
import { isWord, latin1 } from "../protocol/latin1.ts";
import { parseInt64 } from "../common/numbers.ts";
import { GlobPattern } from "../common/glob.ts";
import { Errors } from "./util.ts";
import { replyHelp } from "./help.ts";

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;
const SAME_OBJECT = "ERR source and destination objects are the same";

/**
 * Redis' getIntFromObjectOrReply: an int32 argument. Non-integers get
 * `message` (default: not an integer), out-of-range values the same
 * `message` when given, else Redis' range error. Null after replying.
 */
function int32Arg(c: Client, arg: Uint8Array, message?: string): number | null {
  const v = parseInt64(arg);
  if (v === null) {
    c.out.error(message ?? Errors.notInteger);
    return null;
  }
  if (v < INT_MIN || v > INT_MAX) {
    c.out.error(
      message ?? `ERR value is out of range, value must between ${INT_MIN} and ${INT_MAX}`,
    );
    return null;
  }
  return Number(v);
}

/** A database by index, or null (caller replies) when out of range. */
function dbAt(c: Client, id: number): Database | null {
  const dbs = c.server.keyspace.dbs;
  return id >= 0 && id < dbs.length ? dbs[id] : null;
}

/** DEL and UNLINK (memory is reclaimed by the GC either way). */
function del(c: Client, args: Uint8Array[]): void {
  const db = c.db;
  const ks = c.server.keyspace;
  let n = 0;
  for (let j = 1; j < args.length; j++) {
    const key = latin1(args[j]);
    // An expired key is reclaimed as expired first, then not counted.
    if (db.peek(key) === undefined) continue;
    db.delete(key);
    ks.notify(db, "g", "del", key);
    ks.dirty++;
    n++;
  }
  c.out.integer(n);
}

/** Counts keys that exist: EXISTS (no access-time update) and TOUCH. */
function countExisting(c: Client, args: Uint8Array[], touch: boolean): void {
  const ks = c.server.keyspace;
  let n = 0;
  for (let j = 1; j < args.length; j++) {
    if (ks.lookupRead(c.db, latin1(args[j]), touch) !== undefined) n++;
  }
  c.out.integer(n);
}

/**
 * Parses a SCAN cursor as Redis does (strtoul): optional sign, decimal
 * digits, at most 2^64-1, no leading space; "-n" wraps around; an empty
 * string is 0. Null when invalid.
 */
function parseCursor(b: Uint8Array): number | null {
  if (b.length === 0) return 0;
  const first = b[0];
  if (first === 32 || (first >= 9 && first <= 13)) return null;
  let i = first === 43 || first === 45 ? 1 : 0;
  if (i === b.length) return null;
  let v = 0n;
  for (; i < b.length; i++) {
    const d = b[i] - 48;
    if (d < 0 || d > 9) return null;
    v = v * 10n + BigInt(d);
    if (v > 18446744073709551615n) return null;
  }
  if (first === 45 && v !== 0n) v = 18446744073709551616n - v;
  return Number(v);
}

function scan(c: Client, args: Uint8Array[]): void {
  const cursor = parseCursor(args[1]);
  if (cursor === null) return c.out.error("ERR invalid cursor");
  let count = 10;
  let pattern: GlobPattern | null = null;
  let type: string | null = null;
  for (let i = 2; i < args.length; i += 2) {
    const a = args[i];
    const hasValue = i + 1 < args.length;
    if (hasValue && isWord(a, "count")) {
      const v = parseInt64(args[i + 1]);
      if (v === null) return c.out.error(Errors.notInteger);
      if (v < 1) return c.out.error(Errors.syntax);
      count = Number(v);
    } else if (hasValue && isWord(a, "match")) {
      pattern = new GlobPattern(latin1(args[i + 1]));
      if (pattern.matchesAll) pattern = null;
    } else if (hasValue && isWord(a, "type")) {
      type = latin1(args[i + 1]).toLowerCase();
    } else {
      return c.out.error(Errors.syntax);
    }
  }
  const keys: string[] = [];
  const stats = c.server.keyspace.stats;
  const next = c.db.scan(cursor, count, (key, e) => {
    if (pattern !== null && !pattern.matches(key)) return;
    if (type !== null) {
      // Redis looks the key up (counting a hit) to learn its type.
      stats.hits++;
      if (e.type !== type) return;
    }
    keys.push(key);
  });
  c.out.array(2);
  c.out.bulkString(String(next));
  c.out.stringArray(keys);
}

function keysCommand(c: Client, args: Uint8Array[]): void {
  const pattern = new GlobPattern(latin1(args[1]));
  const db = c.db;
  const now = db.now();
  const out: string[] = [];
  // Expired keys are skipped, not reclaimed, as Redis' KEYS does.
  for (const [key, e] of db.dict) {
    if (e.expireAt !== 0 && e.expireAt <= now) continue;
    if (pattern.matchesAll || pattern.matches(key)) out.push(key);
  }
  c.out.stringArray(out);
}

function rename(c: Client, args: Uint8Array[], nx: boolean): void {
  const db = c.db;
  const src = latin1(args[1]);
  const dst = latin1(args[2]);
  const e = db.get(src);
  if (e === undefined) return c.out.error(Errors.noSuchKey);
  if (src === dst) return nx ? c.out.integer(0) : c.out.ok();
  if (db.get(dst) !== undefined && nx) return c.out.integer(0);
  db.insert(dst, e);
  db.delete(src);
  const ks = c.server.keyspace;
  ks.notify(db, "g", "rename_from", src);
  ks.notify(db, "g", "rename_to", dst);
  ks.dirty++;
  if (nx) c.out.integer(1);
  else c.out.ok();
}

/** A deep copy of a value for COPY (Redis duplicates strings too). */
function cloneValue(e: Entry): unknown {
  if (e.type === "string") return (e.value as Uint8Array).slice();
  const b = e.value as ValueBehaviour;
  return typeof b.clone === "function" ? b.clone() : structuredClone(e.value);
}

function copy(c: Client, args: Uint8Array[]): void {
  const src = c.db;
  let dst = c.db;
  let replace = false;
  for (let j = 3; j < args.length; j++) {
    if (isWord(args[j], "replace")) replace = true;
    else if (isWord(args[j], "db") && j + 1 < args.length) {
      const id = int32Arg(c, args[++j]);
      if (id === null) return;
      const db = dbAt(c, id);
      if (db === null) return c.out.error(Errors.dbIndex);
      dst = db;
    } else return c.out.error(Errors.syntax);
  }
  const key = latin1(args[1]);
  const newKey = latin1(args[2]);
  if (src === dst && key === newKey) return c.out.error(SAME_OBJECT);
  const ks = c.server.keyspace;
  const e = ks.lookupRead(src, key);
  if (e === undefined) return c.out.integer(0);
  if (dst.get(newKey) !== undefined && !replace) return c.out.integer(0);
  dst.insert(newKey, {
    type: e.type,
    value: cloneValue(e),
    expireAt: e.expireAt,
    seq: 0,
    atime: accessClock.now,
    enc: e.type === "string" ? copiedStringEncoding(e) : e.enc,
    freq: LFU_INIT_VAL,
  });
  ks.notify(dst, "g", "copy_to", newKey);
  ks.dirty++;
  c.out.integer(1);
}

function move(c: Client, args: Uint8Array[]): void {
  const id = int32Arg(c, args[2]);
  if (id === null) return;
  const dst = dbAt(c, id);
  if (dst === null) return c.out.error(Errors.dbIndex);
  const src = c.db;
  if (dst === src) return c.out.error(SAME_OBJECT);
  const key = latin1(args[1]);
  const e = src.get(key);
  if (e === undefined || dst.get(key) !== undefined) return c.out.integer(0);
  dst.insert(key, e);
  src.delete(key);
  const ks = c.server.keyspace;
  ks.notify(src, "g", "move_from", key);
  ks.notify(dst, "g", "move_to", key);
  ks.dirty++;
  c.out.integer(1);
}

function swapdb(c: Client, args: Uint8Array[]): void {
  const a = int32Arg(c, args[1], "ERR invalid first DB index");
  if (a === null) return;
  const b = int32Arg(c, args[2], "ERR invalid second DB index");
  if (b === null) return;
  const ks = c.server.keyspace;
  if (dbAt(c, a) === null || dbAt(c, b) === null) return c.out.error(Errors.dbIndex);
  ks.swap(a, b);
  ks.dirty++;
  c.out.ok();
}

/** FLUSHDB / FLUSHALL: `[ASYNC | SYNC]` (both free memory the same way here). */
function flush(c: Client, args: Uint8Array[], all: boolean): void {
  if (
    args.length > 2 || (args.length === 2 && !isWord(args[1], "sync") && !isWord(args[1], "async"))
  ) {
    return c.out.error(Errors.syntax);
  }
  const ks = c.server.keyspace;
  if (all) {
    ks.flushAll();
    c.server.persistence.afterFlushAll();
  } else ks.flushDb(c.db);
  c.out.ok();
}

const LRU_LFU_NOTE =
  "Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";

/** Keeps the keyspace's LFU flag in line with `maxmemory-policy`. */
function lfuSelected(c: Client): boolean {
  const ks = c.server.keyspace;
  const lfu = c.server.config.maxmemoryPolicy.includes("lfu");
  if (lfu !== ks.lfu) ks.setEvictionPolicy(c.server.config.maxmemoryPolicy);
  return lfu;
}

/** OBJECT's key lookup: counts a hit or miss, but no access time and no `keymiss` event. */
function objectLookup(c: Client, args: Uint8Array[]): Entry | undefined {
  const e = c.server.keyspace.lookupRead(c.db, latin1(args[2]), false, false);
  if (e === undefined) c.out.nullBulk();
  return e;
}

const OBJECT_HELP = [
  "ENCODING <key>",
  "    Return the kind of internal representation used in order to store the value",
  "    associated with a <key>.",
  "FREQ <key>",
  "    Return the access frequency index of the <key>. The returned integer is",
  "    proportional to the logarithm of the recent access frequency of the key.",
  "IDLETIME <key>",
  "    Return the idle time of the <key>, that is the approximated number of",
  "    seconds elapsed since the last access to the key.",
  "REFCOUNT <key>",
  "    Return the number of references of the value associated with the specified",
  "    <key>.",
];

function objectSub(
  name: string,
  summary: string,
  since: string,
  handler: (c: Client, e: Entry) => void,
): CommandSpec {
  return {
    name,
    arity: 3,
    flags: ["readonly"],
    keys: [2, 2, 1],
    group: "generic",
    summary,
    since,
    complexity: "O(1)",
    syntax: "key",
    tips: ["nondeterministic_output"],
    handler: (c, args) => {
      const e = objectLookup(c, args);
      if (e !== undefined) handler(c, e);
    },
  };
}

function genericSpec(spec: Omit<CommandSpec, "group">): CommandSpec {
  return { group: "generic", ...spec };
}

const MULTI_KEY_TIPS = ["request_policy:multi_shard", "response_policy:agg_sum"];

/** Generic key command declarations. */
export const keyCommands: CommandSpec[] = [
  genericSpec({
    name: "del",
    arity: -2,
    flags: ["write"],
    keys: [1, -1, 1],
    summary: "Delete a key",
    since: "1.0.0",
    complexity:
      "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).",
    syntax: "key [key ...]",
    tips: MULTI_KEY_TIPS,
    handler: del,
  }),
  genericSpec({
    name: "unlink",
    arity: -2,
    flags: ["write", "fast"],
    keys: [1, -1, 1],
    summary:
      "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.",
    since: "4.0.0",
    complexity:
      "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.",
    syntax: "key [key ...]",
    tips: MULTI_KEY_TIPS,
    handler: del,
  }),
  genericSpec({
    name: "exists",
    arity: -2,
    flags: ["readonly", "fast"],
    keys: [1, -1, 1],
    summary: "Determine if a key exists",
    since: "1.0.0",
    complexity: "O(N) where N is the number of keys to check.",
    syntax: "key [key ...]",
    tips: MULTI_KEY_TIPS,
    handler: (c, args) => countExisting(c, args, false),
  }),
  genericSpec({
    name: "touch",
    arity: -2,
    flags: ["readonly", "fast"],
    keys: [1, -1, 1],
    summary:
      "Alters the last access time of a key(s). Returns the number of existing keys specified.",
    since: "3.2.1",
    complexity: "O(N) where N is the number of keys that will be touched.",
    syntax: "key [key ...]",
    tips: MULTI_KEY_TIPS,
    handler: (c, args) => countExisting(c, args, true),
  }),
  genericSpec({
    name: "type",
    arity: 2,
    flags: ["readonly", "fast"],
    keys: [1, 1, 1],
    summary: "Determine the type stored at key",
    since: "1.0.0",
    complexity: "O(1)",
    syntax: "key",
    handler: (c, args) => {
      const e = c.server.keyspace.lookupRead(c.db, latin1(args[1]), false);
      c.out.simple(e === undefined ? "none" : e.type);
    },
  }),
  genericSpec({
    name: "keys",
    arity: 2,
    flags: ["readonly"],
    keys: [0, 0, 0],
    summary: "Find all keys matching the given pattern",
    since: "1.0.0",
    complexity:
      "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.",
    syntax: "pattern",
    categories: ["dangerous"],
    tips: ["request_policy:all_shards", "nondeterministic_output_order"],
    handler: keysCommand,
  }),
  genericSpec({
    name: "scan",
    arity: -2,
    flags: ["readonly"],
    keys: [0, 0, 0],
    summary: "Incrementally iterate the keys space",
    since: "2.8.0",
    complexity:
      "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
    syntax: "cursor [MATCH pattern] [COUNT count] [TYPE type]",
    tips: ["nondeterministic_output", "request_policy:special"],
    handler: scan,
  }),
  genericSpec({
    name: "randomkey",
    arity: 1,
    flags: ["readonly"],
    keys: [0, 0, 0],
    summary: "Return a random key from the keyspace",
    since: "1.0.0",
    complexity: "O(1)",
    tips: ["request_policy:all_shards", "nondeterministic_output"],
    handler: (c) => {
      const key = c.db.randomKey();
      if (key === null) c.out.nullBulk();
      else c.out.bulkString(key);
    },
  }),
  genericSpec({
    name: "rename",
    arity: 3,
    flags: ["write"],
    keys: [1, 2, 1],
    summary: "Rename a key",
    since: "1.0.0",
    complexity: "O(1)",
    syntax: "key newkey",
    handler: (c, args) => rename(c, args, false),
  }),
  genericSpec({
    name: "renamenx",
    arity: 3,
    flags: ["write", "fast"],
    keys: [1, 2, 1],
    summary: "Rename a key, only if the new key does not exist",
    since: "1.0.0",
    complexity: "O(1)",
    syntax: "key newkey",
    handler: (c, args) => rename(c, args, true),
  }),
  genericSpec({
    name: "copy",
    arity: -3,
    flags: ["write", "denyoom"],
    keys: [1, 2, 1],
    summary: "Copy a key",
    since: "6.2.0",
    complexity:
      "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.",
    syntax: "source destination [DB destination-db] [REPLACE]",
    handler: copy,
  }),
  genericSpec({
    name: "move",
    arity: 3,
    flags: ["write", "fast"],
    keys: [1, 1, 1],
    summary: "Move a key to another database",
    since: "1.0.0",
    complexity: "O(1)",
    syntax: "key db",
    handler: move,
  }),
  {
    name: "swapdb",
    arity: 3,
    flags: ["write", "fast"],
    keys: [0, 0, 0],
    group: "server",
    summary: "Swaps two Redis databases",
    since: "4.0.0",
    complexity:
      "O(N) where N is the count of clients watching or blocking on keys from both databases.",
    syntax: "index1 index2",
    categories: ["keyspace", "dangerous"],
    handler: swapdb,
  },
  {
    name: "flushdb",
    arity: -1,
    flags: ["write"],
    keys: [0, 0, 0],
    group: "server",
    summary: "Remove all keys from the current database",
    since: "1.0.0",
    complexity: "O(N) where N is the number of keys in the selected database",
    syntax: "[ASYNC | SYNC]",
    categories: ["keyspace", "dangerous"],
    tips: ["request_policy:all_shards", "response_policy:all_succeeded"],
    handler: (c, args) => flush(c, args, false),
  },
  {
    name: "flushall",
    arity: -1,
    flags: ["write"],
    keys: [0, 0, 0],
    group: "server",
    summary: "Remove all keys from all databases",
    since: "1.0.0",
    complexity: "O(N) where N is the total number of keys in all databases",
    syntax: "[ASYNC | SYNC]",
    categories: ["keyspace", "dangerous"],
    tips: ["request_policy:all_shards", "response_policy:all_succeeded"],
    handler: (c, args) => flush(c, args, true),
  },
  genericSpec({
    name: "object",
    arity: -2,
    flags: [],
    summary: "A container for object introspection commands",
    since: "2.2.3",
    complexity: "Depends on subcommand.",
    subcommands: [
      {
        name: "help",
        arity: 2,
        flags: ["loading", "stale"],
        group: "generic",
        summary: "Show helpful text about the different subcommands",
        since: "6.2.0",
        complexity: "O(1)",
        handler: (c) => replyHelp(c.out, "object", OBJECT_HELP),
      },
      objectSub(
        "encoding",
        "Inspect the internal encoding of a Redis object",
        "2.2.3",
        (c, e) => c.out.bulkString(objectEncoding(e)),
      ),
      objectSub(
        "freq",
        "Get the logarithmic access frequency counter of a Redis object",
        "4.0.0",
        (c, e) => {
          if (!lfuSelected(c)) {
            return c.out.error(
              `ERR An LFU maxmemory policy is not selected, access frequency not tracked. ${LRU_LFU_NOTE}`,
            );
          }
          c.out.integer(c.db.lfuDecayed(e));
        },
      ),
      objectSub(
        "idletime",
        "Get the time since a Redis object was last accessed",
        "2.2.3",
        (c, e) => {
          if (lfuSelected(c)) {
            return c.out.error(
              `ERR An LFU maxmemory policy is selected, idle time not tracked. ${LRU_LFU_NOTE}`,
            );
          }
          // Redis' LRU clock ticks in whole seconds: compare the two ticks.
          const idle = Math.floor(accessClock.now / 1000) - Math.floor(e.atime / 1000);
          c.out.integer(Math.max(0, idle));
        },
      ),
      objectSub(
        "refcount",
        "Get the number of references to the value of the key",
        "2.2.3",
        (c, e) => c.out.integer(objectRefcount(e)),
      ),
    ],
  }),
];
