/**
 * Seeded generator of command sequences for the differential test: string,
 * key-space and expiry commands with valid and invalid options, edge-case
 * numbers, glob patterns, binary keys and values, wrong arities and unknown
 * commands.
 *
 * Sequences are deterministic for a seed and never depend on timing: every
 * relative expiry is either at least 100 s or already past (0 / negative),
 * and absolute ones are far in the past or the future, so a key exists on
 * both servers or on neither whenever a command runs; and no two relative
 * expiries are equal, so GT/LT comparisons never depend on the clock ticking
 * between two commands. The sequence is cut into
 * episodes that start by flushing databases 0-3 (the only valid ones it
 * uses), so one divergence does not cascade through the whole run.
 *
 * @module
 */

import { bytes } from "./resp.ts";

/** A small, fast, seedable PRNG (mulberry32). */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A random element. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** `items` in random order. */
  shuffle<T>(items: readonly T[]): T[] {
    const a = [...items];
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
}

/** A command as its arguments (latin1 strings: one char per byte). */
export type Command = string[];

// Keys: a few hot ones so commands interact, plus binary and glob-special names.
const HOT_KEYS = ["k1", "k2", "num"];
const ALL_KEYS = [
  ...HOT_KEYS,
  "k3",
  "f",
  "",
  "a\r\nb",
  "\x00\xff\x01",
  "key with space",
  "k*",
  "k?x",
  "[k]",
  "h\\e",
  "L".repeat(300),
  "\xe9t\xe9",
];

const VALUES = [
  "v",
  "",
  "0",
  "1",
  "-1",
  "10",
  "42",
  "007",
  " 1",
  "1 ",
  "+1",
  "0x10",
  "1e3",
  "3.14",
  "-0",
  "9223372036854775807",
  "-9223372036854775808",
  "9223372036854775808",
  "-9223372036854775809",
  "abc",
  "a\r\nb",
  "\x00\x01\xff",
  "inf",
  "-inf",
  "nan",
  "1.5e308",
  "0.1",
  "5.0e3",
  "x".repeat(1000),
];

const INTS = [
  "0",
  "1",
  "-1",
  "2",
  "100",
  "-100",
  "9223372036854775807",
  "-9223372036854775808",
  "9223372036854775806",
  "9223372036854775808",
  "-9223372036854775809",
  "1.5",
  "abc",
  "",
  " 1",
  "0x1",
  "1e2",
  "-0",
  "+5",
  "007",
];

const FLOATS = [
  "0",
  "1",
  "-1",
  "0.1",
  "1.5",
  "-2.25",
  "1e10",
  "-1e10",
  "1e308",
  "-1e308",
  "1.7976931348623157e308",
  "inf",
  "-inf",
  "+inf",
  "nan",
  "abc",
  "",
  "0x1p3",
  "3.0e-5",
  "1e-320",
  "5.0e3",
  " 1",
  "1 ",
  "10",
  "9223372036854775807",
  "0.30000000000000004",
];

// Relative expiries that set a TTL come from `Generator.seconds()`: each is
// at least 100 s and differs from every other one in its episode by whole
// seconds, so NX/XX/GT/LT comparisons never hinge on the clock ticking between
// two commands. These lists hold the edge cases: past, overflowing, malformed.
const BAD_SECONDS = [
  "0",
  "-1",
  "-100",
  "9223372036854775807",
  "9223372036854775",
  "9223372036854776",
  "abc",
  "1.5",
  "",
];
const BAD_MILLIS = ["0", "-1", "9223372036854775807", "9223372036854775000", "abc", "1e3"];
/** Bases of valid relative expiries, in seconds, far enough apart never to meet. */
const EXPIRY_BASES = [100, 1000, 86400, 100000];
const UNIX_SECONDS = [
  "4102444800",
  "4102444801",
  "1000000000",
  "0",
  "-1",
  "9223372036854775807",
  "9223372036854775",
  "abc",
];
const UNIX_MILLIS = [
  "4102444800000",
  "4102444800123",
  "1000000000000",
  "0",
  "-1",
  "9223372036854775807",
  "abc",
];
const OFFSETS = ["0", "1", "-1", "-5", "3", "100", "-100", "9223372036854775807", "abc"];
const SETRANGE_OFFSETS = [
  "0",
  "1",
  "5",
  "100",
  "1000",
  "-1",
  "536870912",
  "9223372036854775807",
  "x",
];
const DBS = ["0", "1", "2", "3", "0", "1", "16", "-1", "abc"];

const GLOB_PIECES = [
  "*",
  "*",
  "?",
  "k",
  "1",
  "[k-m]",
  "[^k]",
  "[a-c]",
  "\\*",
  "\\",
  "[",
  "]",
  "x",
  "L*",
  "\r\n",
  "\x00",
  " ",
  "[\\]]",
];

/** Extra weight for commands that create keys or set TTLs, so later commands find them. */
const WEIGHTS: Record<string, number> = {
  set: 6,
  mset: 2,
  setex: 2,
  psetex: 2,
  incr: 2,
  incrbyfloat: 2,
  get: 2,
  getex: 2,
  expire: 3,
  pexpire: 3,
  expireat: 2,
  pexpireat: 2,
  ttl: 3,
  pttl: 3,
  expiretime: 2,
  pexpiretime: 2,
  rename: 2,
  copy: 2,
};

/** Families and their commands: the generator's coverage list. */
export const COVERED_COMMANDS = [
  "set",
  "get",
  "getset",
  "getdel",
  "getex",
  "setnx",
  "setex",
  "psetex",
  "mset",
  "msetnx",
  "mget",
  "append",
  "strlen",
  "getrange",
  "substr",
  "setrange",
  "incr",
  "decr",
  "incrby",
  "decrby",
  "incrbyfloat",
  "del",
  "unlink",
  "exists",
  "touch",
  "keys",
  "type",
  "rename",
  "renamenx",
  "copy",
  "move",
  "swapdb",
  "select",
  "dbsize",
  "flushdb",
  "randomkey",
  "expire",
  "pexpire",
  "expireat",
  "pexpireat",
  "ttl",
  "pttl",
  "persist",
  "expiretime",
  "pexpiretime",
  "echo",
  "ping",
] as const;

/** Every covered command, repeated by its weight. */
const COMMAND_MIX: string[] = COVERED_COMMANDS.flatMap((c) => Array(WEIGHTS[c] ?? 1).fill(c));

/** Builds commands from one RNG. */
class Generator {
  constructor(private r: Rng) {}

  private unique = 0;

  /** A valid relative expiry in seconds, different from every earlier one. */
  private freshSeconds(): number {
    return this.r.pick(EXPIRY_BASES) + ++this.unique;
  }

  /** Mostly a fresh valid relative expiry (seconds), sometimes an edge case. */
  seconds(): string {
    return this.r.chance(0.6) ? String(this.freshSeconds()) : this.r.pick(BAD_SECONDS);
  }

  /** The same in milliseconds. */
  millis(): string {
    return this.r.chance(0.6) ? String(this.freshSeconds() * 1000) : this.r.pick(BAD_MILLIS);
  }

  key(): string {
    return this.r.chance(0.7) ? this.r.pick(HOT_KEYS) : this.r.pick(ALL_KEYS);
  }

  keys(min: number, max: number): string[] {
    return Array.from({ length: min + this.r.int(max - min + 1) }, () => this.key());
  }

  value(): string {
    if (this.r.chance(0.1)) {
      return String.fromCharCode(...Array.from({ length: this.r.int(12) }, () => this.r.int(256)));
    }
    return this.r.pick(VALUES);
  }

  /** The word in random letter case, sometimes. */
  word(w: string): string {
    if (!this.r.chance(0.25)) return w;
    return [...w].map((c) => (this.r.chance(0.5) ? c.toUpperCase() : c.toLowerCase())).join("");
  }

  name(n: string): string {
    return this.word(this.r.chance(0.5) ? n.toUpperCase() : n);
  }

  glob(): string {
    const n = 1 + this.r.int(4);
    return Array.from({ length: n }, () => this.r.pick(GLOB_PIECES)).join("");
  }

  /** SET's options, usually valid, sometimes clashing or malformed. */
  setOptions(): string[] {
    const opts: string[][] = [];
    const n = this.r.pick([0, 0, 1, 1, 1, 2, 2, 3]);
    for (let i = 0; i < n; i++) {
      switch (this.r.int(10)) {
        case 0:
          opts.push(["NX"]);
          break;
        case 1:
          opts.push(["XX"]);
          break;
        case 2:
          opts.push(["GET"]);
          break;
        case 3:
          opts.push(["KEEPTTL"]);
          break;
        case 4:
          opts.push(["EX", this.seconds()]);
          break;
        case 5:
          opts.push(["PX", this.millis()]);
          break;
        case 6:
          opts.push(["EXAT", this.r.pick(UNIX_SECONDS)]);
          break;
        case 7:
          opts.push(["PXAT", this.r.pick(UNIX_MILLIS)]);
          break;
        case 8:
          opts.push(this.r.chance(0.5) ? ["EX"] : ["FOO"]);
          break;
        default:
          opts.push(["GET"]);
      }
    }
    return opts.flat().map((o) => (/^[A-Z]+$/.test(o) ? this.word(o) : o));
  }

  getexOptions(): string[] {
    switch (this.r.int(9)) {
      case 0:
        return [];
      case 1:
        return [this.word("EX"), this.seconds()];
      case 2:
        return [this.word("PX"), this.millis()];
      case 3:
        return [this.word("EXAT"), this.r.pick(UNIX_SECONDS)];
      case 4:
        return [this.word("PXAT"), this.r.pick(UNIX_MILLIS)];
      case 5:
        return [this.word("PERSIST")];
      case 6:
        return [this.word("EX"), this.seconds(), this.word("PERSIST")];
      case 7:
        return [this.word("EX")];
      default:
        return [this.word("KEEPTTL")];
    }
  }

  expireFlags(): string[] {
    const n = this.r.pick([0, 0, 1, 1, 2]);
    return Array.from(
      { length: n },
      () => this.word(this.r.pick(["NX", "XX", "GT", "LT", "NX", "XX", "GT", "LT", "YY"])),
    );
  }

  /** One command of the given (lower-case) name. */
  command(cmd: string): Command {
    const r = this.r;
    const k = () => this.key();
    const v = () => this.value();
    switch (cmd) {
      case "set":
        return ["set", k(), v(), ...this.setOptions()];
      case "get":
      case "getdel":
      case "strlen":
      case "incr":
      case "decr":
      case "type":
      case "ttl":
      case "pttl":
      case "persist":
      case "expiretime":
      case "pexpiretime":
        return [cmd, k()];
      case "getset":
      case "setnx":
      case "append":
        return [cmd, k(), v()];
      case "getex":
        return ["getex", k(), ...this.getexOptions()];
      case "setex":
        return ["setex", k(), this.seconds(), v()];
      case "psetex":
        return ["psetex", k(), this.millis(), v()];
      case "mset":
      case "msetnx": {
        const pairs = this.keys(1, 4).flatMap((key) => [key, v()]);
        if (r.chance(0.1)) pairs.pop();
        return [cmd, ...pairs];
      }
      case "mget":
        return ["mget", ...this.keys(1, 5)];
      case "getrange":
      case "substr":
        return [cmd, k(), r.pick(OFFSETS), r.pick(OFFSETS)];
      case "setrange":
        return ["setrange", k(), r.pick(SETRANGE_OFFSETS), r.chance(0.2) ? "" : v()];
      case "incrby":
      case "decrby":
        return [cmd, k(), r.pick(INTS)];
      case "incrbyfloat":
        return ["incrbyfloat", k(), r.pick(FLOATS)];
      case "del":
      case "unlink":
      case "exists":
      case "touch":
        return [cmd, ...this.keys(1, 4)];
      case "keys":
        return ["keys", this.glob()];
      case "rename":
      case "renamenx":
        return [cmd, k(), r.chance(0.15) ? "k1" : k()];
      case "copy": {
        const out = ["copy", k(), k()];
        if (r.chance(0.4)) out.push(this.word("DB"), r.pick(DBS));
        if (r.chance(0.4)) out.push(this.word("REPLACE"));
        if (r.chance(0.05)) out.push(this.word("FOO"));
        return out;
      }
      case "move":
        return ["move", k(), r.pick(DBS)];
      case "swapdb":
        return ["swapdb", r.pick(DBS), r.pick(DBS)];
      case "select":
        return ["select", r.pick(DBS)];
      case "dbsize":
      case "randomkey":
        return [cmd];
      case "flushdb":
        return ["flushdb", ...(r.chance(0.3) ? [this.word(r.pick(["ASYNC", "SYNC", "NOW"]))] : [])];
      case "expire":
      case "pexpire":
        return [cmd, k(), cmd === "expire" ? this.seconds() : this.millis(), ...this.expireFlags()];
      case "expireat":
      case "pexpireat":
        return [
          cmd,
          k(),
          r.pick(cmd === "expireat" ? UNIX_SECONDS : UNIX_MILLIS),
          ...this.expireFlags(),
        ];
      case "echo":
        return ["echo", v()];
      case "ping":
        return ["ping", ...(r.chance(0.5) ? [v()] : []), ...(r.chance(0.1) ? [v()] : [])];
      default:
        throw new Error(`no generator for ${cmd}`);
    }
  }

  /** An unknown command, sometimes with binary bytes in its name and arguments. */
  unknown(): Command {
    const name = this.r.pick([
      "foo",
      "GETT",
      "SETX",
      "x\r\ny",
      "n\x00ul",
      "\xff\xfe",
      "",
      "CONFIGG",
    ]);
    return [name, ...Array.from({ length: this.r.int(4) }, () => this.value())];
  }

  /** A random command, now and then with an argument dropped or added. */
  any(): Command {
    if (this.r.chance(0.03)) return this.unknown();
    const cmd = this.command(this.r.pick(COMMAND_MIX));
    if (cmd.length > 1 && this.r.chance(0.04)) cmd.pop();
    else if (this.r.chance(0.03)) cmd.push(this.value());
    cmd[0] = this.name(cmd[0]);
    return cmd;
  }
}

/**
 * An episode's start: empty databases 0-3, go back to database 0, and create
 * the hot keys (one with a TTL) so the episode's commands find something.
 */
export function episodeStart(): Command[] {
  return [
    ...["3", "2", "1", "0"].flatMap((db) => [["SELECT", db], ["FLUSHDB"]]),
    ["MSET", "k1", "v1", "k2", "v2", "num", "10"],
    ["PEXPIRE", "k2", "123456789"],
  ];
}

/** Length of an episode: commands between two resets. */
export const EPISODE = 40;

/** The sequence for `seed`: `count` commands in episodes, each starting with a reset. */
export function generateCommands(seed: number, count: number): Command[] {
  const g = new Generator(new Rng(seed));
  const out: Command[] = [];
  while (out.length < count) {
    out.push(...episodeStart());
    for (let i = 0; i < EPISODE && out.length < count; i++) out.push(g.any());
  }
  return out;
}

/** A command as bytes, for sending. */
export function commandBytes(cmd: Command): Uint8Array[] {
  return cmd.map(bytes);
}
