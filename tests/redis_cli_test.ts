/**
 * redis-cli against this server: one-shot commands from arguments, raw and
 * `--no-raw` output, a script of commands on stdin, and `--pipe` mass
 * insertion of 100000 keys. Where redis-server is installed, each scripted
 * session also runs against it and the printed output must be identical.
 *
 * @module
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  hasRedis,
  hasRedisCli,
  type RunningServer,
  skipBecause,
  withRedis,
  withServer,
} from "./support/servers.ts";
import { RespConnection } from "./support/resp_connection.ts";
import { bytes, concat, encodeCommand, show, text } from "./support/resp.ts";

/** What one redis-cli run printed. */
interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs redis-cli against `port` with `args`, feeding `stdin` if given. Output is latin1. */
async function cli(port: number, args: string[], stdin?: Uint8Array): Promise<CliRun> {
  const child = new Deno.Command("redis-cli", {
    args: ["-p", String(port), ...args],
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const w = child.stdin.getWriter();
    await w.write(stdin);
    await w.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** A redis-cli session: several runs, each an argument list (and optional stdin). */
type Session = { args: string[]; stdin?: string }[];

async function runSession(port: number, session: Session): Promise<CliRun[]> {
  const out: CliRun[] = [];
  for (const s of session) {
    out.push(await cli(port, s.args, s.stdin === undefined ? undefined : bytes(s.stdin)));
  }
  return out;
}

/** Runs `session` on our server, checks `expect`, and compares with redis-server when installed. */
async function checkSession(session: Session, expect: (string | null)[]): Promise<void> {
  const ours = await withServer([], (srv) => runSession(srv.port, session));
  ours.forEach((r, i) => {
    const want = expect[i];
    if (want !== null) {
      strictEqual(show(r.stdout), show(want), `redis-cli ${session[i].args.join(" ")}`);
    }
  });
  if (hasRedis) {
    const theirs = await withRedis([], (srv) => runSession(srv.port, session));
    deepStrictEqual(
      ours.map((r) => show(r.stdout)),
      theirs.map((r) => show(r.stdout)),
      "redis-cli prints the same for our server as for redis-server",
    );
    theirs.forEach((r, i) => {
      if (expect[i] !== null) strictEqual(show(r.stdout), show(expect[i]!), "expectation is right");
    });
  }
}

function needCli(): boolean {
  if (hasRedisCli) return true;
  skipBecause("redis-cli is not installed");
  return false;
}

Deno.test("redis-cli runs SET, GET and ECHO given as arguments and prints raw replies when piped", async () => {
  if (!needCli()) return;
  await checkSession(
    [
      { args: ["set", "k", "v"] },
      { args: ["get", "k"] },
      { args: ["get", "missing"] },
      { args: ["echo", "a b"] },
      { args: ["ping"] },
      { args: ["dbsize"] },
    ],
    ["OK\n", "v\n", "\n", "a b\n", "PONG\n", "1\n"],
  );
});

Deno.test("redis-cli --no-raw quotes strings, escapes binary, and marks nil, integers and errors", async () => {
  if (!needCli()) return;
  await checkSession(
    [
      { args: ["set", "k", "v"] },
      // Bytes that are not UTF-8 cannot travel in argv: -x takes the value from stdin.
      { args: ["-x", "set", "bin"], stdin: "a\x01\xffb" },
      { args: ["--no-raw", "get", "k"] },
      { args: ["--no-raw", "get", "bin"] },
      { args: ["--raw", "get", "bin"] },
      { args: ["--no-raw", "get", "missing"] },
      { args: ["--no-raw", "dbsize"] },
      { args: ["--no-raw", "foo", "a"] },
      { args: ["foo", "a"] },
    ],
    [
      "OK\n",
      "OK\n",
      '"v"\n',
      '"a\\x01\\xffb"\n',
      "a\x01\xffb\n",
      "(nil)\n",
      "(integer) 2\n",
      "(error) ERR unknown command 'foo', with args beginning with: 'a' \n",
      "ERR unknown command 'foo', with args beginning with: 'a' \n\n",
    ],
  );
});

Deno.test("redis-cli reading a multi-line script from stdin replies to every line", async () => {
  if (!needCli()) return;
  const script = [
    "SET a 1",
    "APPEND a 23",
    "GET a",
    'ECHO "hello world"',
    "PING",
    "GET nope",
    "DBSIZE",
    "BADCMD x",
    "",
  ].join("\n");
  await checkSession(
    [{ args: [], stdin: script }, { args: ["--no-raw"], stdin: script }],
    [
      "OK\n3\n123\nhello world\nPONG\n\n1\n" +
      "ERR unknown command 'BADCMD', with args beginning with: 'x' \n\n",
      'OK\n(integer) 3\n"123"\n"hello world"\nPONG\n(nil)\n(integer) 1\n' +
      "(error) ERR unknown command 'BADCMD', with args beginning with: 'x' \n",
    ],
  );
});

/** RESP for `SET key:<i> value:<i>` for i in [0, n). */
function massInsert(n: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < n; i++) parts.push(encodeCommand(["SET", `key:${i}`, `value:${i}`]));
  return concat(parts);
}

async function pipeInsert(srv: RunningServer, n: number): Promise<void> {
  const run = await cli(srv.port, ["--pipe"], massInsert(n));
  strictEqual(run.code, 0, `redis-cli --pipe exit code (stderr: ${run.stderr})`);
  ok(
    run.stdout.includes(`errors: 0, replies: ${n}`),
    `redis-cli --pipe summary: ${show(run.stdout)}`,
  );
  const c = await RespConnection.connect(srv.port);
  try {
    strictEqual(text((await c.call(["DBSIZE"])).raw), `:${n}\r\n`);
    for (const i of [0, 1, 4242, 77_777, n - 1]) {
      const v = `value:${i}`;
      strictEqual(text((await c.call(["GET", `key:${i}`])).raw), `$${v.length}\r\n${v}\r\n`);
    }
  } finally {
    await c.close();
  }
}

Deno.test("redis-cli --pipe mass-inserts 100000 keys: errors 0, replies 100000, DBSIZE 100000", async () => {
  if (!needCli()) return;
  await withServer([], (srv) => pipeInsert(srv, 100_000));
});
