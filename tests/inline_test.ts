/**
 * Inline (telnet) commands over a raw socket, sent the way telnet and `nc`
 * send them: CRLF or bare LF line endings, quoted arguments, blank lines,
 * many lines per packet, lines split across packets. Random inline lines are
 * also sent to a real redis-server, whose replies must match byte for byte.
 *
 * @module
 */

import { deepStrictEqual, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import { hasRedis, skipBecause, withRedis, withServer } from "./support/servers.ts";
import { RawClient } from "./support/raw_client.ts";
import { NoReplyError, type Reply, RespConnection } from "./support/resp_connection.ts";
import { bytes, show, text } from "./support/resp.ts";
import { inlineLineArb } from "./support/inline_gen.ts";

/** Sends `data` over one connection (in the given pieces) and reads `n` bytes of replies. */
async function telnet(port: number, pieces: string[], n: number): Promise<string> {
  const c = await RawClient.connect(port);
  try {
    for (const p of pieces) await c.send(p);
    return await c.read(n, 2000);
  } finally {
    await c.close();
  }
}

/** Asserts the replies to `pieces` are exactly `expect`. */
async function expectReplies(port: number, pieces: string[], expect: string): Promise<void> {
  strictEqual(show(await telnet(port, pieces, expect.length)), show(expect));
}

Deno.test("inline commands with CRLF and with bare LF endings both run", async () => {
  await withServer([], async (srv) => {
    await expectReplies(srv.port, ["PING\r\n"], "+PONG\r\n");
    await expectReplies(srv.port, ["PING\n"], "+PONG\r\n");
    await expectReplies(srv.port, ["ECHO hi\n", "ECHO there\r\n"], "$2\r\nhi\r\n$5\r\nthere\r\n");
  });
});

Deno.test("inline command names are case-insensitive and blanks around arguments are skipped", async () => {
  await withServer([], async (srv) => {
    await expectReplies(srv.port, ["  \t pInG \t \r\n"], "+PONG\r\n");
    await expectReplies(srv.port, ["echo   a  \r\n"], "$1\r\na\r\n");
  });
});

Deno.test("inline quoted arguments keep spaces and decode escapes", async () => {
  await withServer([], async (srv) => {
    await expectReplies(srv.port, ['ECHO "hello world"\r\n'], "$11\r\nhello world\r\n");
    await expectReplies(srv.port, ["ECHO 'single quoted'\r\n"], "$13\r\nsingle quoted\r\n");
    await expectReplies(srv.port, ['ECHO "a\\x41\\tb\\n"\r\n'], "$5\r\naA\tb\n\r\n");
    await expectReplies(srv.port, ["ECHO 'it\\'s'\r\n"], "$4\r\nit's\r\n");
    await expectReplies(srv.port, ['ECHO ""\r\n'], "$0\r\n\r\n");
  });
});

Deno.test("empty inline lines are ignored without a reply", async () => {
  await withServer([], async (srv) => {
    await expectReplies(srv.port, ["\r\n", "\n", "   \r\n\r\n\nPING\r\n"], "+PONG\r\n");
  });
});

Deno.test("many inline lines in one packet all reply, in order", async () => {
  await withServer([], async (srv) => {
    const lines = Array.from({ length: 500 }, (_, i) => `ECHO line${i}${i % 2 ? "\r\n" : "\n"}`);
    const expect = Array.from({ length: 500 }, (_, i) => {
      const s = `line${i}`;
      return `$${s.length}\r\n${s}\r\n`;
    }).join("");
    await expectReplies(srv.port, [lines.join("")], expect);
  });
});

Deno.test("an inline line split across packets (as typed) runs once complete", async () => {
  await withServer([], async (srv) => {
    const c = await RawClient.connect(srv.port);
    try {
      for (const ch of "ECHO typed") await c.send(ch);
      strictEqual(await c.read(Infinity, 100), "", "no reply before the newline");
      await c.send("\r");
      await c.send("\n");
      strictEqual(await c.read(11, 2000), "$5\r\ntyped\r\n");
    } finally {
      await c.close();
    }
  });
});

Deno.test("an unknown inline command is reported with its arguments", async () => {
  await withServer([], async (srv) => {
    await expectReplies(
      srv.port,
      ["FOO bar 'b z'\r\n"],
      "-ERR unknown command 'FOO', with args beginning with: 'bar' 'b z' \r\n",
    );
  });
});

Deno.test("vertical tab and form feed stay inside an unquoted inline argument, as in Redis", async () => {
  // redis-server 7.0.15: "ECHO a\vb" -> "$3\r\na\vb\r\n" (sdssplitargs ends a
  // bare argument only at space, \t, \r, \n or NUL).
  await withServer([], async (srv) => {
    await expectReplies(srv.port, ["ECHO a\x0bb\r\n"], "$3\r\na\x0bb\r\n");
    await expectReplies(srv.port, ["ECHO a\x0cb\r\n"], "$3\r\na\x0cb\r\n");
  });
});

/** Sends one inline line; returns its reply, and reconnects after a protocol error closed it. */
class InlineSession {
  private conn: RespConnection | null = null;
  constructor(private port: number) {}

  async line(l: string): Promise<string> {
    this.conn ??= await RespConnection.connect(this.port);
    await this.conn.send(bytes(`${l}\r\n`));
    let r: Reply;
    try {
      r = await this.conn.reply(5000);
    } catch (err) {
      if (err instanceof NoReplyError) return `<no reply: ${err.message}>`;
      throw err;
    }
    if (r.value.type === "error" && r.value.value.startsWith("ERR Protocol error")) {
      await this.close();
    }
    return text(r.raw);
  }

  async close(): Promise<void> {
    await this.conn?.close();
    this.conn = null;
  }
}

Deno.test("random inline ECHO lines get the same replies from us and redis-server", async () => {
  if (!hasRedis) {
    skipBecause("redis-server is not installed");
    return;
  }
  await withServer([], (ours) =>
    withRedis([], async (redis) => {
      const a = new InlineSession(ours.port);
      const b = new InlineSession(redis.port);
      try {
        await fc.assert(
          fc.asyncProperty(inlineLineArb, async (l) => {
            const line = `ECHO ${l}`;
            deepStrictEqual(show(await a.line(line)), show(await b.line(line)), show(line));
          }),
          { numRuns: 500 },
        );
      } finally {
        await a.close();
        await b.close();
      }
    }));
});
