/**
 * Connection commands: PING, ECHO, QUIT, HELLO, AUTH, SELECT, RESET, TIME,
 * DBSIZE.
 *
 * @module
 */

import type { CommandSpec } from "./types.ts";
import type { Client } from "../server/client.ts";
import { isWord, latin1 } from "../protocol/latin1.ts";
import { parseInt64 } from "../common/numbers.ts";
import { Errors, intArg } from "./util.ts";
import { REDIS_VERSION } from "../server/server.ts";

const WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled.";

/** Checks a user/password pair against `requirepass` (the default user only, until ACLs). */
function checkPassword(client: Client, user: string, pass: string): boolean {
  const required = client.server.config.requirepass;
  return user === "default" && (required === "" || pass === required);
}

/** True if a client name is acceptable (printable, no spaces), as Redis checks. */
export function validClientName(name: Uint8Array): boolean {
  for (const c of name) if (c < 33 || c > 126) return false;
  return true;
}

/** Error text for an invalid client name. */
export const BAD_CLIENT_NAME =
  "ERR Client names cannot contain spaces, newlines or special characters.";

function ping(client: Client, args: Uint8Array[]): void {
  const out = client.out;
  if (args.length > 2) {
    return out.error("ERR wrong number of arguments for 'ping' command");
  }
  if (client.inPubSubContext) {
    out.array(2);
    out.bulkString("pong");
    out.bulk(args.length > 1 ? args[1] : new Uint8Array(0));
    return;
  }
  if (args.length > 1) out.bulk(args[1]);
  else out.simple("PONG");
}

function hello(client: Client, args: Uint8Array[]): void {
  const out = client.out;
  let proto = out.resp as number;
  let i = 1;
  if (args.length > 1) {
    const v = parseInt64(args[1]);
    if (v === null) {
      return out.error("ERR Protocol version is not an integer or out of range");
    }
    if (v !== 2 && v !== 3) {
      return out.error("NOPROTO unsupported protocol version");
    }
    proto = v as number;
    i = 2;
  }
  let auth: [string, string] | null = null;
  let setName: Uint8Array | null = null;
  for (; i < args.length; i++) {
    const more = args.length - i - 1;
    if (isWord(args[i], "auth") && more >= 2) {
      auth = [latin1(args[i + 1]), latin1(args[i + 2])];
      i += 2;
    } else if (isWord(args[i], "setname") && more >= 1) {
      setName = args[i + 1];
      i += 1;
    } else {
      return out.error(`ERR Syntax error in HELLO option '${latin1(args[i])}'`);
    }
  }
  if (auth !== null) {
    if (!checkPassword(client, auth[0], auth[1])) return out.error(WRONGPASS);
    client.authenticated = true;
    client.user = auth[0];
  }
  if (!client.authenticated) {
    return out.error(
      "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
    );
  }
  if (setName !== null) {
    if (!validClientName(setName)) return out.error(BAD_CLIENT_NAME);
    client.name = latin1(setName);
  }
  out.resp = proto as 2 | 3;
  out.map(7);
  out.bulkString("server");
  out.bulkString("redis");
  out.bulkString("version");
  out.bulkString(REDIS_VERSION);
  out.bulkString("proto");
  out.integer(proto);
  out.bulkString("id");
  out.integer(client.id);
  out.bulkString("mode");
  out.bulkString("standalone");
  out.bulkString("role");
  out.bulkString("master");
  out.bulkString("modules");
  out.array(0);
}

function auth(client: Client, args: Uint8Array[]): void {
  const out = client.out;
  if (args.length > 3) return out.error(Errors.syntax);
  const user = args.length === 3 ? latin1(args[1]) : "default";
  const pass = latin1(args[args.length - 1]);
  if (args.length === 2 && client.server.config.requirepass === "") {
    return out.error(
      "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
    );
  }
  if (!checkPassword(client, user, pass)) return out.error(WRONGPASS);
  client.authenticated = true;
  client.user = user;
  out.ok();
}

function select(client: Client, args: Uint8Array[]): void {
  const id = intArg(client, args[1]);
  if (id === null) return;
  const dbs = client.server.keyspace.dbs;
  if (id < 0 || id >= dbs.length) return client.out.error(Errors.dbIndex);
  client.db = dbs[id];
  client.out.ok();
}

function reset(client: Client): void {
  client.server.resetClient(client);
  client.out.simple("RESET");
}

function time(client: Client): void {
  const us = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  client.out.array(2);
  client.out.bulkString(String(Math.floor(us / 1e6)));
  client.out.bulkString(String(us % 1e6));
}

/** Connection command declarations. */
export const connectionCommands: CommandSpec[] = [
  {
    name: "ping",
    arity: -1,
    flags: ["fast"],
    group: "connection",
    summary: "Returns the server's liveliness response.",
    since: "1.0.0",
    complexity: "O(1)",
    syntax: "[message]",
    tips: ["request_policy:all_shards", "response_policy:all_succeeded"],
    handler: ping,
  },
  {
    name: "echo",
    arity: 2,
    flags: ["loading", "stale", "fast"],
    group: "connection",
    summary: "Returns the given string.",
    since: "1.0.0",
    complexity: "O(1)",
    syntax: "message",
    handler: (c, a) => c.out.bulk(a[1]),
  },
  {
    name: "quit",
    arity: -1,
    flags: ["allow_busy", "noscript", "loading", "stale", "fast", "no_auth"],
    group: "connection",
    summary: "Closes the connection.",
    since: "1.0.0",
    complexity: "O(1)",
    handler: (c) => {
      c.out.ok();
      c.closeAfterReply = true;
    },
  },
  {
    name: "hello",
    arity: -1,
    flags: ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"],
    group: "connection",
    summary: "Handshakes with the Redis server.",
    since: "6.0.0",
    complexity: "O(1)",
    syntax: "[protover [AUTH username password] [SETNAME clientname]]",
    handler: hello,
  },
  {
    name: "auth",
    arity: -2,
    flags: ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"],
    group: "connection",
    summary: "Authenticates the connection.",
    since: "1.0.0",
    complexity: "O(N) where N is the number of passwords defined for the user",
    syntax: "[username] password",
    handler: auth,
  },
  {
    name: "select",
    arity: 2,
    flags: ["loading", "stale", "fast"],
    group: "connection",
    summary: "Changes the selected database.",
    since: "1.0.0",
    complexity: "O(1)",
    syntax: "index",
    handler: select,
  },
  {
    name: "reset",
    arity: 1,
    flags: ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"],
    group: "connection",
    summary: "Resets the connection.",
    since: "6.2.0",
    complexity: "O(1)",
    handler: reset,
  },
  {
    name: "time",
    arity: 1,
    flags: ["loading", "stale", "fast"],
    group: "server",
    summary: "Returns the server time.",
    since: "2.6.0",
    complexity: "O(1)",
    tips: ["nondeterministic_output"],
    handler: time,
  },
  {
    name: "dbsize",
    arity: 1,
    flags: ["readonly", "fast"],
    keys: [0, 0, 0],
    group: "server",
    summary: "Returns the number of keys in the database.",
    categories: ["keyspace"],
    since: "1.0.0",
    complexity: "O(1)",
    tips: ["request_policy:all_shards", "response_policy:agg_sum"],
    handler: (c) => c.out.integer(c.db.size),
  },
];
