/**
 * COMMAND and its subcommands: COUNT, INFO, DOCS, LIST, GETKEYS,
 * GETKEYSANDFLAGS, HELP — the command table described the way Redis 7.0
 * describes its own (reply shapes of `COMMAND INFO` and `COMMAND DOCS`).
 *
 * @module
 */

import type { CommandSpec, KeySpecDecl } from "./types.ts";
import type { Client } from "../server/client.ts";
import type { ReplyWriter } from "../protocol/reply_writer.ts";
import { allCommands, type Command } from "./table.ts";
import { asciiLower, isWord, latin1 } from "../protocol/latin1.ts";
import { globMatch } from "../common/glob.ts";
import { Errors } from "./util.ts";
import {
  aclCategories,
  docArgs,
  findKeys,
  hasKeys,
  type KeyRef,
  keySpecs,
  legacyKeys,
  visibleFlags,
} from "./command_meta.ts";
import { writeArgs } from "./docs.ts";
import { replyHelp } from "./help.ts";

/** Finds a command by name or `container|sub` full name, case-insensitively. */
export function lookupByFullName(client: Client, name: string): Command | undefined {
  const parts = asciiLower(name).split("|");
  if (parts.length > 2) return undefined;
  const top = client.server.commands.get(parts[0]);
  if (parts.length === 1 || top === undefined) return top;
  return top.subcommands?.get(parts[1]);
}

/** Writes a set of status strings (flags, categories, tips). */
function statusSet(out: ReplyWriter, items: readonly string[]): void {
  out.set(items.length);
  for (const s of items) out.simple(s);
}

/** Writes one COMMAND INFO entry (10 fields), or null for an unknown command. */
function writeInfo(out: ReplyWriter, cmd: Command | undefined): void {
  if (cmd === undefined) return out.nullBulk();
  const spec = cmd.spec;
  const [first, last, step] = legacyKeys(spec).keys;
  out.array(10);
  out.bulkString(cmd.fullName);
  out.integer(spec.arity);
  statusSet(out, visibleFlags(spec));
  out.integer(first);
  out.integer(last);
  out.integer(step);
  statusSet(out, aclCategories(spec).map((c) => "@" + c));
  // Tips are bulk strings, unlike flags and categories.
  const tips = spec.tips ?? [];
  out.set(tips.length);
  for (const t of tips) out.bulkString(t);
  const specs = keySpecs(spec);
  out.set(specs.length);
  for (const ks of specs) writeKeySpec(out, ks);
  if (cmd.subcommands === null) {
    out.set(0);
  } else {
    out.array(cmd.subcommands.size);
    for (const sub of cmd.subcommands.values()) writeInfo(out, sub);
  }
}

/** Writes a `{type, spec}` map; `fields` are the spec's name/value pairs. */
function writeSearch(out: ReplyWriter, type: string, fields: [string, number | string][]): void {
  out.map(2);
  out.bulkString("type");
  out.bulkString(type);
  out.bulkString("spec");
  out.map(fields.length);
  for (const [k, v] of fields) {
    out.bulkString(k);
    if (typeof v === "number") out.integer(v);
    else out.bulkString(v);
  }
}

/** Writes one key spec as COMMAND INFO does. */
function writeKeySpec(out: ReplyWriter, ks: KeySpecDecl): void {
  out.map(ks.notes !== undefined ? 4 : 3);
  if (ks.notes !== undefined) {
    out.bulkString("notes");
    out.bulkText(ks.notes);
  }
  out.bulkString("flags");
  statusSet(out, ks.flags);
  out.bulkString("begin_search");
  const b = ks.begin;
  if (b === "unknown") writeSearch(out, "unknown", []);
  else if ("index" in b) writeSearch(out, "index", [["index", b.index]]);
  else writeSearch(out, "keyword", [["keyword", b.keyword], ["startfrom", b.startFrom]]);
  out.bulkString("find_keys");
  const f = ks.find;
  if (f === "unknown") writeSearch(out, "unknown", []);
  else if ("lastKey" in f) {
    writeSearch(out, "range", [["lastkey", f.lastKey], ["keystep", f.keyStep], [
      "limit",
      f.limit,
    ]]);
  } else {
    writeSearch(out, "keynum", [["keynumidx", f.keyNumIdx], ["firstkey", f.firstKey], [
      "keystep",
      f.keyStep,
    ]]);
  }
}

/** Writes one COMMAND DOCS entry (a map). */
function writeDocs(out: ReplyWriter, cmd: Command): void {
  const spec = cmd.spec;
  const args = docArgs(cmd);
  const n = 3 + (spec.complexity !== undefined ? 1 : 0) + (args.length > 0 ? 1 : 0) +
    (cmd.subcommands !== null ? 1 : 0);
  out.map(n);
  out.bulkString("summary");
  out.bulkText(spec.summary);
  out.bulkString("since");
  out.bulkString(spec.since);
  out.bulkString("group");
  out.bulkString(spec.group);
  if (spec.complexity !== undefined) {
    out.bulkString("complexity");
    out.bulkText(spec.complexity);
  }
  if (args.length > 0) {
    out.bulkString("arguments");
    writeArgs(out, args);
  }
  if (cmd.subcommands !== null) {
    out.bulkString("subcommands");
    out.map(cmd.subcommands.size);
    for (const sub of cmd.subcommands.values()) {
      out.bulkString(sub.fullName);
      writeDocs(out, sub);
    }
  }
}

function commandAll(client: Client): void {
  const table = client.server.commands;
  client.out.array(table.size);
  for (const cmd of table.values()) writeInfo(client.out, cmd);
}

function commandInfo(client: Client, args: Uint8Array[]): void {
  if (args.length === 2) return commandAll(client);
  client.out.array(args.length - 2);
  for (let i = 2; i < args.length; i++) {
    writeInfo(client.out, lookupByFullName(client, latin1(args[i])));
  }
}

function commandDocs(client: Client, args: Uint8Array[]): void {
  const out = client.out;
  const found: Command[] = [];
  if (args.length === 2) found.push(...client.server.commands.values());
  else {
    for (let i = 2; i < args.length; i++) {
      const cmd = lookupByFullName(client, latin1(args[i]));
      if (cmd !== undefined) found.push(cmd);
    }
  }
  out.map(found.length);
  for (const cmd of found) {
    out.bulkString(cmd.fullName);
    writeDocs(out, cmd);
  }
}

function commandList(client: Client, args: Uint8Array[]): void {
  let filter: ((cmd: Command) => boolean) | null = null;
  for (let i = 2; i < args.length; i += 3) {
    if (!isWord(args[i], "filterby") || args.length - 1 - i !== 2) {
      return client.out.error(Errors.syntax);
    }
    const value = latin1(args[i + 2]);
    if (isWord(args[i + 1], "module")) {
      filter = () => false;
    } else if (isWord(args[i + 1], "aclcat")) {
      const cat = asciiLower(value);
      filter = (cmd) => aclCategories(cmd.spec).includes(cat);
    } else if (isWord(args[i + 1], "pattern")) {
      filter = (cmd) => globMatch(value, cmd.fullName, true);
    } else {
      return client.out.error(Errors.syntax);
    }
  }
  const names: string[] = [];
  for (const cmd of allCommands(client.server.commands)) {
    if (filter === null || filter(cmd)) names.push(cmd.fullName);
  }
  client.out.stringArray(names);
}

/** Resolves the keys of the command in `args[2..]` for GETKEYS; replies the error and returns null on failure. */
function getKeys(client: Client, args: Uint8Array[]): [Uint8Array[], KeyRef[]] | null {
  const out = client.out;
  const target = args.slice(2);
  const cmd = client.server.dispatcher.lookup(target);
  if (cmd === undefined) {
    out.error("ERR Invalid command specified");
    return null;
  }
  if (!hasKeys(cmd.spec)) {
    out.error("ERR The command has no key arguments");
    return null;
  }
  const arity = cmd.spec.arity;
  if ((arity > 0 && arity !== target.length) || target.length < -arity) {
    out.error("ERR Invalid number of arguments specified for command");
    return null;
  }
  const keys = findKeys(cmd.spec, target);
  if (keys === null || keys.length === 0) {
    if (cmd.spec.flags.includes("no_mandatory_keys")) return [target, []];
    out.error("ERR Invalid arguments specified for command");
    return null;
  }
  return [target, keys];
}

function commandGetKeys(client: Client, args: Uint8Array[]): void {
  const r = getKeys(client, args);
  if (r === null) return;
  const [target, keys] = r;
  client.out.array(keys.length);
  for (const k of keys) client.out.bulk(target[k.pos]);
}

function commandGetKeysAndFlags(client: Client, args: Uint8Array[]): void {
  const r = getKeys(client, args);
  if (r === null) return;
  const [target, keys] = r;
  client.out.array(keys.length);
  for (const k of keys) {
    client.out.array(2);
    client.out.bulk(target[k.pos]);
    statusSet(client.out, k.flags);
  }
}

const HELP = [
  "(no subcommand)",
  "    Return details about all Redis commands.",
  "COUNT",
  "    Return the total number of commands in this Redis server.",
  "LIST",
  "    Return a list of all commands in this Redis server.",
  "INFO [<command-name> ...]",
  "    Return details about multiple Redis commands.",
  "    If no command names are given, documentation details for all",
  "    commands are returned.",
  "DOCS [<command-name> ...]",
  "    Return documentation details about multiple Redis commands.",
  "    If no command names are given, documentation details for all",
  "    commands are returned.",
  "GETKEYS <full-command>",
  "    Return the keys from a full Redis command.",
  "GETKEYSANDFLAGS <full-command>",
  "    Return the keys and the access flags from a full Redis command.",
];

/** Shared fields of COMMAND's subcommands. */
function sub(
  name: string,
  arity: number,
  summary: string,
  since: string,
  complexity: string,
  handler: CommandSpec["handler"],
  extra: Partial<CommandSpec> = {},
): CommandSpec {
  return {
    name,
    arity,
    flags: ["loading", "stale"],
    group: "server",
    summary,
    since,
    complexity,
    categories: ["connection"],
    handler,
    ...extra,
  };
}

/** COMMAND declarations. */
export const introspectionCommands: CommandSpec[] = [
  {
    name: "command",
    arity: -1,
    flags: ["loading", "stale"],
    group: "server",
    summary: "Get array of Redis command details",
    since: "2.8.13",
    complexity: "O(N) where N is the total number of Redis commands",
    categories: ["connection"],
    tips: ["nondeterministic_output_order"],
    handler: commandAll,
    subcommands: [
      sub(
        "count",
        2,
        "Get total number of Redis commands",
        "2.8.13",
        "O(1)",
        (c) => c.out.integer(c.server.commands.size),
      ),
      sub(
        "info",
        -2,
        "Get array of specific Redis command details, or all when no argument is given.",
        "2.8.13",
        "O(N) where N is the number of commands to look up",
        commandInfo,
        { syntax: "[command-name [command-name ...]]", tips: ["nondeterministic_output_order"] },
      ),
      sub(
        "docs",
        -2,
        "Get array of specific Redis command documentation",
        "7.0.0",
        "O(N) where N is the number of commands to look up",
        commandDocs,
        { syntax: "[command-name [command-name ...]]", tips: ["nondeterministic_output_order"] },
      ),
      sub(
        "list",
        -2,
        "Get an array of Redis command names",
        "7.0.0",
        "O(N) where N is the total number of Redis commands",
        commandList,
        {
          syntax: "[FILTERBY <MODULE module-name | ACLCAT category | PATTERN pattern>]",
          tips: ["nondeterministic_output_order"],
        },
      ),
      sub(
        "getkeys",
        -4,
        "Extract keys given a full Redis command",
        "2.8.13",
        "O(N) where N is the number of arguments to the command",
        commandGetKeys,
      ),
      sub(
        "getkeysandflags",
        -4,
        "Extract keys and access flags given a full Redis command",
        "7.0.0",
        "O(N) where N is the number of arguments to the command",
        commandGetKeysAndFlags,
      ),
      sub(
        "help",
        2,
        "Show helpful text about the different subcommands",
        "5.0.0",
        "O(1)",
        (c) => replyHelp(c.out, "command", HELP),
      ),
    ],
  },
];
