/**
 * Pub/sub over raw sockets against a running server: exact frames for
 * subscribe/unsubscribe/publish in RESP2 and RESP3 (checked against
 * redis-server 7.0.15 when written), the subscribed context, patterns, shard
 * channels, binary names, clean-up on disconnect/RESET, slow consumers.
 *
 * @module
 */

import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { withServer } from "./support/servers.ts";
import { RespConnection } from "./support/resp_connection.ts";
import { bytes, encodeCommand, text } from "./support/resp.ts";
import {
  callRaw,
  eventually,
  frame,
  infoField,
  inline,
  int,
  pubsubState,
  readRaw,
  silent,
  strings,
} from "./support/pubsub.ts";
import { defaultServerConfig } from "../src/config/server_config.ts";
import { ConfigRegistry } from "../src/config/registry.ts";
import { setupLogging } from "../src/server/logging.ts";
import { Server } from "../src/server/server.ts";

/** Opens `n` connections to `port`. */
function connectAll(port: number, n: number): Promise<RespConnection[]> {
  return Promise.all(Array.from({ length: n }, () => RespConnection.connect(port)));
}

async function closeAll(conns: RespConnection[]): Promise<void> {
  await Promise.all(conns.map((c) => c.close()));
}

Deno.test("pubsub: seed transcript, two subscribers and a publisher (exact bytes)", async () => {
  await withServer([], async ({ port }) => {
    const [a, b, p] = await connectAll(port, 3);
    try {
      strictEqual(
        await inline(a, "SUBSCRIBE news"),
        "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n",
      );
      strictEqual(await inline(a, "SUBSCRIBE alerts"), frame(2, "subscribe", "alerts", 2));
      strictEqual(
        await inline(b, "SUBSCRIBE news alerts", 2),
        frame(2, "subscribe", "news", 1) + frame(2, "subscribe", "alerts", 2),
      );
      strictEqual(await inline(p, "PUBLISH news hello"), ":2\r\n");
      const hello = "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n";
      strictEqual(await readRaw(a, 1), hello);
      strictEqual(await readRaw(b, 1), hello);
      strictEqual(await inline(p, "PUBLISH alerts fire"), ":2\r\n");
      strictEqual(await readRaw(a, 1), frame(2, "message", "alerts", "fire"));
      strictEqual(await readRaw(b, 1), frame(2, "message", "alerts", "fire"));
      strictEqual(await inline(p, "PUBLISH nobody x"), ":0\r\n");
      const chans = (await p.call(["PUBSUB", "CHANNELS"])).value;
      deepStrictEqual(strings(chans).sort(), ["alerts", "news"]);
      strictEqual(await inline(p, "PUBSUB CHANNELS n*"), "*1\r\n$4\r\nnews\r\n");
      strictEqual(
        await inline(p, "PUBSUB NUMSUB news alerts nobody"),
        "*6\r\n$4\r\nnews\r\n:2\r\n$6\r\nalerts\r\n:2\r\n$6\r\nnobody\r\n:0\r\n",
      );
      strictEqual(await inline(p, "PUBSUB NUMSUB"), "*0\r\n");
      strictEqual(await inline(p, "PUBSUB NUMPAT"), ":0\r\n");
      ok(await silent(a), "nothing else was delivered");
    } finally {
      await closeAll([a, b, p]);
    }
  });
});

Deno.test("pubsub: RESP2 subscribed context, PING, RESET drops everything silently", async () => {
  await withServer([], async ({ port }) => {
    const [a, p] = await connectAll(port, 2);
    try {
      await inline(a, "SUBSCRIBE ch");
      strictEqual(
        await inline(a, "GET x"),
        "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
      );
      strictEqual(
        await inline(a, "PUBSUB NUMPAT"),
        "-ERR Can't execute 'pubsub|numpat': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
      );
      strictEqual(await inline(a, "PING"), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
      strictEqual(await inline(a, "PING hi"), "*2\r\n$4\r\npong\r\n$2\r\nhi\r\n");
      await inline(a, "PSUBSCRIBE c*");
      await inline(a, "SSUBSCRIBE sh");
      strictEqual(await inline(a, "RESET"), "+RESET\r\n");
      strictEqual(await inline(p, "PUBLISH ch x"), ":0\r\n");
      strictEqual(await inline(p, "SPUBLISH sh x"), ":0\r\n");
      deepStrictEqual(await pubsubState(port), { channels: [], numpat: 0, shard: [] });
      // Out of the subscribed context again.
      strictEqual(await inline(a, "PING"), "+PONG\r\n");
      ok(await silent(a));
    } finally {
      await closeAll([a, p]);
    }
  });
});

Deno.test("pubsub: unsubscribe shapes, counts and re-subscribing (RESP2)", async () => {
  await withServer([], async ({ port }) => {
    const [a, p] = await connectAll(port, 2);
    try {
      strictEqual(await inline(a, "UNSUBSCRIBE"), frame(2, "unsubscribe", null, 0));
      strictEqual(await inline(a, "PUNSUBSCRIBE"), frame(2, "punsubscribe", null, 0));
      strictEqual(await inline(a, "SUNSUBSCRIBE"), frame(2, "sunsubscribe", null, 0));
      strictEqual(
        await inline(a, "SUBSCRIBE a a", 2),
        frame(2, "subscribe", "a", 1) + frame(2, "subscribe", "a", 1),
      );
      strictEqual(
        await inline(a, "PSUBSCRIBE p* p*", 2),
        frame(2, "psubscribe", "p*", 2) + frame(2, "psubscribe", "p*", 2),
      );
      strictEqual(await inline(a, "SSUBSCRIBE s"), frame(2, "ssubscribe", "s", 1));
      // Re-subscribing does not double-deliver.
      strictEqual(await inline(p, "PUBLISH a m"), ":1\r\n");
      strictEqual(await readRaw(a, 1), frame(2, "message", "a", "m"));
      ok(await silent(a));
      // Unsubscribing something not subscribed is still confirmed.
      strictEqual(await inline(a, "UNSUBSCRIBE zz"), frame(2, "unsubscribe", "zz", 2));
      strictEqual(await inline(a, "PUNSUBSCRIBE"), frame(2, "punsubscribe", "p*", 1));
      // No patterns left: one null frame carrying the running count.
      strictEqual(await inline(a, "PUNSUBSCRIBE"), frame(2, "punsubscribe", null, 1));
      strictEqual(await inline(a, "UNSUBSCRIBE"), frame(2, "unsubscribe", "a", 0));
      // Still in the context through the shard channel.
      ok((await inline(a, "GET x")).startsWith("-ERR Can't execute 'get'"));
      strictEqual(
        await inline(a, "SUNSUBSCRIBE s t", 2),
        frame(2, "sunsubscribe", "s", 0) + frame(2, "sunsubscribe", "t", 0),
      );
      strictEqual(await inline(a, "PING"), "+PONG\r\n");
    } finally {
      await closeAll([a, p]);
    }
  });
});

Deno.test("pubsub: RESP3 pushes, commands allowed while subscribed", async () => {
  await withServer([], async ({ port }) => {
    const [a, p] = await connectAll(port, 2);
    try {
      await a.call(["HELLO", "3"]);
      strictEqual(await inline(a, "UNSUBSCRIBE"), frame(3, "unsubscribe", null, 0));
      strictEqual(
        await inline(a, "SUBSCRIBE x y", 2),
        frame(3, "subscribe", "x", 1) + frame(3, "subscribe", "y", 2),
      );
      strictEqual(await inline(a, "PSUBSCRIBE x*"), frame(3, "psubscribe", "x*", 3));
      strictEqual(await inline(a, "PING"), "+PONG\r\n");
      strictEqual(await inline(a, "ECHO hi"), "$2\r\nhi\r\n");
      strictEqual(await inline(p, "PUBLISH x hello"), ":2\r\n");
      strictEqual(
        await readRaw(a, 2),
        frame(3, "message", "x", "hello") + frame(3, "pmessage", "x*", "x", "hello"),
      );
      // A RESP3 client publishing to itself gets the push before its reply.
      strictEqual(
        await inline(a, "PUBLISH y self", 2),
        frame(3, "message", "y", "self") + ":1\r\n",
      );
      strictEqual(
        await inline(a, "UNSUBSCRIBE", 2),
        frame(3, "unsubscribe", "x", 2) + frame(3, "unsubscribe", "y", 1),
      );
      strictEqual(await inline(a, "UNSUBSCRIBE"), frame(3, "unsubscribe", null, 1));
    } finally {
      await closeAll([a, p]);
    }
  });
});

Deno.test("pubsub: channel plus patterns count each frame; any db reaches everyone", async () => {
  await withServer([], async ({ port }) => {
    const [a, b, p] = await connectAll(port, 3);
    try {
      await inline(a, "SUBSCRIBE news.tech", 1);
      await inline(a, "PSUBSCRIBE news.*", 1);
      await inline(b, "PSUBSCRIBE news.* *.tech", 2);
      strictEqual(await inline(p, "SELECT 5"), "+OK\r\n");
      strictEqual(await inline(p, "PUBLISH news.tech t"), ":4\r\n");
      strictEqual(
        await readRaw(a, 2),
        frame(2, "message", "news.tech", "t") + frame(2, "pmessage", "news.*", "news.tech", "t"),
      );
      const got = [await readRaw(b, 1), await readRaw(b, 1)].sort();
      deepStrictEqual(got, [
        frame(2, "pmessage", "*.tech", "news.tech", "t"),
        frame(2, "pmessage", "news.*", "news.tech", "t"),
      ]);
      strictEqual(await inline(p, "PUBSUB NUMPAT"), ":2\r\n");
      strictEqual(await inline(p, "PUBLISH news.sport s"), ":2\r\n");
      strictEqual(await inline(p, "PUBSUB NUMSUB news.tech"), "*2\r\n$9\r\nnews.tech\r\n:1\r\n");
    } finally {
      await closeAll([a, b, p]);
    }
  });
});

Deno.test("pubsub: shard channels are their own namespace", async () => {
  await withServer([], async ({ port }) => {
    const [a, b, p] = await connectAll(port, 3);
    try {
      await inline(a, "SUBSCRIBE s1");
      strictEqual(
        await inline(a, "SSUBSCRIBE s1 s2", 2),
        frame(2, "ssubscribe", "s1", 1) + frame(2, "ssubscribe", "s2", 2),
      );
      strictEqual(await inline(b, "SSUBSCRIBE s1"), frame(2, "ssubscribe", "s1", 1));
      strictEqual((await inline(b, "GET k")).slice(0, 20), "-ERR Can't execute '");
      strictEqual(await inline(p, "SPUBLISH s1 hi"), ":2\r\n");
      strictEqual(await readRaw(a, 1), frame(2, "smessage", "s1", "hi"));
      strictEqual(await readRaw(b, 1), frame(2, "smessage", "s1", "hi"));
      strictEqual(await inline(p, "PUBLISH s1 plain"), ":1\r\n");
      strictEqual(await readRaw(a, 1), frame(2, "message", "s1", "plain"));
      ok(await silent(b));
      deepStrictEqual(strings((await p.call(["PUBSUB", "SHARDCHANNELS"])).value).sort(), [
        "s1",
        "s2",
      ]);
      strictEqual(await inline(p, "PUBSUB SHARDCHANNELS *2"), "*1\r\n$2\r\ns2\r\n");
      strictEqual(
        await inline(p, "PUBSUB SHARDNUMSUB s1 s2 s3"),
        "*6\r\n$2\r\ns1\r\n:2\r\n$2\r\ns2\r\n:1\r\n$2\r\ns3\r\n:0\r\n",
      );
      strictEqual(
        await inline(p, "PUBSUB CHANNELS a b"),
        "-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.\r\n",
      );
      strictEqual(
        await inline(p, "PUBSUB NUMPAT x"),
        "-ERR wrong number of arguments for 'pubsub|numpat' command\r\n",
      );
      strictEqual(
        await inline(p, "PUBSUB"),
        "-ERR wrong number of arguments for 'pubsub' command\r\n",
      );
      strictEqual(
        await inline(p, "PUBLISH a"),
        "-ERR wrong number of arguments for 'publish' command\r\n",
      );
      strictEqual(
        await inline(p, "SUBSCRIBE"),
        "-ERR wrong number of arguments for 'subscribe' command\r\n",
      );
      ok((await inline(p, "PUBSUB HELP")).startsWith(
        "*14\r\n+PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n",
      ));
    } finally {
      await closeAll([a, b, p]);
    }
  });
});

Deno.test("pubsub: binary channel names, patterns and payloads", async () => {
  await withServer([], async ({ port }) => {
    const [a, p] = await connectAll(port, 2);
    try {
      const all = new Uint8Array(256).map((_, i) => i);
      const chan = new Uint8Array([0, 255, 13, 10, 0x80, 42]);
      await a.send(encodeCommand(["SUBSCRIBE", chan]));
      strictEqual(await readRaw(a, 1), frame(2, "subscribe", text(chan), 1));
      await a.send(encodeCommand(["PSUBSCRIBE", new Uint8Array([0, 63, 13, 42])]));
      await readRaw(a, 1);
      strictEqual(int((await p.call(["PUBLISH", chan, all])).value), 2);
      strictEqual(
        await readRaw(a, 2),
        frame(2, "message", text(chan), text(all)) +
          frame(2, "pmessage", "\x00?\r*", text(chan), text(all)),
      );
      deepStrictEqual(strings((await p.call(["PUBSUB", "CHANNELS"])).value), [text(chan)]);
    } finally {
      await closeAll([a, p]);
    }
  });
});

Deno.test("pubsub: 10k pipelined publishes arrive in order, pattern and channel", async () => {
  await withServer([], async ({ port }) => {
    const [a, p] = await connectAll(port, 2);
    try {
      await inline(a, "SUBSCRIBE seq");
      const n = 10000;
      const parts: Uint8Array[] = [];
      for (let i = 0; i < n; i++) parts.push(encodeCommand(["PUBLISH", "seq", String(i)]));
      await p.send(bytes(parts.map(text).join("")));
      for (let i = 0; i < n; i++) strictEqual(int((await p.reply()).value), 1);
      for (let i = 0; i < n; i++) {
        strictEqual(text((await a.reply()).raw), frame(2, "message", "seq", String(i)));
      }
    } finally {
      await closeAll([a, p]);
    }
  });
});

/** Subscribe/disconnect cycles in several ways; returns when all are done. */
async function churn(port: number, cycles: number, parallel = 32): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < cycles) {
      const i = next++;
      const c = await RespConnection.connect(port);
      await c.send(encodeCommand(["SUBSCRIBE", `c${i % 97}`, `d${i}`]));
      await c.send(encodeCommand(["PSUBSCRIBE", `p${i % 13}*`]));
      await c.send(encodeCommand(["SSUBSCRIBE", `s${i % 7}`]));
      await readRaw(c, 4);
      switch (i % 4) {
        case 0: // clean QUIT
          await c.send(encodeCommand(["QUIT"]));
          await c.reply();
          break;
        case 1: // RESET, then close
          await c.send(encodeCommand(["RESET"]));
          await c.reply();
          break;
        case 2: // killed in the middle of a command
          await c.send(bytes("*3\r\n$9\r\nSUBSCRIBE\r\n$3\r\nabc\r\n$5\r\nab"));
          break;
        default: // just dropped
          break;
      }
      await c.close();
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

/** Resident memory of a process (VmRSS), in KiB. */
function residentKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

async function assertEmpty(port: number): Promise<void> {
  const empty = { channels: [], numpat: 0, shard: [] };
  await eventually(async () => {
    const s = await pubsubState(port);
    return s.channels.length === 0 && s.numpat === 0 && s.shard.length === 0;
  }, "every subscription gone");
  deepStrictEqual(await pubsubState(port), empty);
  for (const f of ["pubsub_channels", "pubsub_patterns", "pubsubshard_channels"]) {
    const v = await infoField(port, f);
    if (v !== undefined) strictEqual(v, "0", f);
  }
}

Deno.test("pubsub: 5k subscribe/disconnect cycles leave nothing behind", async () => {
  await withServer([], async ({ port }) => {
    await churn(port, 5000);
    await assertEmpty(port);
  });
});

Deno.test({
  name: "pubsub: 100k subscribe/disconnect cycles (PUBSUB_CYCLES=100000 to run)",
  ignore: Deno.env.get("PUBSUB_CYCLES") === undefined,
  fn: async () => {
    await withServer([], async ({ port, process }) => {
      const cycles = Number(Deno.env.get("PUBSUB_CYCLES"));
      // Warm up first with as many cycles, so that the heap has reached its working size.
      await churn(port, cycles, 64);
      const before = residentKiB(process.pid);
      await churn(port, cycles, 64);
      await assertEmpty(port);
      const growth = residentKiB(process.pid) - before;
      console.log(`  RSS growth over ${cycles} cycles after warm-up: ${growth} KiB`);
      ok(growth < 32 * 1024, `memory stays flat: RSS grew ${growth} KiB over ${cycles} cycles`);
    });
  },
});

// ---------------------------------------------------------------------------
// In-process server: the broker's maps, counters and output limits are
// inspected directly while real sockets talk to it.

async function withInProcess(
  fn: (server: Server, port: number) => Promise<void>,
): Promise<void> {
  const config = defaultServerConfig();
  config.port = 0;
  config.bind = ["127.0.0.1"];
  const server = new Server(config, new ConfigRegistry(config), setupLogging({ level: "nothing" }));
  // No save points (after the registry applied its defaults): shutting down
  // must not write a dump.rdb into ./data.
  config.save = [];
  server.listen();
  try {
    await fn(server, server.boundPorts[0]);
  } finally {
    await server.shutdown();
    // Let the closed connections' loops finish.
    await new Promise((r) => setTimeout(r, 50));
  }
}

const inProcess = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "pubsub (in-process): broker maps empty after churn; counters",
  ...inProcess,
  fn: async () => {
    await withInProcess(async (server, port) => {
      await churn(port, 1000);
      await eventually(() => server.clients.size === 0, "all clients gone");
      deepStrictEqual(server.pubsub.sizes, { channels: 0, patterns: 0, shardChannels: 0 });
      strictEqual(server.pubsub.channelCount + server.pubsub.patternCount, 0);
      strictEqual(server.pubsub.shardChannelCount, 0);

      const [a, p] = await connectAll(port, 2);
      try {
        await inline(a, "SUBSCRIBE x");
        await inline(a, "PSUBSCRIBE x*");
        const before = { ...server.pubsub };
        await inline(p, "PUBLISH x 1");
        await inline(p, "PUBLISH y 1");
        strictEqual(server.pubsub.messagesPublished - before.messagesPublished, 2);
        strictEqual(server.pubsub.messagesDelivered - before.messagesDelivered, 2);
        strictEqual(server.pubsub.channelCount, 1);
        strictEqual(server.pubsub.patternCount, 1);
      } finally {
        await closeAll([a, p]);
      }
    });
  },
});

Deno.test({
  name: "pubsub (in-process): keyspace events reach subscribers per the flags",
  ...inProcess,
  fn: async () => {
    await withInProcess(async (server, port) => {
      const a = await RespConnection.connect(port);
      try {
        await inline(a, "PSUBSCRIBE __key*__:*");
        const db = server.keyspace.dbs[3];
        server.config.notifyKeyspaceEventsFlags = 0;
        server.keyspace.notify(db, "$", "set", "k");
        ok(await silent(a, 100), "no flags, no events");
        // "KE$": K=1, E=2, $=8 (Redis' bits).
        server.config.notifyKeyspaceEventsFlags = 1 | 2 | 8;
        server.keyspace.notify(db, "$", "set", "k\x00\xff");
        server.keyspace.notify(db, "g", "del", "k");
        strictEqual(
          await readRaw(a, 2),
          frame(2, "pmessage", "__key*__:*", "__keyspace@3__:k\x00\xff", "set") +
            frame(2, "pmessage", "__key*__:*", "__keyevent@3__:set", "k\x00\xff"),
        );
        ok(await silent(a, 100), "class g is off");
      } finally {
        await a.close();
      }
    });
  },
});

Deno.test({
  name: "pubsub (in-process): slow subscriber dropped at the hard and soft limits",
  ...inProcess,
  fn: async () => {
    await withInProcess(async (server, port) => {
      const limit = server.config.clientOutputBufferLimit.pubsub;
      limit.hard = 1024 * 1024;
      limit.soft = 512 * 1024;
      limit.softSeconds = 1;
      // A subscriber that never reads, and one that does.
      const slow = await Deno.connect({ hostname: "127.0.0.1", port });
      await slow.write(encodeCommand(["SUBSCRIBE", "big"]));
      const good = await RespConnection.connect(port);
      const p = await RespConnection.connect(port);
      try {
        await inline(good, "SUBSCRIBE big");
        await eventually(() => server.pubsub.numsub("big") === 2, "both subscribed");
        const slowClient = [...server.clients.values()].find((c) => c.channels.has("big"))!;
        const payload = "x".repeat(64 * 1024);
        // Soft: stay between soft and hard; the cron drops it after ~1 s.
        let sent = 0;
        while (slowClient.pendingOutput < limit.soft + 64 * 1024) {
          strictEqual(int((await p.call(["PUBLISH", "big", payload])).value), 2);
          sent++;
          await readRaw(good, 1);
          ok(sent < 2000, "the slow subscriber's output never grew");
        }
        ok(slowClient.pendingOutput < limit.hard);
        ok(!slowClient.closed);
        const drops = server.stats.clientOutputBufferLimitDisconnections;
        await eventually(() => slowClient.closed, "soft limit disconnect", 4000);
        strictEqual(server.stats.clientOutputBufferLimitDisconnections, drops + 1);
        strictEqual(server.pubsub.numsub("big"), 1);

        // Hard: a burst far over the limit drops it at once, mid-turn.
        const slow2 = await Deno.connect({ hostname: "127.0.0.1", port });
        await slow2.write(encodeCommand(["SUBSCRIBE", "big"]));
        await eventually(() => server.pubsub.numsub("big") === 2, "second slow subscriber");
        const burst = 200;
        const cmds = Array.from(
          { length: burst },
          () => text(encodeCommand(["PUBLISH", "big", payload])),
        );
        // The good subscriber reads while the burst is delivered: it is held
        // to the same 1 MB hard limit, so letting its 12.8 MB pile up in the
        // kernel and its output buffer would (rightly) drop it too.
        const goodReads = (async () => {
          for (let i = 0; i < burst; i++) await readRaw(good, 1);
        })();
        await p.send(bytes(cmds.join("")));
        const counts: number[] = [];
        for (let i = 0; i < burst; i++) counts.push(int((await p.reply()).value));
        await goodReads;
        ok(counts[0] === 2 && counts[burst - 1] === 1, `receivers went 2 → 1: ${counts}`);
        strictEqual(server.stats.clientOutputBufferLimitDisconnections, drops + 2);
        strictEqual(server.pubsub.numsub("big"), 1);
        slow2.close();
      } finally {
        slow.close();
        await closeAll([good, p]);
      }
    });
  },
});

/**
 * One subscriber never reads while another reads everything: the first is
 * dropped at the pubsub hard limit (logged), the second gets every message.
 */
async function slowConsumerScenario(port: number, output: () => string): Promise<void> {
  const slow = await Deno.connect({ hostname: "127.0.0.1", port });
  const [good, p] = await connectAll(port, 2);
  try {
    await slow.write(encodeCommand(["SUBSCRIBE", "big"]));
    await inline(good, "SUBSCRIBE big");
    await eventually(
      async () => (await inline(p, "PUBSUB NUMSUB big")) === "*2\r\n$3\r\nbig\r\n:2\r\n",
      "both subscribed",
    );
    const payload = "y".repeat(64 * 1024);
    const batch = text(encodeCommand(["PUBLISH", "big", payload])).repeat(20);
    const counts: number[] = [];
    for (let b = 0; b < 15; b++) {
      // Read the good subscriber while the batch is delivered, so that it
      // stays under the same 1 MB hard limit as the slow one.
      const goodReads = (async () => {
        for (let i = 0; i < 20; i++) {
          strictEqual(text((await good.reply()).raw), frame(2, "message", "big", payload));
        }
      })();
      await p.send(bytes(batch));
      for (let i = 0; i < 20; i++) counts.push(int((await p.reply()).value));
      await goodReads;
    }
    strictEqual(counts[0], 2);
    strictEqual(counts[counts.length - 1], 1, "the slow subscriber was dropped");
    strictEqual(await inline(p, "PUBSUB NUMSUB big"), "*2\r\n$3\r\nbig\r\n:1\r\n");
    ok(output().includes("scheduled to be closed ASAP for overcoming of output buffer limits"));
    const stats = text((await p.call(["INFO", "stats"])).raw);
    ok(stats.includes("client_output_buffer_limit_disconnections:1\r\n"), "counted in INFO");
    match(stats, /pubsub_messages_published:300\r\n/);
  } finally {
    slow.close();
    await closeAll([good, p]);
  }
}

Deno.test("pubsub: slow subscriber dropped at the configured limit (start-up argument)", async () => {
  await withServer(
    // Separate words; redis-server also takes them as one quoted argument.
    ["--client-output-buffer-limit", "pubsub", "1mb", "512kb", "1"],
    async ({ port, output }) => {
      const c = await RespConnection.connect(port);
      const limits = strings((await c.call(["CONFIG", "GET", "client-output-buffer-limit"])).value);
      await c.close();
      ok(limits[1].includes("pubsub 1048576 524288 1"), `limit applied: ${limits[1]}`);
      await slowConsumerScenario(port, output);
    },
  );
});

Deno.test("pubsub: slow subscriber dropped at the limit set by CONFIG SET", async () => {
  await withServer([], async ({ port, output }) => {
    const c = await RespConnection.connect(port);
    strictEqual(
      await callRaw(c, ["CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 512kb 1"]),
      "+OK\r\n",
    );
    await c.close();
    await slowConsumerScenario(port, output);
  });
});

Deno.test("pubsub: CLIENT LIST sub/psub/ssub and flag P; CLIENT KILL TYPE pubsub", async () => {
  await withServer([], async ({ port }) => {
    const [a, b, p] = await connectAll(port, 3);
    try {
      await inline(a, "SUBSCRIBE x y", 2);
      await inline(a, "PSUBSCRIBE p*");
      await inline(a, "SSUBSCRIBE s");
      await b.call(["HELLO", "3"]);
      await inline(b, "SSUBSCRIBE s");
      const list = (await p.call(["CLIENT", "LIST"])).value;
      const lines = list.type === "bulk" && list.value ? text(list.value).trim().split("\n") : [];
      const fields = lines.map((l) =>
        l.match(/ flags=(\S+) .* sub=(\d+) psub=(\d+) ssub=(\d+) /)!
          .slice(1)
      );
      deepStrictEqual(fields, [["P", "2", "1", "1"], ["P", "0", "0", "1"], ["N", "0", "0", "0"]]);
      strictEqual(await inline(p, "CLIENT KILL TYPE pubsub"), ":2\r\n");
      deepStrictEqual(await pubsubState(port), { channels: [], numpat: 0, shard: [] });
      strictEqual(await inline(p, "PUBLISH x m"), ":0\r\n");
    } finally {
      await closeAll([a, b, p]);
    }
  });
});
