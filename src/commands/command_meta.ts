/**
 * What COMMAND INFO / DOCS / LIST / GETKEYS report about a command, derived
 * from its `CommandSpec`: the visible flags in Redis' order, ACL categories
 * (Redis' implicit rules from flags, plus the group's data-type category,
 * plus the spec's explicit `categories`), key specs from the legacy
 * `[first, last, step]` triple, key positions for a concrete argument list,
 * and the documented argument tree parsed from `syntax`.
 *
 * @module
 */

import type { CommandSpec, KeySpecDecl } from "./types.ts";
import { latin1 } from "../protocol/latin1.ts";
import { parseInt64 } from "../common/numbers.ts";
import type { Command } from "./table.ts";
import { assignKeySpecIndex, type DocArg, parseSyntax } from "./docs.ts";

/** Flags COMMAND INFO shows, in the order Redis 7.0 lists them (others are hidden, as in Redis). */
const FLAG_ORDER = [
  "write",
  "readonly",
  "denyoom",
  "module",
  "admin",
  "pubsub",
  "noscript",
  "blocking",
  "loading",
  "stale",
  "skip_monitor",
  "skip_slowlog",
  "asking",
  "fast",
  "no_auth",
  "no_mandatory_keys",
  "no_async_loading",
  "no_multi",
  "movablekeys",
  "allow_busy",
];

/** Every ACL category, in the order Redis reports them. */
export const ACL_CATEGORIES = [
  "keyspace",
  "read",
  "write",
  "set",
  "sortedset",
  "list",
  "hash",
  "string",
  "bitmap",
  "hyperloglog",
  "geo",
  "stream",
  "pubsub",
  "admin",
  "fast",
  "slow",
  "blocking",
  "dangerous",
  "connection",
  "transaction",
  "scripting",
] as const;

/** The data-type (or area) category implied by a documentation group. */
const GROUP_CATEGORY: Record<string, string> = {
  string: "string",
  list: "list",
  set: "set",
  "sorted-set": "sortedset",
  sorted_set: "sortedset",
  sortedset: "sortedset",
  hash: "hash",
  bitmap: "bitmap",
  hyperloglog: "hyperloglog",
  geo: "geo",
  stream: "stream",
  generic: "keyspace",
  connection: "connection",
  transactions: "transaction",
  scripting: "scripting",
};

/** The flags COMMAND INFO shows for a command, in Redis' order. */
export function visibleFlags(spec: CommandSpec): string[] {
  const have = new Set<string>(spec.flags);
  if (legacyKeys(spec).movable) have.add("movablekeys");
  return FLAG_ORDER.filter((f) => have.has(f));
}

const categoryCache = new WeakMap<CommandSpec, string[]>();

/**
 * A command's ACL categories without the `@`, in Redis' order. Containers
 * (commands with subcommands) get only what their own flags imply, as in
 * Redis where a container carries no group category.
 */
export function aclCategories(spec: CommandSpec): string[] {
  const cached = categoryCache.get(spec);
  if (cached) return cached;
  const set = new Set<string>();
  const flags = new Set<string>(spec.flags);
  if (flags.has("write")) set.add("write");
  if (flags.has("readonly") && spec.group !== "scripting") set.add("read");
  if (flags.has("admin")) {
    set.add("admin");
    set.add("dangerous");
  }
  if (flags.has("pubsub")) set.add("pubsub");
  if (flags.has("fast")) set.add("fast");
  if (flags.has("blocking")) set.add("blocking");
  if (!spec.subcommands) {
    const g = GROUP_CATEGORY[spec.group];
    if (g !== undefined) set.add(g);
  }
  for (const c of spec.categories ?? []) set.add(c.replace(/^@/, "").toLowerCase());
  if (!set.has("fast")) set.add("slow");
  const list = ACL_CATEGORIES.filter((c) => set.has(c)) as string[];
  categoryCache.set(spec, list);
  return list;
}

/** Key specs derived from the legacy `keys` triple (none for keyless commands), unless declared. */
export function keySpecs(spec: CommandSpec): readonly KeySpecDecl[] {
  if (spec.keySpecs) return spec.keySpecs;
  const [first, last, step] = spec.keys ?? [0, 0, 0];
  if (first <= 0) return [];
  const flags = spec.flags.includes("pubsub")
    ? ["not_key"]
    : spec.flags.includes("write")
    ? ["RW", "update"]
    : spec.flags.includes("readonly")
    ? ["RO", "access"]
    : ["RO"];
  return [{
    flags,
    begin: { index: first },
    find: { lastKey: last < 0 ? last : last - first, keyStep: step, limit: 0 },
  }];
}

/** Legacy key triple plus the `movablekeys` flag, computed as Redis 7.0 does from key specs. */
interface Legacy {
  keys: readonly [number, number, number];
  movable: boolean;
}

const legacyCache = new WeakMap<CommandSpec, Legacy>();

/** The legacy `[first, last, step]` COMMAND INFO shows, and whether keys are movable. */
export function legacyKeys(spec: CommandSpec): Legacy {
  const cached = legacyCache.get(spec);
  if (cached) return cached;
  const specs = keySpecs(spec);
  let movable = false;
  let first = Infinity;
  let last = 0;
  let prevLast = 0;
  for (const ks of specs) {
    const b = ks.begin;
    const f = ks.find;
    if (b === "unknown" || !("index" in b) || f === "unknown" || !("lastKey" in f)) {
      movable = true;
      continue;
    }
    if (specs.length > 1 && (f.keyStep !== 1 || (prevLast && prevLast !== b.index - 1))) {
      movable = true;
      continue;
    }
    if (ks.flags.includes("incomplete")) movable = true;
    first = Math.min(first, b.index);
    const abs = f.lastKey >= 0 ? f.lastKey + b.index : f.lastKey;
    // Redis compares as unsigned: a negative (from the end) last key beats any positive one.
    last = (last < 0) === (abs < 0) ? Math.max(last, abs) : Math.min(last, abs);
    prevLast = last;
  }
  let keys: readonly [number, number, number] = [0, 0, 0];
  if (spec.keys) keys = spec.keys;
  else if (first !== Infinity) {
    const step = specs.length === 1 ? (specs[0].find as { keyStep: number }).keyStep : 1;
    keys = [first, last, step];
  }
  const out = { keys, movable };
  legacyCache.set(spec, out);
  return out;
}

/** One key found in a concrete argument list, with its spec's flags. */
export interface KeyRef {
  pos: number;
  flags: readonly string[];
}

/**
 * The keys of `args` (the command name at 0), found with the command's key
 * specs as Redis' `getKeysUsingKeySpecs` does; null when the arguments don't
 * fit a spec. Specs flagged `not_key` (shard channels) are skipped.
 */
export function findKeys(spec: CommandSpec, args: readonly Uint8Array[]): KeyRef[] | null {
  const argc = args.length;
  const out: KeyRef[] = [];
  for (const ks of keySpecs(spec)) {
    if (ks.flags.includes("not_key")) continue;
    const b = ks.begin;
    const f = ks.find;
    if (b === "unknown" || f === "unknown") return null;
    let first = 0;
    if ("index" in b) first = b.index;
    else {
      const from = b.startFrom > 0 ? b.startFrom : argc + b.startFrom;
      const dir = b.startFrom > 0 ? 1 : -1;
      for (let i = from; i >= 1 && i < argc; i += dir) {
        if (latin1(args[i]).toLowerCase() === b.keyword.toLowerCase()) {
          first = i + 1;
          break;
        }
      }
      if (first === 0) continue;
    }
    let last: number;
    let step: number;
    if ("lastKey" in f) {
      step = f.keyStep;
      if (f.lastKey >= 0) last = first + f.lastKey;
      else if (f.limit === 0) last = argc + f.lastKey;
      else last = first + (Math.floor((argc - first) / f.limit) + f.lastKey);
    } else {
      step = f.keyStep;
      if (first + f.keyNumIdx >= argc) return null;
      const n = parseInt64(args[first + f.keyNumIdx]);
      if (n === null || n < 0) return null;
      first += f.firstKey;
      last = first + Number(n) - 1;
    }
    if (last >= argc || last < first || first >= argc) return null;
    for (let i = first; i <= last; i += Math.max(1, step)) out.push({ pos: i, flags: ks.flags });
  }
  return out;
}

/** True when the command declares key arguments. */
export function hasKeys(spec: CommandSpec): boolean {
  return keySpecs(spec).length > 0;
}

const docCache = new WeakMap<CommandSpec, DocArg[]>();

/**
 * The documented arguments of a command, parsed from its `syntax` (cached).
 * A syntax that doesn't parse yields no arguments rather than failing
 * COMMAND DOCS; the command table test checks that every syntax parses.
 */
export function docArgs(cmd: Command): DocArg[] {
  const spec = cmd.spec;
  const cached = docCache.get(spec);
  if (cached) return cached;
  let args: DocArg[] = [];
  if (spec.syntax) {
    let syntax = spec.syntax.trim();
    // Tolerate a syntax that starts with the parent's name (`CONFIG GET ...`).
    if (cmd.parent && syntax.toLowerCase().startsWith(cmd.parent.spec.name + " ")) {
      syntax = syntax.slice(cmd.parent.spec.name.length + 1);
    }
    try {
      args = parseSyntax(syntax, spec.name);
    } catch {
      args = [];
    }
    const specCount = keySpecs(spec).length;
    if (specCount > 0) assignKeySpecIndex(args, specCount);
  }
  docCache.set(spec, args);
  return args;
}
