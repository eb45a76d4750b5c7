/**
 * Connection-layer behaviour proven on a scripted socket: replies of one
 * read go out in one write, in order; a peer that stops reading does not
 * stop the server from serving its requests; protocol errors close the
 * connection after the error reply.
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { Server } from "../src/server/server.ts";
import { Client } from "../src/server/client.ts";
import { defaultServerConfig } from "../src/config/server_config.ts";
import { ConfigRegistry } from "../src/config/registry.ts";
import { buildCommandTable } from "../src/commands/table.ts";

const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const dec = (b: Uint8Array) => String.fromCharCode(...b);

/** A fake TCP connection: reads come from a script, writes are recorded. */
class ScriptedConn {
  writes: string[] = [];
  closed = false;
  private reads: Uint8Array[];
  private wakeReader: (() => void) | null = null;
  /** When set, writes hang until `releaseWrites` (a peer that does not read). */
  private blockWrites = false;
  private blockedWrites: (() => void)[] = [];
  readonly remoteAddr = { transport: "tcp", hostname: "127.0.0.1", port: 5555 };
  readonly localAddr = { transport: "tcp", hostname: "127.0.0.1", port: 6379 };

  constructor(reads: string[]) {
    this.reads = reads.map(enc);
  }

  push(data: string): void {
    this.reads.push(enc(data));
    this.wakeReader?.();
  }

  stallWrites(): void {
    this.blockWrites = true;
  }

  releaseWrites(): void {
    this.blockWrites = false;
    for (const w of this.blockedWrites.splice(0)) w();
  }

  async read(buf: Uint8Array): Promise<number | null> {
    while (this.reads.length === 0) {
      if (this.closed) return null;
      await new Promise<void>((r) => (this.wakeReader = r));
      this.wakeReader = null;
    }
    const next = this.reads.shift()!;
    const n = Math.min(buf.length, next.length);
    buf.set(next.subarray(0, n));
    if (n < next.length) this.reads.unshift(next.subarray(n));
    return n;
  }

  async write(data: Uint8Array): Promise<number> {
    if (this.blockWrites) await new Promise<void>((r) => this.blockedWrites.push(r));
    this.writes.push(dec(data));
    return data.length;
  }

  close(): void {
    this.closed = true;
    this.wakeReader?.();
  }

  setNoDelay(): void {}
}

function makeServer(): Server {
  const config = defaultServerConfig();
  return new Server(config, new ConfigRegistry(config), getLogger(["test"]));
}

async function settle(ms = 20): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

function connect(server: Server, conn: ScriptedConn, id = 1): Client {
  const client = new Client(server, conn as unknown as Deno.Conn, id);
  server.clients.set(id, client);
  client.run();
  return client;
}

Deno.test("replies to every command of one read leave in a single write, in order", async () => {
  const server = makeServer();
  const conn = new ScriptedConn([
    "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n",
  ]);
  connect(server, conn);
  await settle();
  deepStrictEqual(conn.writes, ["+OK\r\n$1\r\nv\r\n+PONG\r\n$2\r\nhi\r\n"]);
  conn.close();
  await settle();
});

Deno.test("a command split across reads is answered once it is complete", async () => {
  const server = makeServer();
  const conn = new ScriptedConn(["*2\r\n$4\r\nEC", "HO\r\n$5\r\nhel", "lo\r\n"]);
  connect(server, conn);
  await settle();
  deepStrictEqual(conn.writes, ["$5\r\nhello\r\n"]);
  conn.close();
  await settle();
});

Deno.test("a peer that stops reading still has its requests served and buffered", async () => {
  const server = makeServer();
  const conn = new ScriptedConn(["PING\r\n"]);
  const client = connect(server, conn);
  await settle();
  conn.stallWrites();
  conn.push("ECHO a\r\n");
  await settle();
  // The write of "a" hangs; later requests are still executed meanwhile.
  conn.push("ECHO b\r\nECHO c\r\n");
  await settle();
  ok(client.pendingOutput > 0, "replies wait in the output buffer");
  conn.releaseWrites();
  await settle();
  strictEqual(conn.writes.join(""), "+PONG\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
  strictEqual(client.pendingOutput, 0);
  conn.close();
  await settle();
});

Deno.test("a protocol error is answered after the commands before it, then the connection closes", async () => {
  const server = makeServer();
  const conn = new ScriptedConn(["PING\r\n*1\r\nfoo\r\nPING\r\n"]);
  const client = connect(server, conn);
  await settle();
  strictEqual(conn.writes.join(""), "+PONG\r\n-ERR Protocol error: expected '$', got 'f'\r\n");
  ok(conn.closed);
  ok(client.closed);
  ok(!server.clients.has(client.id));
});

Deno.test("a client over its hard output limit is disconnected and counted", async () => {
  const server = makeServer();
  server.config.clientOutputBufferLimit.normal = { hard: 64, soft: 0, softSeconds: 0 };
  const conn = new ScriptedConn(["PING\r\n"]);
  const client = connect(server, conn);
  await settle();
  conn.stallWrites();
  conn.push(`ECHO ${"x".repeat(100)}\r\n`);
  await settle();
  conn.push(`ECHO ${"y".repeat(100)}\r\n`);
  await settle();
  ok(client.closed, "closed once pending output reached the hard limit");
  strictEqual(server.stats.clientOutputBufferLimitDisconnections, 1);
  conn.releaseWrites();
  await settle();
});

Deno.test("a command that throws closes only its own client; others are still served", async () => {
  const server = makeServer();
  const boom = buildCommandTable([[{
    name: "boom",
    arity: 1,
    flags: [],
    group: "server",
    summary: "Throws (test only).",
    since: "0.0.0",
    handler: () => {
      throw new Error("deliberate failure");
    },
  }]]).get("boom")!;
  server.commands.set("boom", boom);
  const a = new ScriptedConn(["BOOM\r\n"]);
  const clientA = connect(server, a, 1);
  await settle();
  ok(clientA.closed, "the client whose command failed is closed");
  const b = new ScriptedConn(["PING\r\n"]);
  connect(server, b, 2);
  await settle();
  deepStrictEqual(b.writes, ["+PONG\r\n"]);
  b.close();
  await settle();
});
