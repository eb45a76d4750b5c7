/**
 * The command table: every family's declarations gathered into one lookup.
 *
 * A family module exports an array of `CommandSpec`; adding a family means
 * adding it to `FAMILIES` below and nothing else.
 *
 * @module
 */

import type { CommandSpec } from "./types.ts";
import { connectionCommands } from "./connection.ts";
import { stringCommands } from "./strings.ts";
import { keyCommands } from "./keys.ts";
import { expireCommands } from "./expire.ts";
import { serverCommands } from "./server.ts";
import { clientCommands } from "./client.ts";
import { configCommands } from "./config.ts";
import { introspectionCommands } from "./command_info.ts";
import { pubsubCommands } from "./pubsub.ts";
import { persistenceCommands } from "./persistence.ts";

const FAMILIES: readonly (readonly CommandSpec[])[] = [
  connectionCommands,
  stringCommands,
  keyCommands,
  expireCommands,
  serverCommands,
  clientCommands,
  configCommands,
  introspectionCommands,
  pubsubCommands,
  persistenceCommands,
];

/** A resolved table entry, with its subcommands indexed by name. */
export interface Command {
  spec: CommandSpec;
  /** Full name as used in errors and stats: `get`, `config|get`. */
  fullName: string;
  parent: Command | null;
  subcommands: Map<string, Command> | null;
  /** Per-command stats (INFO commandstats). */
  calls: number;
  usec: number;
  rejectedCalls: number;
  failedCalls: number;
  /** Flag lookups used on every call. */
  isWrite: boolean;
  allowedWhileLoading: boolean;
  noAuth: boolean;
  skipSlowlog: boolean;
  /** Flagged fast: O(1), so not timed one by one (see Dispatcher.beginBatch). */
  fast: boolean;
  /** Not shown to MONITOR (admin commands and those flagged skip_monitor). */
  skipMonitor: boolean;
}

function resolve(spec: CommandSpec, parent: Command | null): Command {
  const cmd: Command = {
    spec,
    fullName: parent ? `${parent.fullName}|${spec.name}` : spec.name,
    parent,
    subcommands: null,
    calls: 0,
    usec: 0,
    rejectedCalls: 0,
    failedCalls: 0,
    isWrite: spec.flags.includes("write"),
    allowedWhileLoading: spec.flags.includes("loading"),
    noAuth: spec.flags.includes("no_auth"),
    skipSlowlog: spec.flags.includes("skip_slowlog"),
    fast: spec.flags.includes("fast"),
    skipMonitor: spec.flags.includes("admin") || spec.flags.includes("skip_monitor"),
  };
  if (spec.subcommands) {
    cmd.subcommands = new Map();
    for (const sub of spec.subcommands) {
      cmd.subcommands.set(sub.name, resolve(sub, cmd));
    }
  }
  return cmd;
}

/** Builds the lookup map from the declared families. */
export function buildCommandTable(
  families: readonly (readonly CommandSpec[])[] = FAMILIES,
): Map<string, Command> {
  const table = new Map<string, Command>();
  for (const family of families) {
    for (const spec of family) {
      if (table.has(spec.name)) {
        throw new Error(`Command "${spec.name}" is declared twice`);
      }
      table.set(spec.name, resolve(spec, null));
    }
  }
  return table;
}

/** Every command and subcommand in the table, parents first. */
export function* allCommands(
  table: Map<string, Command>,
): Generator<Command> {
  for (const cmd of table.values()) {
    yield cmd;
    if (cmd.subcommands) yield* cmd.subcommands.values();
  }
}
