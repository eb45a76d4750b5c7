/**
 * CONFIG GET, SET, RESETSTAT, REWRITE and HELP, over the config registry
 * (`src/config/`), with Redis 7.0's replies and error texts.
 *
 * @module
 */

import type { CommandSpec } from "./types.ts";
import type { Client } from "../server/client.ts";
import type { Server } from "../server/server.ts";
import { bytesOf, latin1 } from "../protocol/latin1.ts";
import { allCommands } from "./table.ts";
import { Errors } from "./util.ts";
import { replyHelp } from "./help.ts";
import { SENSITIVE } from "../config/params.ts";
import { rewriteConfigFile } from "../config/rewrite.ts";
import { strerror } from "../config/values.ts";

function configGet(client: Client, args: Uint8Array[]): void {
  const pairs = client.server.configRegistry.getMatching(args.slice(2).map(latin1));
  const out = client.out;
  out.map(pairs.length);
  for (const [name, value] of pairs) {
    out.bulkString(name);
    out.bulkString(value);
  }
}

/** What the slow log shows instead of a sensitive value (Redis' shared.redacted). */
const REDACTED = bytesOf("(redacted)");

/** True for loopback peers (`enable-protected-configs local`). */
function isLocalClient(client: Client): boolean {
  const host = (client.conn.remoteAddr as Deno.NetAddr).hostname;
  return host === "127.0.0.1" || host === "::1";
}

function configSet(client: Client, args: Uint8Array[]): void {
  if (args.length % 2 === 1) return client.out.error(Errors.syntax);
  const registry = client.server.configRegistry;
  const pairs: [string, string][] = [];
  for (let i = 2; i < args.length; i += 2) {
    const name = latin1(args[i]);
    pairs.push([name, latin1(args[i + 1])]);
    // Replaced in the request itself, so the slow log never records a password.
    if ((registry.lookup(name)?.param.flags ?? 0) & SENSITIVE) args[i + 1] = REDACTED;
  }
  const error = registry.setMany(pairs, {
    local: isLocalClient(client),
    loading: client.server.loading,
  });
  if (error === null) client.out.ok();
  else client.out.error(error);
}

/** Zeroes every counter of a stats record (numbers, maps, sample lists). */
function zeroCounters(stats: object): void {
  const rec = stats as Record<string, unknown>;
  for (const [key, value] of Object.entries(rec)) {
    if (typeof value === "number") rec[key] = 0;
    else if (value instanceof Map) value.clear();
    else if (Array.isArray(value)) value.length = 0;
  }
}

/**
 * CONFIG RESETSTAT: server stats and error stats, keyspace hits/misses and
 * expiry stats, and every command's and subcommand's call stats.
 */
export function resetStats(server: Server): void {
  zeroCounters(server.stats);
  zeroCounters(server.keyspace.stats);
  for (const cmd of allCommands(server.commands)) {
    cmd.calls = 0;
    cmd.usec = 0;
    cmd.rejectedCalls = 0;
    cmd.failedCalls = 0;
  }
}

function configResetStat(client: Client): void {
  resetStats(client.server);
  client.out.ok();
}

function configRewrite(client: Client): void {
  const server = client.server;
  const path = server.config.configFile;
  if (path === "") return client.out.error("ERR The server is running without a config file");
  try {
    rewriteConfigFile(server.configRegistry, path);
  } catch (err) {
    server.log.warn(`CONFIG REWRITE failed: ${strerror(err)}`);
    return client.out.error(`ERR Rewriting config file: ${strerror(err)}`);
  }
  server.log.warn("CONFIG REWRITE executed with success.");
  client.out.ok();
}

const CONFIG_HELP = [
  "GET <pattern>",
  "    Return parameters matching the glob-like <pattern> and their values.",
  "SET <directive> <value>",
  "    Set the configuration <directive> to <value>.",
  "RESETSTAT",
  "    Reset statistics reported by the INFO command.",
  "REWRITE",
  "    Rewrite the configuration file.",
];

/** Declarations. */
export const configCommands: CommandSpec[] = [
  {
    name: "config",
    arity: -2,
    flags: [],
    group: "server",
    summary: "A container for server configuration commands",
    since: "2.0.0",
    complexity: "Depends on subcommand.",
    subcommands: [
      {
        name: "help",
        arity: 2,
        flags: ["loading", "stale"],
        group: "server",
        summary: "Show helpful text about the different subcommands",
        since: "5.0.0",
        complexity: "O(1)",
        handler: (client) => replyHelp(client.out, "config", CONFIG_HELP),
      },
      {
        name: "resetstat",
        arity: 2,
        flags: ["admin", "noscript", "loading", "stale"],
        group: "server",
        summary: "Reset the stats returned by INFO",
        since: "2.0.0",
        complexity: "O(1)",
        handler: configResetStat,
      },
      {
        name: "get",
        arity: -3,
        flags: ["admin", "noscript", "loading", "stale"],
        group: "server",
        summary: "Get the values of configuration parameters",
        since: "2.0.0",
        complexity: "O(N) when N is the number of configuration parameters provided",
        syntax: "parameter [parameter ...]",
        handler: configGet,
      },
      {
        name: "rewrite",
        arity: 2,
        flags: ["admin", "noscript", "loading", "stale"],
        group: "server",
        summary: "Rewrite the configuration file with the in memory configuration",
        since: "2.8.0",
        complexity: "O(1)",
        handler: configRewrite,
      },
      {
        name: "set",
        arity: -4,
        flags: ["admin", "noscript", "loading", "stale"],
        group: "server",
        summary: "Set configuration parameters to the given values",
        since: "2.0.0",
        complexity: "O(N) when N is the number of configuration parameters provided",
        syntax: "parameter value [parameter value ...]",
        tips: ["request_policy:all_nodes", "response_policy:all_succeeded"],
        handler: configSet,
      },
    ],
  },
];
