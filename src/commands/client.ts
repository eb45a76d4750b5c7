/**
 * CLIENT subcommands: ID, SETNAME, GETNAME, LIST, INFO, KILL, SETINFO,
 * NO-EVICT, REPLY, HELP — with Redis 7.0's CLIENT LIST line format.
 *
 * CLIENT SETINFO arrived in Redis 7.2; it is implemented because client
 * libraries (node-redis v5, redis-py 5) send it on connect. The `lib-name`
 * and `lib-ver` fields it sets are appended to a CLIENT LIST line only when
 * one of them is set, so lines stay exactly Redis 7.0's otherwise.
 *
 * @module
 */

import type { CommandSpec } from "./types.ts";
import type { Client, ClientClass } from "../server/client.ts";
import { bytesOf, isWord, latin1 } from "../protocol/latin1.ts";
import { parseInt64 } from "../common/numbers.ts";
import { Errors } from "./util.ts";
import { BAD_CLIENT_NAME, validClientName } from "./connection.ts";
import { replyHelp } from "./help.ts";

/** Redis' static reply buffer size: output beyond it counts as `omem`. */
const REPLY_CHUNK = 16 * 1024;

/** CLIENT LIST `flags=` letters for a client. */
function flagLetters(c: Client): string {
  let f = "";
  if (c.monitor) f += "O";
  if (c.channels.size > 0 || c.patterns.size > 0 || c.shardChannels.size > 0) f += "P";
  if (c.closeAfterReply) f += "c";
  if (c.closed) f += "A";
  return f === "" ? "N" : f;
}

/**
 * One CLIENT LIST / CLIENT INFO line (without the trailing newline).
 * `current` is the command being run by `c` when `c` is the caller: Redis
 * shows it as `cmd=` and counts its arguments as `argv-mem`.
 */
export function clientInfoLine(
  c: Client,
  current?: { name: string; args: Uint8Array[] },
): string {
  const now = Date.now();
  const pending = c.pendingOutput;
  const obl = Math.min(pending, REPLY_CHUNK);
  const omem = pending - obl;
  const oll = Math.ceil(omem / REPLY_CHUNK);
  const qbuf = c.parser.pendingBytes;
  const rbs = c.parser.capacity;
  let argvMem = 0;
  if (current) { for (const a of current.args) argvMem += a.length; }
  const totMem = rbs + c.out.buf.length + omem + argvMem + 1024;
  const cmd = current?.name ?? c.lastCommand?.fullName ?? "NULL";
  let line = `id=${c.id} addr=${c.addr} laddr=${c.laddr} fd=${c.id + 7} name=${c.name}` +
    ` age=${Math.floor((now - c.createdAt) / 1000)}` +
    ` idle=${Math.floor((now - c.lastInteraction) / 1000)} flags=${flagLetters(c)}` +
    ` db=${c.db.id} sub=${c.channels.size} psub=${c.patterns.size} ssub=${c.shardChannels.size}` +
    ` multi=-1 qbuf=${qbuf} qbuf-free=${rbs - qbuf} argv-mem=${argvMem} multi-mem=0` +
    ` rbs=${rbs} rbp=${rbs} obl=${obl} oll=${oll} omem=${omem} tot-mem=${totMem}` +
    ` events=r${pending > 0 ? "w" : ""} cmd=${cmd} user=${c.user} redir=-1 resp=${c.out.resp}`;
  if (c.libName !== "" || c.libVer !== "") line += ` lib-name=${c.libName} lib-ver=${c.libVer}`;
  return line;
}

/** Client type names accepted by CLIENT LIST/KILL TYPE, mapped to our classes. */
function clientTypeByName(name: string): ClientClass | null {
  switch (name.toLowerCase()) {
    case "normal":
      return "normal";
    case "slave":
    case "replica":
      return "replica";
    case "pubsub":
      return "pubsub";
    case "master":
      return "master";
  }
  return null;
}

function clientList(client: Client, args: Uint8Array[]): void {
  const out = client.out;
  const server = client.server;
  const self = { name: "client|list", args };
  let selected: Client[];
  if (args.length === 4 && isWord(args[2], "type")) {
    const type = clientTypeByName(latin1(args[3]));
    if (type === null) return out.error(`ERR Unknown client type '${latin1(args[3])}'`);
    selected = [...server.clients.values()].filter((c) => c.clientClass === type);
  } else if (args.length > 3 && isWord(args[2], "id")) {
    selected = [];
    for (let i = 3; i < args.length; i++) {
      const id = parseInt64(args[i]);
      if (id === null) return out.error("ERR Invalid client ID");
      const c = server.clients.get(Number(id));
      if (c !== undefined) selected.push(c);
    }
  } else if (args.length !== 2) {
    return out.error(Errors.syntax);
  } else selected = [...server.clients.values()];
  let text = "";
  for (const c of selected) text += clientInfoLine(c, c === client ? self : undefined) + "\n";
  out.verbatim(text);
}

/** Parsed CLIENT KILL filters. */
interface KillFilter {
  addr: string | null;
  laddr: string | null;
  type: ClientClass | null;
  id: number;
  user: string | null;
  skipMe: boolean;
}

/** Parses the new-style CLIENT KILL filters; replies the error and returns null on bad input. */
function parseKillFilter(client: Client, args: Uint8Array[]): KillFilter | null {
  const out = client.out;
  const f: KillFilter = { addr: null, laddr: null, type: null, id: 0, user: null, skipMe: true };
  for (let i = 2; i < args.length; i += 2) {
    if (i + 1 >= args.length) {
      out.error(Errors.syntax);
      return null;
    }
    const value = latin1(args[i + 1]);
    if (isWord(args[i], "id")) {
      const id = parseInt64(args[i + 1]);
      if (id === null || id < 1) {
        out.error("ERR client-id should be greater than 0");
        return null;
      }
      f.id = Number(id);
    } else if (isWord(args[i], "type")) {
      f.type = clientTypeByName(value);
      if (f.type === null) {
        out.error(`ERR Unknown client type '${value}'`);
        return null;
      }
    } else if (isWord(args[i], "addr")) {
      f.addr = value;
    } else if (isWord(args[i], "laddr")) {
      f.laddr = value;
    } else if (isWord(args[i], "user")) {
      // Only the default user exists until ACLs arrive.
      if (value !== "default") {
        out.error(`ERR No such user '${value}'`);
        return null;
      }
      f.user = value;
    } else if (isWord(args[i], "skipme")) {
      if (isWord(args[i + 1], "yes")) f.skipMe = true;
      else if (isWord(args[i + 1], "no")) f.skipMe = false;
      else {
        out.error(Errors.syntax);
        return null;
      }
    } else {
      out.error(Errors.syntax);
      return null;
    }
  }
  return f;
}

function clientKill(client: Client, args: Uint8Array[]): void {
  const out = client.out;
  const oldStyle = args.length === 3;
  const f: KillFilter | null = oldStyle
    ? {
      addr: latin1(args[2]),
      laddr: null,
      type: null,
      id: 0,
      user: null,
      // With the old form a client may kill itself.
      skipMe: false,
    }
    : parseKillFilter(client, args);
  if (f === null) return;
  let killed = 0;
  for (const c of [...client.server.clients.values()]) {
    if (f.addr !== null && c.addr !== f.addr) continue;
    if (f.laddr !== null && c.laddr !== f.laddr) continue;
    if (f.type !== null && c.clientClass !== f.type) continue;
    if (f.id !== 0 && c.id !== f.id) continue;
    if (f.user !== null && c.user !== f.user) continue;
    if (c === client && f.skipMe) continue;
    if (c === client) client.closeAfterReply = true;
    else c.close("killed");
    killed++;
  }
  if (oldStyle) {
    if (killed === 0) out.error("ERR No such client");
    else out.ok();
  } else out.integer(killed);
}

function clientSetName(client: Client, args: Uint8Array[]): void {
  if (!validClientName(args[2])) return client.out.error(BAD_CLIENT_NAME);
  client.name = latin1(args[2]);
  client.out.ok();
}

function clientSetInfo(client: Client, args: Uint8Array[]): void {
  const out = client.out;
  const attr = latin1(args[2]);
  const lib = isWord(args[2], "lib-name") ? "name" : isWord(args[2], "lib-ver") ? "ver" : null;
  if (lib === null) return out.error(`ERR Unrecognized option '${attr}'`);
  if (!validClientName(args[3])) {
    return out.error(`ERR ${attr} cannot contain spaces, newlines or special characters.`);
  }
  if (lib === "name") client.libName = latin1(args[3]);
  else client.libVer = latin1(args[3]);
  out.ok();
}

function clientReply(client: Client, args: Uint8Array[]): void {
  if (isWord(args[2], "on")) {
    client.replyMode = "on";
    client.out.ok();
  } else if (isWord(args[2], "off")) {
    client.replyMode = "off";
  } else if (isWord(args[2], "skip")) {
    if (client.replyMode !== "off") client.replyMode = "skip-next";
  } else client.out.error(Errors.syntax);
}

function clientNoEvict(client: Client, args: Uint8Array[]): void {
  if (isWord(args[2], "on")) client.noEvict = true;
  else if (isWord(args[2], "off")) client.noEvict = false;
  else return client.out.error(Errors.syntax);
  client.out.ok();
}

const HELP = [
  "GETNAME",
  "    Return the name of the current connection.",
  "ID",
  "    Return the ID of the current connection.",
  "INFO",
  "    Return information about the current client connection.",
  "KILL <ip:port>",
  "    Kill connection made from <ip:port>.",
  "KILL <option> <value> [<option> <value> [...]]",
  "    Kill connections. Options are:",
  "    * ADDR (<ip:port>|<unixsocket>:0)",
  "      Kill connections made from the specified address",
  "    * LADDR (<ip:port>|<unixsocket>:0)",
  "      Kill connections made to specified local address",
  "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
  "      Kill connections by type.",
  "    * USER <username>",
  "      Kill connections authenticated by <username>.",
  "    * SKIPME (YES|NO)",
  "      Skip killing current connection (default: yes).",
  "LIST [options ...]",
  "    Return information about client connections. Options:",
  "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
  "      Return clients of specified type.",
  "REPLY (ON|OFF|SKIP)",
  "    Control the replies sent to the current connection.",
  "SETNAME <name>",
  "    Assign the name <name> to the current connection.",
  "SETINFO <option> <value>",
  "    Set client meta attr. Options are:",
  "    * LIB-NAME: the client lib name.",
  "    * LIB-VER: the client lib version.",
  "NO-EVICT (ON|OFF)",
  "    Protect current client connection from eviction.",
];

/** Flags of most CLIENT subcommands. */
const CONN: CommandSpec["flags"] = ["noscript", "loading", "stale"];
const ADMIN: CommandSpec["flags"] = ["admin", "noscript", "loading", "stale"];

/** CLIENT declarations. */
export const clientCommands: CommandSpec[] = [
  {
    name: "client",
    arity: -2,
    flags: [],
    group: "connection",
    summary: "A container for client connection commands",
    since: "2.4.0",
    complexity: "Depends on subcommand.",
    subcommands: [
      {
        name: "id",
        arity: 2,
        flags: CONN,
        group: "connection",
        summary: "Returns the client ID for the current connection",
        since: "5.0.0",
        complexity: "O(1)",
        handler: (c) => c.out.integer(c.id),
      },
      {
        name: "setname",
        arity: 3,
        flags: CONN,
        group: "connection",
        summary: "Set the current connection name",
        since: "2.6.9",
        complexity: "O(1)",
        syntax: "connection-name",
        handler: clientSetName,
      },
      {
        name: "getname",
        arity: 2,
        flags: CONN,
        group: "connection",
        summary: "Get the current connection name",
        since: "2.6.9",
        complexity: "O(1)",
        handler: (c) => c.out.bulk(c.name === "" ? null : bytesOf(c.name)),
      },
      {
        name: "list",
        arity: -2,
        flags: ADMIN,
        group: "connection",
        summary: "Get the list of client connections",
        since: "2.4.0",
        complexity: "O(N) where N is the number of client connections",
        syntax: "[TYPE <NORMAL | MASTER | REPLICA | PUBSUB>] [ID client-id [client-id ...]]",
        tips: ["nondeterministic_output"],
        handler: clientList,
      },
      {
        name: "info",
        arity: 2,
        flags: CONN,
        group: "connection",
        summary: "Returns information about the current client connection.",
        since: "6.2.0",
        complexity: "O(1)",
        tips: ["nondeterministic_output"],
        handler: (c, args) =>
          c.out.verbatim(clientInfoLine(c, { name: "client|info", args }) + "\n"),
      },
      {
        name: "kill",
        arity: -3,
        flags: ADMIN,
        group: "connection",
        summary: "Kill the connection of a client",
        since: "2.4.0",
        complexity: "O(N) where N is the number of client connections",
        syntax:
          "<ip:port | <[ID client-id] | [TYPE <NORMAL | MASTER | SLAVE | REPLICA | PUBSUB>] | " +
          "[USER username] | [ADDR ip:port] | [LADDR ip:port] | [SKIPME yes/no]> " +
          "[<[ID client-id] | [TYPE <NORMAL | MASTER | SLAVE | REPLICA | PUBSUB>] | [USER username] | " +
          "[ADDR ip:port] | [LADDR ip:port] | [SKIPME yes/no]> ...]>",
        handler: clientKill,
      },
      {
        name: "setinfo",
        arity: 4,
        flags: CONN,
        group: "connection",
        summary: "Set client or connection specific info",
        since: "7.2.0",
        complexity: "O(1)",
        syntax: "<LIB-NAME libname | LIB-VER libver>",
        handler: clientSetInfo,
      },
      {
        name: "no-evict",
        arity: 3,
        flags: ADMIN,
        group: "connection",
        summary: "Set client eviction mode for the current connection",
        since: "7.0.0",
        complexity: "O(1)",
        syntax: "<ON | OFF>",
        handler: clientNoEvict,
      },
      {
        name: "reply",
        arity: 3,
        flags: CONN,
        group: "connection",
        summary: "Instruct the server whether to reply to commands",
        since: "3.2.0",
        complexity: "O(1)",
        syntax: "<ON | OFF | SKIP>",
        handler: clientReply,
      },
      {
        name: "help",
        arity: 2,
        flags: ["loading", "stale"],
        group: "connection",
        summary: "Show helpful text about the different subcommands",
        since: "5.0.0",
        complexity: "O(1)",
        handler: (c) => replyHelp(c.out, "client", HELP),
      },
    ],
  },
];
