/**
 * Server introspection and control: INFO, MONITOR, SLOWLOG, LATENCY,
 * DEBUG (SLEEP, SET-ACTIVE-EXPIRE, LOG, CHANGE-REPL-ID), SHUTDOWN and ROLE
 * (LASTSAVE lives with SAVE and BGSAVE in `persistence.ts`).
 *
 * @module
 */

import type { CommandSpec } from "./types.ts";
import type { Client } from "../server/client.ts";
import { asciiLower, bytesOf, isWord, latin1 } from "../protocol/latin1.ts";
import { parseInt64 } from "../common/numbers.ts";
import { Errors } from "./util.ts";
import { replyHelp } from "./help.ts";
import { buildInfo } from "../server/info.ts";

function info(client: Client, args: Uint8Array[]): void {
  const sections = args.slice(1).map((a) => asciiLower(latin1(a)));
  client.out.verbatim(buildInfo(client.server, sections));
}

function monitor(client: Client): void {
  // A client already monitoring gets no reply, as in Redis.
  if (client.monitor) return;
  client.monitor = true;
  client.server.monitors.add(client);
  client.out.ok();
}

function slowlogGet(client: Client, args: Uint8Array[]): void {
  const out = client.out;
  let count = 10;
  if (args.length === 3) {
    const v = parseInt64(args[2]);
    if (v === null || v < -1) {
      return out.error("ERR count should be greater than or equal to -1");
    }
    count = v === -1 ? Infinity : Number(v);
  }
  const entries = client.server.slowlog.entries.slice(0, count);
  out.array(entries.length);
  for (const e of entries) {
    out.array(6);
    out.integer(e.id);
    out.integer(e.time);
    out.integer(e.durationUs);
    out.array(e.args.length);
    for (const a of e.args) out.bulk(a);
    out.bulkString(e.addr);
    out.bulkString(e.name);
  }
}

const SLOWLOG_HELP = [
  "GET [<count>]",
  "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
  "    Entries are made of:",
  "    id, timestamp, time in microseconds, arguments array, client IP and port,",
  "    client name",
  "LEN",
  "    Return the length of the slowlog.",
  "RESET",
  "    Reset the slowlog.",
];

const LATENCY_HELP = [
  "DOCTOR",
  "    Return a human readable latency analysis report.",
  "GRAPH <event>",
  "    Return an ASCII latency graph for the <event> class.",
  "HISTORY <event>",
  "    Return time-latency samples for the <event> class.",
  "LATEST",
  "    Return the latest latency samples for all events.",
  "RESET [<event> ...]",
  "    Reset latency data of one or more <event> classes.",
  "    (default: reset all data for all event classes)",
];

/** LATENCY DOCTOR's answer while latency monitoring is off (no events are ever recorded here). */
const LATENCY_DISABLED =
  "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. " +
  'You may use "CONFIG SET latency-monitor-threshold <milliseconds>." in order to enable it. ' +
  "If we weren't in a deep space mission I'd suggest to take a look at " +
  "https://redis.io/topics/latency-monitor.\n";

/** LATENCY DOCTOR's answer when monitoring is on but nothing was recorded. */
const LATENCY_NO_EVENTS =
  "Dave, no latency spike was observed during the lifetime of this Redis instance, " +
  "not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, " +
  "and think things over.\n";

function latencyDoctor(client: Client): void {
  client.out.verbatim(
    client.server.config.latencyMonitorThreshold > 0 ? LATENCY_NO_EVENTS : LATENCY_DISABLED,
  );
}

const DEBUG_HELP = [
  "CHANGE-REPL-ID",
  "    Change the replication IDs of the instance.",
  "    Dangerous: should be used only for testing the replication subsystem.",
  "LOG <message>",
  "    Write <message> to the server log.",
  "POPULATE <count> [<prefix>] [<size>]",
  "    Create <count> string keys named key:<num>. If <prefix> is specified then",
  "    it is used instead of the 'key' prefix. These are not propagated to",
  "    replicas. Cluster slots are not respected so keys not belonging to the",
  "    current node can be created in cluster mode.",
  "SET-ACTIVE-EXPIRE <0|1>",
  "    Setting it to 0 disables expiring keys in background when they are not",
  "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
  "    default.",
  "SLEEP <seconds>",
  "    Stop the server for <seconds>. Decimals allowed.",
];

const DEBUG_NOT_ALLOWED =
  'ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", ' +
  "you can run it from a local connection, otherwise you need to set this option in the " +
  "configuration file, and then restart the server.";

/** True for loopback peers (`enable-debug-command local`). */
function isLocal(client: Client): boolean {
  return client.addr.startsWith("127.") || client.addr.startsWith("::1:") ||
    client.addr.startsWith("[::1]:");
}

/** C `strtod` on a prefix: the leading number, or 0 when there is none. */
function strtod(s: string): number {
  const v = parseFloat(s);
  return Number.isNaN(v) ? 0 : v;
}

/** C `atoi`: the leading integer, or 0. */
function atoi(s: string): number {
  const v = parseInt(s, 10);
  return Number.isNaN(v) ? 0 : v;
}

/** Blocks the whole process for `ms` milliseconds, as Redis' DEBUG SLEEP blocks its event loop. */
function blockingSleep(ms: number): void {
  if (!(ms > 0)) return;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(cell, 0, 0, ms);
}

/** A count or size of DEBUG POPULATE: an integer ≥ 0, else null. */
function nonNegative(arg: Uint8Array): number | null {
  const v = parseInt64(arg);
  return v === null || v < 0n ? null : Number(v);
}

/**
 * DEBUG POPULATE count [prefix] [size]: creates `prefix:N` (default `key:N`,
 * cut at 127 bytes as Redis' buffer does) holding `value:N`, padded with
 * zero bytes or cut to `size`, for N below count; existing keys are left
 * alone. Like Redis, neither dirty nor notified. False on a bad number.
 */
function populate(client: Client, args: Uint8Array[]): boolean {
  const count = nonNegative(args[2]);
  const size = args.length === 5 ? nonNegative(args[4]) : 0;
  if (count === null || size === null) return false;
  const prefix = args.length >= 4 ? latin1(args[3]) : "key";
  const db = client.db;
  for (let j = 0; j < count; j++) {
    const key = `${prefix}:${j}`.slice(0, 127);
    if (db.peek(key) !== undefined) continue;
    let value = bytesOf(`value:${j}`);
    if (size > 0) {
      const padded = new Uint8Array(size);
      padded.set(value.subarray(0, size));
      value = padded;
    }
    db.set(key, "string", value);
  }
  return true;
}

function debug(client: Client, args: Uint8Array[]): void {
  const out = client.out;
  const server = client.server;
  const allowed = server.config.enableDebugCommand;
  if (allowed !== "yes" && !(allowed === "local" && isLocal(client))) {
    return out.error(DEBUG_NOT_ALLOWED);
  }
  const sub = latin1(args[1]);
  const n = args.length;
  if (isWord(args[1], "help") && n === 2) {
    return replyHelp(out, "debug", DEBUG_HELP);
  } else if (isWord(args[1], "sleep") && n === 3) {
    blockingSleep(strtod(latin1(args[2])) * 1000);
  } else if (isWord(args[1], "set-active-expire") && n === 3) {
    server.activeExpireEnabled = atoi(latin1(args[2])) !== 0;
  } else if (isWord(args[1], "log") && n === 3) {
    server.log.warn(`DEBUG LOG: ${latin1(args[2])}`);
  } else if (isWord(args[1], "populate") && n >= 3 && n <= 5) {
    if (!populate(client, args)) return out.error("ERR value is out of range, must be positive");
  } else if (isWord(args[1], "change-repl-id") && n === 2) {
    // No replication: nothing to change.
  } else {
    return out.error(
      `ERR unknown subcommand or wrong number of arguments for '${sub}'. Try DEBUG HELP.`,
    );
  }
  out.ok();
}

function shutdown(client: Client, args: Uint8Array[]): void {
  const out = client.out;
  let save: boolean | null = null;
  let nosave = false;
  let flagged = false;
  let abort = false;
  let force = false;
  for (let i = 1; i < args.length; i++) {
    if (isWord(args[i], "nosave")) {
      nosave = true;
      flagged = true;
    } else if (isWord(args[i], "save")) {
      save = true;
      flagged = true;
    } else if (isWord(args[i], "now") || isWord(args[i], "force")) {
      // No replicas to wait for; FORCE also exits when the final save fails.
      force ||= isWord(args[i], "force");
      flagged = true;
    } else if (isWord(args[i], "abort")) {
      abort = true;
    } else return out.error(Errors.syntax);
  }
  if ((abort && flagged) || (nosave && save)) return out.error(Errors.syntax);
  // Shutdown never waits for replicas here, so there is never one to abort.
  if (abort) return out.error("ERR No shutdown in progress.");
  if (nosave) save = false;
  const p = client.server.persistence;
  if (p.wantsFinalSave(save) && !p.finalSave(force)) {
    client.server.log.warn(
      "Errors trying to shut down the server. Check the logs for more information.",
    );
    return out.error("ERR Errors trying to SHUTDOWN. Check logs.");
  }
  // No reply: the connection closes with the server, as in Redis.
  client.server.shutdown(save);
}

function role(client: Client): void {
  const out = client.out;
  out.array(3);
  out.bulkString("master");
  out.integer(0);
  out.array(0);
}

const ADMIN: CommandSpec["flags"] = ["admin", "noscript", "loading", "stale"];
const LATENCY_TIPS = [
  "nondeterministic_output",
  "request_policy:all_nodes",
  "response_policy:special",
];

/** Shared fields of LATENCY's subcommands. */
function latencySub(
  name: string,
  arity: number,
  summary: string,
  handler: CommandSpec["handler"],
  extra: Partial<CommandSpec> = {},
): CommandSpec {
  return {
    name,
    arity,
    flags: ADMIN,
    group: "server",
    summary,
    since: "2.8.13",
    complexity: "O(1)",
    tips: LATENCY_TIPS,
    handler,
    ...extra,
  };
}

/** Server command declarations. */
export const serverCommands: CommandSpec[] = [
  {
    name: "info",
    arity: -1,
    flags: ["loading", "stale"],
    group: "server",
    summary: "Get information and statistics about the server",
    since: "1.0.0",
    complexity: "O(1)",
    syntax: "[section [section ...]]",
    categories: ["dangerous"],
    tips: ["nondeterministic_output", "request_policy:all_shards", "response_policy:special"],
    handler: info,
  },
  {
    name: "monitor",
    arity: 1,
    flags: ADMIN,
    group: "server",
    summary: "Listen for all requests received by the server in real time",
    since: "1.0.0",
    handler: monitor,
  },
  {
    name: "slowlog",
    arity: -2,
    flags: [],
    group: "server",
    summary: "A container for slow log commands",
    since: "2.2.12",
    complexity: "Depends on subcommand.",
    subcommands: [
      {
        name: "get",
        arity: -2,
        flags: ["admin", "loading", "stale"],
        group: "server",
        summary: "Get the slow log's entries",
        since: "2.2.12",
        complexity: "O(N) where N is the number of entries returned",
        syntax: "[count]",
        tips: ["request_policy:all_nodes", "nondeterministic_output"],
        handler: slowlogGet,
      },
      {
        name: "len",
        arity: 2,
        flags: ["admin", "loading", "stale"],
        group: "server",
        summary: "Get the slow log's length",
        since: "2.2.12",
        complexity: "O(1)",
        tips: ["request_policy:all_nodes", "response_policy:agg_sum", "nondeterministic_output"],
        handler: (c) => c.out.integer(c.server.slowlog.entries.length),
      },
      {
        name: "reset",
        arity: 2,
        flags: ["admin", "loading", "stale"],
        group: "server",
        summary: "Clear all entries from the slow log",
        since: "2.2.12",
        complexity: "O(N) where N is the number of entries in the slowlog",
        tips: ["request_policy:all_nodes", "response_policy:all_succeeded"],
        handler: (c) => {
          c.server.slowlog.reset();
          c.out.ok();
        },
      },
      {
        name: "help",
        arity: 2,
        flags: ["loading", "stale"],
        group: "server",
        summary: "Show helpful text about the different subcommands",
        since: "6.2.0",
        complexity: "O(1)",
        handler: (c) => replyHelp(c.out, "slowlog", SLOWLOG_HELP),
      },
    ],
  },
  {
    name: "latency",
    arity: -2,
    flags: [],
    group: "server",
    summary: "A container for latency diagnostics commands",
    since: "2.8.13",
    complexity: "Depends on subcommand.",
    subcommands: [
      latencySub(
        "latest",
        2,
        "Return the latest latency samples for all events.",
        (c) => c.out.array(0),
      ),
      latencySub(
        "history",
        3,
        "Return timestamp-latency samples for the event.",
        (c) => c.out.array(0),
        { syntax: "event" },
      ),
      latencySub(
        "graph",
        3,
        "Return a latency graph for the event.",
        (c, a) => c.out.error(`ERR No samples available for event '${latin1(a[2])}'`),
        { syntax: "event" },
      ),
      latencySub(
        "reset",
        -2,
        "Reset latency data for one or more events.",
        (c) => c.out.integer(0),
        {
          syntax: "[event [event ...]]",
          tips: ["request_policy:all_nodes", "response_policy:all_succeeded"],
        },
      ),
      latencySub("doctor", 2, "Return a human readable latency analysis report.", latencyDoctor),
      {
        name: "help",
        arity: 2,
        flags: ["loading", "stale"],
        group: "server",
        summary: "Show helpful text about the different subcommands.",
        since: "2.8.13",
        complexity: "O(1)",
        handler: (c) => replyHelp(c.out, "latency", LATENCY_HELP),
      },
    ],
  },
  {
    name: "debug",
    arity: -2,
    flags: ADMIN,
    group: "server",
    summary: "A container for debugging commands",
    since: "1.0.0",
    complexity: "Depends on subcommand.",
    handler: debug,
  },
  {
    name: "shutdown",
    arity: -1,
    flags: ["admin", "noscript", "loading", "stale", "no_multi", "allow_busy"],
    group: "server",
    summary: "Synchronously save the dataset to disk and then shut down the server",
    since: "1.0.0",
    complexity:
      "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)",
    syntax: "[NOSAVE | SAVE] [NOW] [FORCE] [ABORT]",
    handler: shutdown,
  },
  {
    name: "role",
    arity: 1,
    flags: ["noscript", "loading", "stale", "fast"],
    group: "server",
    summary: "Return the role of the instance in the context of replication",
    since: "2.8.12",
    complexity: "O(1)",
    categories: ["admin", "dangerous"],
    handler: role,
  },
];
