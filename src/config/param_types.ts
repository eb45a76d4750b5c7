/**
 * The value types of config parameters: how each parses its arguments (with
 * Redis' reason texts on bad input), prints itself for CONFIG GET, compares,
 * and writes itself back into a config file on CONFIG REWRITE.
 *
 * Generic types: yes/no booleans, strings, enums (single value or flag
 * sets), and numbers with bounds and the memory / percent / octal forms.
 * Special types: `save`, `client-output-buffer-limit`, `oom-score-adj-values`,
 * `notify-keyspace-events`, `bind`, `replicaof`,
 * `latency-tracking-info-percentiles` and `dir`.
 *
 * @module
 */

import type { RewriteState } from "./rewrite_state.ts";
import { formatNotifyFlags, parseNotifyFlags } from "./notify_flags.ts";
import {
  configText,
  formatMemoryUnits,
  formatPercentile,
  fsPath,
  memtoull,
  reject,
  repr,
  strerror,
  string2d,
  string2ll,
  strtoll,
  toCInt,
  yesNo,
} from "./values.ts";

/** What a parser may need beyond its arguments. */
export interface ParseContext {
  /** True while the config file / command line is being read at start-up. */
  loading: boolean;
  /** True if this parameter was already set during this start-up load. */
  seen: boolean;
}

/** A parameter's value type. */
export interface ParamType<T> {
  /** Takes several arguments (`save 900 1 300 10`); CONFIG SET splits its value on spaces. */
  readonly multiArg: boolean;
  /** Parses arguments into a value; throws `ConfigValueError` with Redis' reason. */
  parse(args: string[], prev: T, ctx: ParseContext): T;
  /** The CONFIG GET form. */
  format(v: T): string;
  /** False when setting `b` over `a` changes nothing (apply hooks are then skipped, as in Redis). */
  same(a: T, b: T): boolean;
  /** Writes the value into a CONFIG REWRITE state (`def` is the default). */
  rewrite(state: RewriteState, name: string, v: T, def: T): void;
}

function single(args: string[]): string {
  if (args.length !== 1) reject("wrong number of arguments");
  return args[0];
}

function plainLine(state: RewriteState, name: string, value: string, force: boolean): void {
  state.rewriteLine(name, `${name} ${value}`, force);
}

// ---------------------------------------------------------------------------
// Booleans

/** yes/no. `validate` may throw with a reason. */
export function boolType(validate?: (v: boolean) => void): ParamType<boolean> {
  return {
    multiArg: false,
    parse(args) {
      const v = yesNo(single(args));
      if (v === null) reject("argument must be 'yes' or 'no'");
      validate?.(v);
      return v;
    },
    format: (v) => (v ? "yes" : "no"),
    same: (a, b) => a === b,
    rewrite: (state, name, v, def) => plainLine(state, name, v ? "yes" : "no", v !== def),
  };
}

// ---------------------------------------------------------------------------
// Strings

/**
 * A string. With `emptyIsNull`, "" means "not set": CONFIG REWRITE then
 * removes the directive instead of writing `name ""`.
 */
export function stringType(
  emptyIsNull: boolean,
  validate?: (v: string) => void,
): ParamType<string> {
  return {
    multiArg: false,
    parse(args) {
      const v = single(args);
      validate?.(v);
      return v;
    },
    format: (v) => v,
    same: (a, b) => a === b,
    rewrite(state, name, v, def) {
      if (emptyIsNull && v === "") return state.markProcessed(name);
      const defIsNull = emptyIsNull && def === "";
      plainLine(state, name, repr(v), defIsNull || v !== def);
    },
  };
}

// ---------------------------------------------------------------------------
// Enums

/** Allowed names and their values, in Redis' order (the error text lists them). */
export type EnumTable = readonly (readonly [string, number])[];

/** Prints an enum value (`configEnumGetName`): flag sets as `save now`, unknown as "unknown". */
function enumName(table: EnumTable, value: number, bitflags: boolean): string {
  const names: string[] = [];
  let unmatched = value;
  for (const [name, val] of table) {
    if (value === val) return name;
    if (bitflags && val !== 0 && (unmatched & val) === val) {
      names.push(name);
      unmatched &= ~val;
    }
  }
  return names.length === 0 || unmatched !== 0 ? "unknown" : names.join(" ");
}

/** One of a fixed set of names (any case); with `bitflags`, a set of flag names. */
export function enumType(
  table: EnumTable,
  bitflags = false,
  validate?: (v: number) => void,
): ParamType<number> {
  const options = "argument(s) must be one of the following: " +
    table.map(([n]) => n).join(", ");
  return {
    multiArg: bitflags,
    parse(args) {
      if (args.length === 0 || (!bitflags && args.length !== 1)) reject(options);
      let value = 0;
      for (const arg of args) {
        const lower = arg.toLowerCase();
        const hit = table.find(([n]) => n === lower);
        if (hit === undefined) reject(options);
        value |= hit[1];
      }
      validate?.(value);
      return value;
    },
    format: (v) => enumName(table, v, bitflags),
    same: (a, b) => a === b,
    rewrite: (state, name, v, def) =>
      plainLine(state, name, enumName(table, v, bitflags), v !== def),
  };
}

// ---------------------------------------------------------------------------
// Numbers

/** The C type a numeric parameter has in Redis (unsigned ones compare bounds unsigned). */
export type CType =
  | "int"
  | "uint"
  | "long"
  | "ulong"
  | "llong"
  | "ullong"
  | "size"
  | "ssize"
  | "off"
  | "time";

/** Forms a number may be written in, besides a plain integer. */
export interface NumberForms {
  /** `100mb`, `1gb`... (printed as plain bytes by CONFIG GET). */
  memory?: boolean;
  /** `50%`, stored as a negative number. */
  percent?: boolean;
  /** Octal digits (`unixsocketperm`). */
  octal?: boolean;
}

const UNSIGNED = new Set<CType>(["uint", "ullong", "size"]);

/** Integer bounds used by the table. */
export const LIMITS = {
  INT_MIN: -(2n ** 31n),
  INT_MAX: 2n ** 31n - 1n,
  UINT_MAX: 2n ** 32n - 1n,
  LONG_MAX: 2n ** 63n - 1n,
  LLONG_MAX: 2n ** 63n - 1n,
  ULLONG_MAX: -1n, // as Redis stores it in a long long
} as const;

function parseNumber(s: string, forms: NumberForms): bigint {
  if (forms.memory) {
    const v = memtoull(s);
    if (v !== null) return BigInt.asIntN(64, v);
  }
  if (forms.percent && s.length > 1 && s.endsWith("%")) {
    const v = string2ll(s.slice(0, -1));
    if (v !== null && v >= 0n) return -v;
  }
  if (forms.octal) {
    const r = strtoll(s, 8);
    if (!r.overflow && r.rest === "") return r.value;
  }
  if (!forms.memory && !forms.percent && !forms.octal) {
    const v = string2ll(s);
    if (v !== null) return v;
  }
  if (forms.memory && forms.percent) reject("argument must be a memory or percent value");
  if (forms.memory) reject("argument must be a memory value");
  if (forms.octal) reject("argument couldn't be parsed as an octal number");
  reject("argument couldn't be parsed into an integer");
}

function checkBounds(ctype: CType, min: bigint, max: bigint, forms: NumberForms, v: bigint): void {
  if (UNSIGNED.has(ctype)) {
    const u = BigInt.asUintN(64, v);
    const lo = BigInt.asUintN(64, min);
    const hi = BigInt.asUintN(64, max);
    if (u > hi || u < lo) {
      const f = (x: bigint) => (forms.octal ? x.toString(8) : x.toString());
      reject(`argument must be between ${f(lo)} and ${f(hi)} inclusive`);
    }
    return;
  }
  if (forms.percent && v < 0n) {
    if (v < min) reject(`percentage argument must be less or equal to ${-min}`);
    return;
  }
  if (v > max || v < min) reject(`argument must be between ${min} and ${max} inclusive`);
}

/** An integer (stored as a 64-bit bigint, the way Redis stores it in a long long). */
export function numberType(
  ctype: CType,
  min: bigint,
  max: bigint,
  forms: NumberForms = {},
  normalize?: (v: bigint, ctx: ParseContext) => bigint,
): ParamType<bigint> {
  const show = (v: bigint): string => {
    if (forms.percent && v < 0n) return `${-v}%`;
    if (forms.memory) return BigInt.asUintN(64, v).toString();
    if (forms.octal) return v.toString(8);
    return v.toString();
  };
  return {
    multiArg: false,
    parse(args, _prev, ctx) {
      const v = parseNumber(single(args), forms);
      checkBounds(ctype, min, max, forms, v);
      return normalize ? normalize(v, ctx) : v;
    },
    format: show,
    same: (a, b) => a === b,
    rewrite(state, name, v, def) {
      let text: string;
      if (forms.percent && v < 0n) text = `${-v}%`;
      else if (forms.memory) text = formatMemoryUnits(v);
      else text = show(v);
      plainLine(state, name, text, v !== def);
    },
  };
}

// ---------------------------------------------------------------------------
// Special parameters

/** Value of `save`: pairs of seconds and changes. */
export type SaveValue = readonly (readonly [bigint, number])[];

/** `save <seconds> <changes> ...`; the first `save` read at start-up replaces the defaults, later ones add. */
export const saveType: ParamType<SaveValue> = {
  multiArg: true,
  parse(args, prev, ctx) {
    if (args.length === 1 && args[0] === "") args = [];
    if (args.length % 2 !== 0) reject("Invalid save parameters");
    const rules: [bigint, number][] = [];
    for (let j = 0; j < args.length; j += 2) {
      const s = strtoll(args[j]);
      const c = strtoll(args[j + 1]);
      if (s.rest !== "" || s.value < 1n || c.rest !== "" || c.value < 0n) {
        reject("Invalid save parameters");
      }
      rules.push([s.value, toCInt(c.value)]);
    }
    // Redis keeps accumulating `save` lines while reading the config at start-up.
    return ctx.loading && ctx.seen ? [...prev, ...rules] : rules;
  },
  format: (v) => v.map(([s, c]) => `${s} ${c}`).join(" "),
  same: () => false,
  rewrite(state, name, v) {
    if (v.length === 0) state.rewriteLine(name, 'save ""', true);
    for (const [s, c] of v) state.rewriteLine(name, `save ${s} ${c}`, true);
    state.markProcessed(name);
  },
};

/** One class's output buffer limit. */
export interface BufferLimit {
  hard: bigint;
  soft: bigint;
  softSeconds: number;
}

/** Value of `client-output-buffer-limit`, by class. */
export interface BufferLimits {
  normal: BufferLimit;
  replica: BufferLimit;
  pubsub: BufferLimit;
}

const CLASS_ORDER = ["normal", "replica", "pubsub"] as const;
const CLASS_NAMES: Record<string, keyof BufferLimits | "master"> = {
  normal: "normal",
  slave: "replica",
  replica: "replica",
  pubsub: "pubsub",
  master: "master",
};

/** `client-output-buffer-limit <class> <hard> <soft> <seconds> ...`; classes not named keep their limits. */
export function bufferLimitsType(defaults: BufferLimits): ParamType<BufferLimits> {
  const same = (a: BufferLimit, b: BufferLimit) =>
    a.hard === b.hard && a.soft === b.soft && a.softSeconds === b.softSeconds;
  return {
    multiArg: true,
    parse(args, prev) {
      if (args.length % 4 !== 0) {
        reject("Wrong number of arguments in buffer limit configuration.");
      }
      const next = { ...prev };
      for (let j = 0; j < args.length; j += 4) {
        const cls = CLASS_NAMES[args[j].toLowerCase()];
        if (cls === undefined || cls === "master") {
          reject("Invalid client class specified in buffer limit configuration.");
        }
        const hard = memtoull(args[j + 1]);
        const soft = memtoull(args[j + 2]);
        const secs = strtoll(args[j + 3]);
        const softSeconds = toCInt(secs.value);
        if (hard === null || soft === null || softSeconds < 0 || secs.rest !== "") {
          reject("Error in hard, soft or soft_seconds setting in buffer limit configuration.");
        }
        next[cls] = { hard, soft, softSeconds };
      }
      return next;
    },
    format: (v) =>
      CLASS_ORDER.map((c) => {
        const l = v[c];
        return `${c === "replica" ? "slave" : c} ${l.hard} ${l.soft} ${l.softSeconds}`;
      }).join(" "),
    same: () => false,
    rewrite(state, name, v) {
      for (const c of CLASS_ORDER) {
        const l = v[c];
        const line = `${name} ${c} ${formatMemoryUnits(BigInt.asIntN(64, l.hard))} ${
          formatMemoryUnits(BigInt.asIntN(64, l.soft))
        } ${l.softSeconds}`;
        state.rewriteLine(name, line, !same(l, defaults[c]));
      }
    },
  };
}

/** `oom-score-adj-values <master> <replica> <bg-child>`. */
export const oomScoreAdjValuesType: ParamType<readonly number[]> = {
  multiArg: true,
  parse(args) {
    if (args.length !== 3) reject("wrong number of arguments");
    return args.map((a) => {
      const r = strtoll(a);
      if (r.rest !== "" || r.value < -2000n || r.value > 2000n) {
        reject("Invalid oom-score-adj-values, elements must be between -2000 and 2000.");
      }
      return Number(r.value);
    });
  },
  format: (v) => v.join(" "),
  same: (a, b) => a.every((x, i) => x === b[i]),
  rewrite(state, name, v, def) {
    plainLine(state, name, v.join(" "), !v.every((x, i) => x === def[i]));
  },
};

/** `notify-keyspace-events <classes>`, stored as flag bits. */
export const notifyEventsType: ParamType<number> = {
  multiArg: false,
  parse(args) {
    const flags = parseNotifyFlags(single(args));
    if (flags === null) reject("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
    return flags;
  },
  format: formatNotifyFlags,
  same: () => false,
  rewrite: (state, name, v) => plainLine(state, name, repr(formatNotifyFlags(v)), v !== 0),
};

/** Most addresses `bind` accepts (CONFIG_BINDADDR_MAX). */
const BIND_MAX = 16;

/** `bind <addr> ...`; `""` means no address. */
export const bindType: ParamType<readonly string[]> = {
  multiArg: true,
  parse(args) {
    if (args.length > BIND_MAX) reject("Too many bind addresses specified.");
    return args.length === 1 && args[0] === "" ? [] : [...args];
  },
  format: (v) => v.join(" "),
  same: () => false,
  rewrite(state, name, v, def) {
    if (v.length === def.length && v.every((a, i) => a === def[i])) {
      return state.markProcessed(name);
    }
    state.rewriteLine(name, `${name} ${v.length > 0 ? v.join(" ") : '""'}`, true);
  },
};

/** Value of `replicaof`: null when this is a master. */
export type ReplicaOf = { host: string; port: number } | null;

/** `replicaof <host> <port>` or `replicaof no one`. */
export const replicaOfType: ParamType<ReplicaOf> = {
  multiArg: true,
  parse(args) {
    if (args.length !== 2) reject("wrong number of arguments");
    if (args[0].toLowerCase() === "no" && args[1].toLowerCase() === "one") return null;
    const r = strtoll(args[1]);
    if (r.value < 0n || r.value > 65535n || r.rest !== "") reject("Invalid master port");
    return { host: args[0], port: Number(r.value) };
  },
  format: (v) => (v ? `${v.host} ${v.port}` : ""),
  same: () => false,
  rewrite(state, name, v) {
    if (v === null) return state.markProcessed(name);
    state.rewriteLine(name, `${name} ${v.host} ${v.port}`, true);
  },
};

/** `latency-tracking-info-percentiles <p> ...` (0.0 to 100.0; `""` for none). */
export const percentilesType: ParamType<readonly number[]> = {
  multiArg: true,
  parse(args) {
    if (args.length === 1 && args[0] === "") return [];
    return args.map((a) => {
      const d = string2d(a);
      if (d === null) reject("Invalid latency-tracking-info-percentiles parameters");
      if (d > 100 || d < 0) {
        reject("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]");
      }
      return d;
    });
  },
  format: (v) => v.map(formatPercentile).join(" "),
  same: () => false,
  rewrite(state, name, v) {
    const values = v.length === 0 ? ' ""' : v.map((d) => " " + formatPercentile(d)).join("");
    state.rewriteLine(name, name + values, true);
  },
};

/**
 * `dir`: the working directory. Parsing checks the directory and resolves it
 * to an absolute path; the parameter's `apply` changes into it, as Redis
 * does (so relative log and data file names resolve inside it).
 */
export const dirType: ParamType<string> = {
  multiArg: false,
  parse(args) {
    const path = fsPath(single(args));
    try {
      const abs = Deno.realPathSync(path);
      if (!Deno.statSync(abs).isDirectory) reject("Not a directory");
      return configText(abs);
    } catch (err) {
      reject(strerror(err));
    }
  },
  format: (v) => v,
  same: () => false,
  rewrite: (state, name, v) => plainLine(state, name, repr(v), true),
};
