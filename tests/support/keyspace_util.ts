/**
 * Test support for the data commands (strings, keys, expiry): a server with
 * the three client flavours connected, byte-exact comparison with a real
 * redis-server, keyspace-event capture, and INFO counters.
 *
 * @module
 */

import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { Redis } from "ioredis";
import { createClient } from "redis";
import { hasRedis, type RunningServer, skipBecause, withRedis, withServer } from "./servers.ts";
import { rawReplies, redisReplies } from "./compare.ts";
import { RespConnection } from "./resp_connection.ts";
import { show, text } from "./resp.ts";

/** A node-redis v5 client (RESP2 or RESP3). */
export type NodeRedis = ReturnType<typeof createClient>;

/** The clients `withClients` hands to a test. */
export interface Clients {
  srv: RunningServer;
  io: Redis;
  nr2: NodeRedis;
  nr3: NodeRedis;
}

/**
 * Starts this server (DEBUG enabled, for SET-ACTIVE-EXPIRE), connects
 * ioredis and node-redis over RESP2 and RESP3, runs `fn`, and always closes
 * the clients and stops the server.
 */
export async function withClients(
  fn: (c: Clients) => Promise<void>,
  args: string[] = [],
): Promise<void> {
  await withServer(["--enable-debug-command", "yes", ...args], async (srv) => {
    const socket = { port: srv.port, host: "127.0.0.1" };
    const io = new Redis({
      port: srv.port,
      host: "127.0.0.1",
      lazyConnect: false,
      maxRetriesPerRequest: 1,
    });
    const nr2 = createClient({ socket });
    const nr3 = createClient({ socket, RESP: 3 });
    try {
      await nr2.connect();
      await nr3.connect();
      await fn({ srv, io, nr2, nr3 });
    } finally {
      await io.quit().catch(() => io.disconnect());
      nr2.destroy();
      nr3.destroy();
    }
  });
}

/**
 * Runs `commands` on a fresh server of ours and returns the raw replies
 * (latin1); when redis-server is installed, checks they are byte-identical
 * to its replies, else prints why that part is skipped.
 */
export async function sameAsRedis(
  commands: readonly (readonly string[])[],
  args: string[] = [],
): Promise<string[]> {
  const ours = await withServer(args, (srv) => rawReplies(srv.port, commands));
  const real = await redisReplies(commands, args);
  if (real === null) {
    skipBecause("redis-server not installed: no byte-exact comparison");
    return ours;
  }
  for (let i = 0; i < commands.length; i++) {
    strictEqual(
      show(ours[i]),
      show(real[i]),
      `reply to ${commands[i].map((a) => show(a)).join(" ")}`,
    );
  }
  return ours;
}

/**
 * Runs `commands` on one connection to `port` with every keyspace event
 * class enabled, and returns the events they emitted, in order, as
 * `db:event:key` strings.
 */
export async function keyEvents(
  port: number,
  commands: readonly (readonly string[])[],
): Promise<string[]> {
  const c = await RespConnection.connect(port);
  const sub = await RespConnection.connect(port);
  try {
    await c.call(["CONFIG", "SET", "notify-keyspace-events", "KEAnm"]);
    await sub.call(["PSUBSCRIBE", "__keyevent@*"]);
    await sub.call(["SUBSCRIBE", "events-done"]);
    for (const cmd of commands) await c.call(cmd);
    await c.call(["PUBLISH", "events-done", "x"]);
    const events: string[] = [];
    while (true) {
      const v = (await sub.reply()).value;
      if (v.type !== "array" && v.type !== "push") continue;
      const parts = v.value!.map((p) => (p.type === "bulk" && p.value ? text(p.value) : ""));
      if (parts[0] === "message") break;
      const m = /^__keyevent@(\d+)__:(.*)$/.exec(parts[2]);
      if (m) events.push(`${m[1]}:${m[2]}:${parts[3]}`);
    }
    return events;
  } finally {
    await c.close();
    await sub.close();
  }
}

/** Checks the events `commands` emit on our server, and on redis-server when installed. */
export async function expectEvents(
  commands: readonly (readonly string[])[],
  expected: string[],
): Promise<void> {
  const ours = await withServer([], (srv) => keyEvents(srv.port, commands));
  deepStrictEqual(ours, expected);
  if (!hasRedis) return void skipBecause("redis-server not installed: events not compared");
  const real = await withRedis([], (srv) => keyEvents(srv.port, commands));
  deepStrictEqual(real, expected, "redis-server disagrees with the expected events");
}

/**
 * Checks how each command moves [hits, misses, dirty] on our server, and on
 * redis-server when installed.
 */
export async function expectCounterDeltas(
  commands: readonly (readonly string[])[],
  expected: [number, number, number][],
): Promise<void> {
  const ours = await withServer([], (srv) => counterDeltas(srv.port, commands));
  deepStrictEqual(ours, expected);
  if (!hasRedis) return void skipBecause("redis-server not installed: counters not compared");
  const real = await withRedis([], (srv) => counterDeltas(srv.port, commands));
  deepStrictEqual(real, expected, "redis-server disagrees with the expected counters");
}

/** INFO counters of `conn`'s server that the data commands move. */
export interface Counters {
  hits: number;
  misses: number;
  dirty: number;
  expired: number;
}

/** Reads keyspace_hits, keyspace_misses, rdb_changes_since_last_save and expired_keys. */
export async function counters(conn: RespConnection): Promise<Counters> {
  const v = (await conn.call(["INFO", "all"])).value;
  const body = v.type === "bulk" || v.type === "verbatim" ? text(v.value ?? new Uint8Array()) : "";
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, "m").exec(body)?.[1]);
  return {
    hits: field("keyspace_hits"),
    misses: field("keyspace_misses"),
    dirty: field("rdb_changes_since_last_save"),
    expired: field("expired_keys"),
  };
}

/**
 * Runs each command on one connection and returns how it moved the INFO
 * counters, as `[hits, misses, dirty]` per command.
 */
export async function counterDeltas(
  port: number,
  commands: readonly (readonly string[])[],
): Promise<[number, number, number][]> {
  const c = await RespConnection.connect(port);
  try {
    const out: [number, number, number][] = [];
    for (const cmd of commands) {
      const before = await counters(c);
      await c.call(cmd);
      const after = await counters(c);
      out.push([
        after.hits - before.hits,
        after.misses - before.misses,
        after.dirty - before.dirty,
      ]);
    }
    return out;
  } finally {
    await c.close();
  }
}

/** Sleeps `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
