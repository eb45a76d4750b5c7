/**
 * Pub/sub through real client libraries: redis-py (a subscriber thread with
 * listen(), JSON payloads, INFO and CLIENT LIST fields), ioredis (events,
 * counts, binary and 1 MB payloads, ordering of 10k pipelined publishes,
 * auto-resubscribe after a server restart) and node-redis (RESP2 and RESP3,
 * where one connection subscribes and keeps running commands).
 *
 * @module
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Redis } from "ioredis";
import { createClient } from "redis";
import { freePort, skipBecause, startServer, withServer } from "./support/servers.ts";
import { eventually } from "./support/pubsub.ts";

const PY = "/usr/bin/python3";
const PY_SCRIPT = new URL("./support/pubsub_redis_py.py", import.meta.url).pathname;

/** True when /usr/bin/python3 can import redis. */
async function hasRedisPy(): Promise<boolean> {
  try {
    const r = await new Deno.Command(PY, { args: ["-c", "import redis"], stderr: "null" })
      .output();
    return r.success;
  } catch {
    return false;
  }
}

function ioredis(port: number): Redis {
  return new Redis({ port, host: "127.0.0.1", lazyConnect: false, maxRetriesPerRequest: 1 });
}

/** Collects messages per channel from ioredis events. */
function collect<T>(): { items: T[]; waitFor: (n: number, what: string) => Promise<void> } {
  const items: T[] = [];
  return {
    items,
    waitFor: (n, what) => eventually(() => items.length >= n, what, 10000),
  };
}

Deno.test("clients: redis-py subscriber thread, JSON payloads, INFO and CLIENT LIST", async () => {
  if (!(await hasRedisPy())) {
    skipBecause(`${PY} cannot import redis`);
    return;
  }
  await withServer([], async ({ port }) => {
    const out = await new Deno.Command(PY, { args: [PY_SCRIPT, String(port)] }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    strictEqual(
      out.code,
      0,
      `redis-py script failed: ${stdout}${new TextDecoder().decode(out.stderr)}`,
    );
    const res = JSON.parse(stdout);
    deepStrictEqual(res.numsub, [["news", 1], ["alerts", 1], ["none", 0]]);
    strictEqual(res.numpat, 1);
    deepStrictEqual(res.channels, ["alerts", "news"]);
    deepStrictEqual(res.info, { pubsub_channels: 2, pubsub_patterns: 1, pubsubshard_channels: 0 });
    deepStrictEqual(res.client_list, [{ sub: "2", psub: "1", ssub: "0", flags: "P" }]);
    deepStrictEqual(res.receivers, [1, 1, 1, 1, 1, 1, 1]);
    const types = res.received.map((m: { type: string }) => m.type);
    deepStrictEqual(types, [
      "subscribe",
      "subscribe",
      "psubscribe",
      ...Array(5).fill("message"),
      "pmessage",
      "message",
    ]);
    for (let i = 0; i < 5; i++) {
      const m = res.received[3 + i];
      strictEqual(m.channel, "news");
      deepStrictEqual(JSON.parse(m.data), { n: i, text: "h\u00e9llo \u2603", tags: ["a", "b"] });
    }
    deepStrictEqual(res.received[8], {
      type: "pmessage",
      pattern: "user.*",
      channel: "user.42",
      data: '{"user": 42}',
    });
    strictEqual(res.received[2].data, 3);
  });
});

Deno.test("clients: ioredis events, counts, binary and 1 MB payloads, 10k in order", async () => {
  await withServer([], async ({ port }) => {
    const sub = ioredis(port);
    const pub = ioredis(port);
    try {
      strictEqual(await sub.subscribe("a", "b"), 2);
      strictEqual(await sub.psubscribe("p.*"), 3);
      strictEqual(await sub.ssubscribe("s1"), 1);
      const msgs = collect<[string, string]>();
      const pmsgs = collect<[string, string, string]>();
      const smsgs = collect<[string, string]>();
      const bufs = collect<[Buffer, Buffer]>();
      sub.on("message", (ch: string, m: string) => msgs.items.push([ch, m]));
      sub.on("pmessage", (p: string, ch: string, m: string) => pmsgs.items.push([p, ch, m]));
      sub.on("smessage", (ch: string, m: string) => smsgs.items.push([ch, m]));
      sub.on("messageBuffer", (ch: Buffer, m: Buffer) => bufs.items.push([ch, m]));

      strictEqual(await pub.publish("a", "hello"), 1);
      strictEqual(await pub.publish("p.x", "pat"), 1);
      strictEqual(await pub.spublish("s1", "shard"), 1);
      deepStrictEqual(((await pub.pubsub("CHANNELS")) as string[]).sort(), ["a", "b"]);
      await msgs.waitFor(1, "message");
      await pmsgs.waitFor(1, "pmessage");
      await smsgs.waitFor(1, "smessage");
      deepStrictEqual(msgs.items[0], ["a", "hello"]);
      deepStrictEqual(pmsgs.items[0], ["p.*", "p.x", "pat"]);
      deepStrictEqual(smsgs.items[0], ["s1", "shard"]);

      // Every byte value, as Buffers.
      const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      strictEqual(await pub.publish("b", all), 1);
      await bufs.waitFor(2, "binary message");
      ok(bufs.items[1][1].equals(all), "binary payload intact");
      strictEqual(bufs.items[1][0].toString(), "b");

      // 1 MB payload.
      const big = Buffer.alloc(1024 * 1024, 0x61);
      big[0] = 0;
      big[big.length - 1] = 0xff;
      strictEqual(await pub.publish("b", big), 1);
      await bufs.waitFor(3, "1 MB message");
      ok(bufs.items[2][1].equals(big), "1 MB payload intact");

      // 10k pipelined publishes arrive in order.
      const n = 10000;
      const start = msgs.items.length;
      const pl = pub.pipeline();
      for (let i = 0; i < n; i++) pl.publish("a", String(i));
      const results = await pl.exec();
      ok(results !== null && results.every(([err, v]) => err === null && v === 1));
      await msgs.waitFor(start + n, "10k messages");
      for (let i = 0; i < n; i++) strictEqual(msgs.items[start + i][1], String(i));

      deepStrictEqual(await pub.pubsub("NUMSUB", "a", "b", "c"), ["a", 1, "b", 1, "c", 0]);
      strictEqual(await pub.pubsub("NUMPAT"), 1);
      deepStrictEqual(await pub.pubsub("SHARDCHANNELS"), ["s1"]);
      strictEqual(await sub.unsubscribe("a"), 2);
      // (ioredis never resolves a bare punsubscribe() after ssubscribe, on redis-server too.)
      strictEqual(await sub.punsubscribe("p.*"), 1);
    } finally {
      sub.disconnect();
      await pub.quit();
    }
  });
});

Deno.test("clients: ioredis re-subscribes after the server restarts on the same port", async () => {
  const port = freePort();
  let srv = await startServer(["--port", String(port)]);
  const sub = new Redis({
    port,
    host: "127.0.0.1",
    retryStrategy: () => 50,
    maxRetriesPerRequest: 1,
  });
  sub.on("error", () => {}); // refused reconnects while the server is down
  try {
    const got: string[] = [];
    sub.on("message", (_ch: string, m: string) => got.push(m));
    strictEqual(await sub.subscribe("restart"), 1);
    const pub1 = ioredis(port);
    strictEqual(await pub1.publish("restart", "before"), 1);
    await eventually(() => got.includes("before"), "message before restart");
    pub1.disconnect();

    await srv.stop();
    srv = await startServer(["--port", String(port)]);
    const pub2 = ioredis(port);
    try {
      // Publish until the re-subscribed client receives again.
      await eventually(
        async () => {
          const n = await pub2.publish("restart", "after");
          return n === 1 && got.includes("after");
        },
        "message after restart",
        15000,
      );
    } finally {
      await pub2.quit();
    }
  } finally {
    sub.disconnect();
    await srv.stop();
  }
});

Deno.test("clients: node-redis RESP2 subscriber, buffers, sharded and PUBSUB helpers", async () => {
  await withServer([], async ({ port }) => {
    const sub = createClient({ socket: { port, host: "127.0.0.1" } });
    const pub = createClient({ socket: { port, host: "127.0.0.1" } });
    await sub.connect();
    await pub.connect();
    try {
      const msgs: [string, string][] = [];
      const bin: Buffer[] = [];
      const shard: string[] = [];
      await sub.subscribe("n1", (m, ch) => msgs.push([ch, m]));
      await sub.pSubscribe("n*", (m, ch) => msgs.push(["pattern:" + ch, m]));
      await sub.subscribe("bin", (m) => bin.push(m), true);
      await sub.sSubscribe("sh", (m) => shard.push(m));
      strictEqual(await pub.publish("n1", "x"), 2);
      const all = Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i));
      strictEqual(await pub.publish("bin", all), 1);
      strictEqual(await pub.sPublish("sh", "s"), 1);
      await eventually(() => msgs.length === 2 && bin.length === 1 && shard.length === 1, "all");
      deepStrictEqual(msgs, [["n1", "x"], ["pattern:n1", "x"]]);
      ok(bin[0].equals(all));
      deepStrictEqual(shard, ["s"]);
      deepStrictEqual((await pub.pubSubChannels()).sort(), ["bin", "n1"]);
      deepStrictEqual({ ...(await pub.pubSubNumSub(["n1", "zz"])) }, { n1: 1, zz: 0 });
      strictEqual(await pub.pubSubNumPat(), 1);
      deepStrictEqual(await pub.pubSubShardChannels(), ["sh"]);
      // Named: node-redis never resolves a bare unsubscribe(), on redis-server too.
      await sub.unsubscribe(["n1", "bin"]);
      await sub.pUnsubscribe("n*");
      await sub.sUnsubscribe("sh");
      await eventually(async () => (await pub.pubSubNumPat()) === 0, "pattern dropped");
      deepStrictEqual(await pub.pubSubChannels(), []);
    } finally {
      sub.destroy();
      pub.destroy();
    }
  });
});

Deno.test("clients: node-redis RESP3 pushes on a connection that keeps running commands", async () => {
  await withServer([], async ({ port }) => {
    const c = createClient({ socket: { port, host: "127.0.0.1" }, RESP: 3 });
    const pub = createClient({ socket: { port, host: "127.0.0.1" }, RESP: 3 });
    await c.connect();
    await pub.connect();
    try {
      const got: string[] = [];
      await c.subscribe("r3", (m) => got.push(m));
      await c.pSubscribe("r*", (m, ch) => got.push(`p:${ch}:${m}`));
      // Still a normal connection in RESP3.
      strictEqual(await c.ping(), "PONG");
      strictEqual(await c.echo("still here"), "still here");
      strictEqual(await pub.publish("r3", "push"), 2);
      strictEqual(await c.publish("r3", "self"), 2);
      await eventually(() => got.length === 4, "four pushes");
      deepStrictEqual(got, ["push", "p:r3:push", "self", "p:r3:self"]);
      await c.unsubscribe("r3");
      await c.pUnsubscribe("r*");
      strictEqual(await pub.publish("r3", "gone"), 0);
    } finally {
      c.destroy();
      pub.destroy();
    }
  });
});
