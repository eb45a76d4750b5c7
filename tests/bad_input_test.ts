/**
 * Bad input against a running server over raw sockets: malformed RESP gets
 * Redis' exact error and then the connection is closed (commands parsed
 * before the error still reply first), oversized requests are refused,
 * random garbage never takes the server down, half-sent commands and
 * non-reading clients do not hurt other clients, and the query-buffer and
 * unauthenticated limits close offenders. Where redis-server is installed,
 * the same inputs go to it too and the replies must be byte-identical.
 *
 * @module
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import { hasRedis, type RunningServer, withRedis, withServer } from "./support/servers.ts";
import { RawClient } from "./support/raw_client.ts";
import { answersPing, probe, type ProbeResult, within } from "./support/probe.ts";
import { RespConnection } from "./support/resp_connection.ts";
import { bytes, concat, encodeCommand, show, text } from "./support/resp.ts";

const PROTO = "-ERR Protocol error: ";

/** A malformed (or odd but valid) input and what redis-server 7.0.15 does with it. */
interface Case {
  name: string;
  send: string;
  reply: string;
  closed: boolean;
}

const CASES: Case[] = [
  {
    name: "non-numeric multibulk count",
    send: "*abc\r\n",
    reply: PROTO + "invalid multibulk length\r\n",
    closed: true,
  },
  {
    name: "multibulk count over INT_MAX",
    send: "*3000000000\r\n",
    reply: PROTO + "invalid multibulk length\r\n",
    closed: true,
  },
  {
    name: "multibulk count that overflows int64",
    send: "*-10000000000000000000\r\n",
    reply: PROTO + "invalid multibulk length\r\n",
    closed: true,
  },
  {
    name: "bulk header without '$'",
    send: "*1\r\nx\r\n",
    reply: PROTO + "expected '$', got 'x'\r\n",
    closed: true,
  },
  {
    name: "negative bulk length $-1 inside a request",
    send: "*2\r\n$4\r\nECHO\r\n$-1\r\n",
    reply: PROTO + "invalid bulk length\r\n",
    closed: true,
  },
  {
    name: "bulk length with a leading zero",
    send: "*1\r\n$04\r\nPING\r\n",
    reply: PROTO + "invalid bulk length\r\n",
    closed: true,
  },
  {
    name: "bulk over proto-max-bulk-len (512 MB)",
    send: "*2\r\n$4\r\nECHO\r\n$536870913\r\n",
    reply: PROTO + "invalid bulk length\r\n",
    closed: true,
  },
  {
    name: "commands before a protocol error in the same packet reply first",
    send: "PING\r\n*1\r\n$4\r\nPING\r\n*x\r\nPING\r\n",
    reply: "+PONG\r\n+PONG\r\n" + PROTO + "invalid multibulk length\r\n",
    closed: true,
  },
  {
    name: "unbalanced double quote in an inline request",
    send: 'ECHO "abc\r\n',
    reply: PROTO + "unbalanced quotes in request\r\n",
    closed: true,
  },
  {
    name: "closing quote followed by a letter",
    send: "ECHO 'a'b\r\n",
    reply: PROTO + "unbalanced quotes in request\r\n",
    closed: true,
  },
  {
    // Exactly 64 KB + 1: sending more would have the server reset the
    // connection over unread bytes, racing the error reply.
    name: "inline request over 64 KB without a newline",
    send: "A".repeat(65537),
    reply: PROTO + "too big inline request\r\n",
    closed: true,
  },
  {
    name: "multibulk count line over 64 KB without CR",
    send: "*" + "1".repeat(65536),
    reply: PROTO + "too big mbulk count string\r\n",
    closed: true,
  },
  {
    name: "bulk count line over 64 KB without CR",
    send: "*1\r\n$" + "1".repeat(65537),
    reply: PROTO + "too big bulk count string\r\n",
    closed: true,
  },
  {
    name: "bytes after a bulk payload are skipped, not checked for CRLF",
    send: "*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n",
    reply: "+PONG\r\n+PONG\r\n",
    closed: false,
  },
  {
    name: "*0 and *-1 are empty requests",
    send: "*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n",
    reply: "+PONG\r\n",
    closed: false,
  },
  {
    name: "any byte after CR ends a count line",
    send: "*1\rX$4\rXPING\r\n",
    reply: "+PONG\r\n",
    closed: false,
  },
  {
    name: "a 20-character negative count is an empty request (string2ll)",
    send: "*-1000000000000000000\r\nPING\r\n",
    reply: "+PONG\r\n",
    closed: false,
  },
  {
    name: "RESP-looking lines outside a multibulk are inline commands",
    send: "$3\r\nfoo\r\n",
    reply: "-ERR unknown command '$3', with args beginning with: \r\n" +
      "-ERR unknown command 'foo', with args beginning with: \r\n",
    closed: false,
  },
];

async function probeAll(port: number): Promise<ProbeResult[]> {
  const out: ProbeResult[] = [];
  for (const c of CASES) out.push(await probe(port, c.send));
  return out;
}

function checkCases(results: ProbeResult[], server: string): void {
  const bad: string[] = [];
  CASES.forEach((c, i) => {
    const r = results[i];
    if (r.reply !== c.reply || r.closed !== c.closed) {
      bad.push(
        `${c.name}: ${server} replied ${show(r.reply)}${r.closed ? " and closed" : ""}, ` +
          `expected ${show(c.reply)}${c.closed ? " and closed" : ""}`,
      );
    }
  });
  deepStrictEqual(bad, []);
}

Deno.test("malformed RESP gets Redis' exact error, then the connection is closed", async () => {
  await withServer([], async (srv) => {
    checkCases(await probeAll(srv.port), "our server");
    ok(await answersPing(srv.port), "server still answers after all malformed inputs");
  });
});

Deno.test("redis-server gives the same replies to the malformed inputs (the cases are right)", async () => {
  if (!hasRedis) {
    console.log("  skipped: redis-server is not installed");
    return;
  }
  await withRedis([], async (srv) => checkCases(await probeAll(srv.port), "redis-server"));
});

Deno.test("a multibulk of 100000 arguments is parsed whole and checked for arity", async () => {
  await withServer([], async (srv) => {
    const c = await RespConnection.connect(srv.port);
    try {
      const args = ["ECHO", ...Array.from({ length: 99_999 }, (_, i) => `a${i}`)];
      const r = await c.call(args, 30_000);
      strictEqual(text(r.raw), "-ERR wrong number of arguments for 'echo' command\r\n");
      strictEqual(text((await c.call(["PING"])).raw), "+PONG\r\n");
    } finally {
      await c.close();
    }
  });
});

Deno.test("a 20 MB bulk argument is echoed back intact", async () => {
  await withServer([], async (srv) => {
    const c = await RespConnection.connect(srv.port);
    try {
      const big = new Uint8Array(20 * 1024 * 1024);
      for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
      const r = await c.call([bytes("ECHO"), big], 30_000);
      deepStrictEqual(r.value, { type: "bulk", value: big });
    } finally {
      await c.close();
    }
  });
});

/** Random bytes, and "token soup" that looks enough like RESP to get deep into the parser. */
const garbageArb = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 200 }),
  fc.array(
    fc.constantFrom(
      "*",
      "$",
      "1",
      "2",
      "0",
      "-",
      "9",
      "\r\n",
      "\r",
      "\n",
      " ",
      '"',
      "'",
      "\\",
      "x",
    ),
    { minLength: 1, maxLength: 60 },
  ).map((t) => bytes(t.join(""))),
);

Deno.test("random binary garbage never brings the server down (another client still gets PONG)", async () => {
  await withServer([], async (srv) => {
    await fc.assert(
      fc.asyncProperty(garbageArb, async (garbage) => {
        await probe(srv.port, garbage, 20);
        ok(await answersPing(srv.port), `no PONG after garbage ${show(garbage)}`);
      }),
      { numRuns: 150 },
    );
    strictEqual(await statusIfExited(srv), null, "server process is still running");
  });
});

/** The exit code if the server process has exited, else null (without waiting). */
async function statusIfExited(srv: RunningServer): Promise<number | null> {
  const s = await Promise.race([srv.process.status, new Promise((r) => setTimeout(r, 10, null))]);
  return s === null ? null : (s as Deno.CommandStatus).code;
}

/** Token soup without NUL (redis-server's strchr-based line search stops at NUL and waits). */
const soupArb = fc.array(
  fc.constantFrom(
    "*",
    "$",
    "1",
    "2",
    "3",
    "0",
    "-",
    "\r\n",
    "\r",
    "\n",
    " ",
    "\t",
    '"',
    "'",
    "\\",
    "x",
    "PING",
    "ECHO",
    "*1\r\n",
    "$4\r\n",
    "*2\r\n$4\r\nECHO\r\n",
  ),
  { minLength: 1, maxLength: 30 },
).map((t) => t.join(""));

Deno.test("random RESP-like garbage gets the same replies and closes from us and redis-server", async () => {
  if (!hasRedis) {
    console.log("  skipped: redis-server is not installed");
    return;
  }
  await withServer([], (ours) =>
    withRedis([], async (redis) => {
      await fc.assert(
        fc.asyncProperty(soupArb, async (soup) => {
          const [a, b] = await Promise.all([
            probe(ours.port, soup, 150),
            probe(redis.port, soup, 150),
          ]);
          deepStrictEqual(a, b, `input ${show(soup)}: ours vs redis-server`);
        }),
        { numRuns: 60 },
      );
    }));
});

Deno.test("a client that disconnects in the middle of a bulk leaves the server healthy", async () => {
  await withServer([], async (srv) => {
    for (
      const partial of [
        "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nabc",
        "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10",
        "*3\r\n$3\r\nSE",
        "*3\r",
        'ECHO "unfinished',
      ]
    ) {
      const c = await RawClient.connect(srv.port);
      await c.send(partial);
      await c.close();
      ok(await answersPing(srv.port), `PONG after a client left mid-request ${show(partial)}`);
    }
    // The half-sent SET never ran.
    const c = await RespConnection.connect(srv.port);
    try {
      strictEqual(text((await c.call(["ECHO", "still here"])).raw), "$10\r\nstill here\r\n");
    } finally {
      await c.close();
    }
  });
});

Deno.test("a client pipelining 20 MB of replies without reading does not stall other clients", async () => {
  await withServer([], async (srv) => {
    const greedy = await RespConnection.connect(srv.port);
    const other = await RespConnection.connect(srv.port);
    try {
      const n = 2000;
      const payload = "z".repeat(10_000);
      const one = encodeCommand(["ECHO", payload]);
      const batch = concat(Array.from({ length: n }, () => one));
      // The whole request is accepted even though no reply is read yet.
      await within(greedy.send(batch), 30_000, "server kept reading a client that reads nothing");
      const pong = await other.call(["PING"], 10_000);
      strictEqual(text(pong.raw), "+PONG\r\n");
      // Every reply is still delivered, in order, once the greedy client reads.
      for (let i = 0; i < n; i++) {
        const r = await greedy.reply(30_000);
        strictEqual(r.raw.length, 10_000 + 10, `reply ${i}`); // "$10000\r\n" + payload + CRLF
      }
    } finally {
      await greedy.close();
      await other.close();
    }
  });
});

/** Tries `CONFIG SET name value`; returns the error text, or null when it worked. */
async function configSet(port: number, name: string, value: string): Promise<string | null> {
  const c = await RespConnection.connect(port);
  try {
    const r = await c.call(["CONFIG", "SET", name, value]);
    return r.value.type === "simple" ? null : text(r.raw).trim();
  } finally {
    await c.close();
  }
}

/** Streams an endless bulk (3 MB of it) and reports what came back. */
async function endlessBulk(port: number): Promise<ProbeResult> {
  const c = await RawClient.connect(port);
  try {
    try {
      await c.send("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000000\r\n");
      const chunk = "x".repeat(64 * 1024);
      for (let i = 0; i < 48; i++) await c.send(chunk);
    } catch { /* reset by the server: expected */ }
    const reply = await c.read(Infinity, 300);
    return { reply, closed: await c.closedByServer(3000) };
  } finally {
    await c.close();
  }
}

/**
 * Runs `check` on our server and (as a step) on redis-server after
 * `CONFIG SET name value`; on our server it skips, saying why, while that
 * parameter cannot be set yet.
 */
async function withConfig(
  t: Deno.TestContext,
  name: string,
  value: string,
  check: (srv: RunningServer) => Promise<void>,
): Promise<void> {
  await withServer([], async (srv) => {
    const err = await configSet(srv.port, name, value);
    if (err !== null) {
      console.log(`  skipped on our server: CONFIG SET ${name} is not available yet (${err})`);
      return;
    }
    await check(srv);
  });
  if (hasRedis) {
    await t.step("redis-server does the same", async () => {
      await withRedis([], async (srv) => {
        strictEqual(await configSet(srv.port, name, value), null);
        await check(srv);
      });
    });
  }
}

Deno.test("client-query-buffer-limit closes a client sending an endless bulk", async (t) => {
  await withConfig(t, "client-query-buffer-limit", "1mb", async (srv) => {
    deepStrictEqual(await endlessBulk(srv.port), { reply: "", closed: true });
    ok(await answersPing(srv.port), "other clients still served");
  });
});

Deno.test("proto-max-bulk-len 1mb refuses a bulk of 1 MB + 1 byte and accepts 1 MB", async (t) => {
  await withConfig(t, "proto-max-bulk-len", "1mb", async (srv) => {
    deepStrictEqual(await probe(srv.port, "*2\r\n$4\r\nECHO\r\n$1048577\r\n"), {
      reply: PROTO + "invalid bulk length\r\n",
      closed: true,
    });
    const c = await RespConnection.connect(srv.port);
    try {
      const mb = new Uint8Array(1024 * 1024).fill(97);
      deepStrictEqual((await c.call([bytes("ECHO"), mb])).value, { type: "bulk", value: mb });
    } finally {
      await c.close();
    }
  });
});

/** Inputs refused to a client that has not authenticated yet. */
const UNAUTH_CASES: Case[] = [
  {
    name: "11 arguments before AUTH",
    send: "*11\r\n",
    reply: PROTO + "unauthenticated multibulk length\r\n",
    closed: true,
  },
  {
    name: "10 arguments before AUTH reach the NOAUTH check",
    send: "*10\r\n" + "$4\r\nPING\r\n" + "$1\r\na\r\n".repeat(9),
    reply: "-NOAUTH Authentication required.\r\n",
    closed: false,
  },
  {
    name: "a 16384-byte bulk before AUTH is read whole, then NOAUTH",
    send: "*2\r\n$4\r\nECHO\r\n$16384\r\n" + "x".repeat(16384) + "\r\n",
    reply: "-NOAUTH Authentication required.\r\n",
    closed: false,
  },
  {
    name: "a 16385-byte bulk before AUTH",
    send: "*2\r\n$4\r\nECHO\r\n$16385\r\n",
    reply: PROTO + "unauthenticated bulk length\r\n",
    closed: true,
  },
];

Deno.test("unauthenticated clients are limited to 10 arguments and 16 KB bulks", async (t) => {
  await withConfig(t, "requirepass", "secret", async (srv) => {
    for (const c of UNAUTH_CASES) {
      deepStrictEqual(await probe(srv.port, c.send), { reply: c.reply, closed: c.closed }, c.name);
    }
  });
});
