/**
 * Unit and property tests for the request parser (`RequestParser`) and the
 * inline splitter (`splitArgs`): requests parse the same however TCP splits
 * them, RESP multibulks round-trip any bytes, inline lines split exactly as
 * Redis' `sdssplitargs` (checked against a real redis-server when installed),
 * and every limit and protocol error carries Redis 7.0's exact text.
 *
 * @module
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import {
  type ParserLimits,
  PROTO_INLINE_MAX_SIZE,
  ProtocolError,
  RequestParser,
} from "../src/protocol/request_parser.ts";
import { splitArgs } from "../src/protocol/split_args.ts";
import { bytes, concat, encodeCommand, show, text } from "./support/resp.ts";
import { hasRedis, skipBecause, withRedis } from "./support/servers.ts";
import { RawClient } from "./support/raw_client.ts";
import { inlineLineArb } from "./support/inline_gen.ts";

const OPEN: ParserLimits = { maxBulkLen: 512 * 1024 * 1024, unauthenticated: false };

/** Runs the parser over `chunks` (one feed each); returns every command, copied, as latin1. */
function parseChunks(chunks: readonly Uint8Array[], limits = OPEN): string[][] {
  const p = new RequestParser();
  const out: string[][] = [];
  for (const c of chunks) {
    p.feed(c);
    // Args are views into the parser's buffer: copy them before the next feed.
    for (let cmd = p.next(limits); cmd !== null; cmd = p.next(limits)) out.push(cmd.map(text));
  }
  return out;
}

/** The protocol error the chunks produce (null if none), after the commands parsed before it. */
function parseError(
  chunks: readonly Uint8Array[],
  limits = OPEN,
): { commands: string[][]; error: string | null } {
  const p = new RequestParser();
  const commands: string[][] = [];
  try {
    for (const c of chunks) {
      p.feed(c);
      for (let cmd = p.next(limits); cmd !== null; cmd = p.next(limits)) {
        commands.push(cmd.map(text));
      }
    }
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    return { commands, error: err.message };
  }
  return { commands, error: null };
}

function splitAt(b: Uint8Array, ...cuts: number[]): Uint8Array[] {
  const points = [0, ...cuts, b.length];
  return points.slice(1).map((end, i) => b.subarray(points[i], end));
}

/** Valid requests with the commands Redis makes of them. */
const CORPUS: { name: string; wire: Uint8Array; expect: string[][] }[] = [
  { name: "multibulk PING", wire: encodeCommand(["PING"]), expect: [["PING"]] },
  {
    name: "empty bulk",
    wire: encodeCommand(["SET", "key", ""]),
    expect: [["SET", "key", ""]],
  },
  {
    name: "binary bulk with CRLF, NUL and 0xFF inside",
    wire: encodeCommand(["ECHO", "a\r\n\x00\xff\r\n*1\r\n$3"]),
    expect: [["ECHO", "a\r\n\x00\xff\r\n*1\r\n$3"]],
  },
  { name: "*0 is an empty request", wire: bytes("*0\r\n"), expect: [[]] },
  { name: "*-1 is an empty request", wire: bytes("*-1\r\n"), expect: [[]] },
  {
    name: "bytes after a bulk payload are skipped unchecked",
    wire: bytes("*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n"),
    expect: [["PING"], ["PING"]],
  },
  { name: "inline with CRLF", wire: bytes("PING\r\n"), expect: [["PING"]] },
  { name: "inline with bare LF", wire: bytes("ECHO a\n"), expect: [["ECHO", "a"]] },
  { name: "empty inline lines", wire: bytes("\r\n\n"), expect: [[], []] },
  {
    name: "inline quoting and escapes",
    wire: bytes(`  SET "k \\x41\\n" 'it\\'s'\t x\r\n`),
    expect: [["SET", "k A\n", "it's", "x"]],
  },
  {
    name: "inline and multibulk mixed",
    wire: concat([bytes("PING\r\n"), encodeCommand(["GET", "a"]), bytes("ECHO b\n")]),
    expect: [["PING"], ["GET", "a"], ["ECHO", "b"]],
  },
];

Deno.test("parser: each corpus request gives Redis' commands when fed whole", () => {
  for (const c of CORPUS) deepStrictEqual(parseChunks([c.wire]), c.expect, c.name);
});

Deno.test("parser: a request split in two at every byte boundary parses the same", () => {
  for (const c of CORPUS) {
    for (let i = 0; i <= c.wire.length; i++) {
      deepStrictEqual(parseChunks(splitAt(c.wire, i)), c.expect, `${c.name}, cut at ${i}`);
    }
  }
});

Deno.test("parser: a request split in three at every pair of boundaries parses the same", () => {
  for (const c of CORPUS) {
    for (let i = 0; i <= c.wire.length; i++) {
      for (let j = i; j <= c.wire.length; j++) {
        deepStrictEqual(parseChunks(splitAt(c.wire, i, j)), c.expect, `${c.name}, ${i}/${j}`);
      }
    }
  }
});

Deno.test("parser: a request fed one byte at a time parses the same", () => {
  for (const c of CORPUS) {
    const oneByOne = Array.from(c.wire, (_, i) => c.wire.subarray(i, i + 1));
    deepStrictEqual(parseChunks(oneByOne), c.expect, c.name);
  }
});

Deno.test("parser: big bulks (32 KB+ path, buffer growth) parse the same at any split", () => {
  const big1 = "x".repeat(40_000);
  const big2 = Array.from({ length: 70_001 }, (_, i) => String.fromCharCode(i % 256)).join("");
  const wire = concat([
    encodeCommand(["SET", "a", big1]),
    encodeCommand(["SET", "b", big2]),
    encodeCommand(["PING"]),
  ]);
  const expect = [["SET", "a", big1], ["SET", "b", big2], ["PING"]];
  deepStrictEqual(parseChunks([wire]), expect);
  // Every split is too slow for 110 KB: take a stride plus the points around each header.
  const cuts = new Set<number>();
  for (let i = 0; i <= wire.length; i += 997) cuts.add(i);
  for (const h of [0, 20, 40_020, 40_040, 110_060]) {
    for (let d = -8; d <= 30; d++) cuts.add(Math.max(0, Math.min(wire.length, h + d)));
  }
  for (const i of cuts) deepStrictEqual(parseChunks(splitAt(wire, i)), expect, `cut at ${i}`);
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < wire.length; i += 1000) pieces.push(wire.subarray(i, i + 1000));
  deepStrictEqual(parseChunks(pieces), expect, "1000-byte reads");
});

Deno.test("parser: thousands of pipelined commands in one feed all come out in order", () => {
  const cmds: string[][] = [];
  for (let i = 0; i < 5000; i++) {
    cmds.push(i % 3 === 0 ? ["PING"] : ["SET", `key:${i}`, "v".repeat(i % 50)]);
  }
  const wire = concat(cmds.map((c) => encodeCommand(c)));
  deepStrictEqual(parseChunks([wire]), cmds);
  deepStrictEqual(parseChunks(splitAt(wire, 12_345, 54_321)), cmds);
});

/** Any byte string, biased towards bytes that mean something to RESP. */
const argArb = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom("", "\r\n", "\r", "\n", "*1\r\n", "$-1\r\n", "\x00", "\xff").map(
      bytes,
    ),
  },
  {
    weight: 1,
    arbitrary: fc.array(fc.constantFrom("\r", "\n", "$", "*", "0", "a", "\x00"), { maxLength: 12 })
      .map((a) => bytes(a.join(""))),
  },
);
const commandArb = fc.array(argArb, { maxLength: 8 });

/** Cuts a buffer at random points given as fractions. */
function cutAt(wire: Uint8Array, fractions: number[]): Uint8Array[] {
  const cuts = [...new Set(fractions.map((f) => Math.floor(f * wire.length)))].sort((a, b) =>
    a - b
  );
  return splitAt(wire, ...cuts);
}

const fractionsArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 });

Deno.test("parser (property): any array of byte strings round-trips as a RESP multibulk", () => {
  fc.assert(
    fc.property(commandArb, fractionsArb, (args, fractions) => {
      const got = parseChunks(cutAt(encodeCommand(args), fractions));
      deepStrictEqual(got, [args.map(text)]);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("parser (property): a pipeline of random multibulks, cut anywhere, parses in order", () => {
  fc.assert(
    fc.property(fc.array(commandArb, { maxLength: 12 }), fractionsArb, (cmds, fractions) => {
      const wire = concat(cmds.map((c) => encodeCommand(c)));
      deepStrictEqual(parseChunks(cutAt(wire, fractions)), cmds.map((c) => c.map(text)));
    }),
    { numRuns: 1000 },
  );
});

// ---------------------------------------------------------------------------
// Inline splitting (sdssplitargs)

/** Inline lines and how redis-server 7.0.15 splits them (checked with COMMAND GETKEYS MGET). */
const SPLIT_CASES: [string, string[] | null][] = [
  ["", []],
  ["   \t ", []],
  ["a b  c", ["a", "b", "c"]],
  [`"a b" 'c d'`, ["a b", "c d"]],
  [`"" ''`, ["", ""]],
  [`"\\x41\\x4g"`, ["Ax4g"]],
  [`"\\x4"`, ["x4"]],
  [`"\\n\\r\\t\\b\\a\\z\\\\\\""`, ['\n\r\t\b\x07z\\"']],
  [`'a\\'b'`, ["a'b"]],
  [`'a\\nb'`, ["a\\nb"]],
  ['"a\rb" c\rd', ["a\rb", "c", "d"]],
  ["c\xa0d \xff", ["c\xa0d", "\xff"]],
  ['a"b"', ["ab"]],
  ["a'b c' d", ["ab c", "d"]],
  // isspace() skips \v and \f between arguments, but only ' ', \t, \r, \n end
  // an unquoted argument: Redis keeps \v and \f inside it.
  ["a\x0bb", ["a\x0bb"]],
  ["a\x0cb", ["a\x0cb"]],
  [' \x0c "q"\x0b c', ["q", "c"]],
  [`"a"b`, null],
  [`'a'b`, null],
  [`"abc`, null],
  [`'abc`, null],
  [`"\\`, null],
];

Deno.test("splitArgs splits inline lines exactly as Redis' sdssplitargs", () => {
  for (const [line, expect] of SPLIT_CASES) {
    const got = splitArgs(bytes(line));
    deepStrictEqual(got === null ? null : got.map(text), expect, `line ${show(line)}`);
  }
});

/** Asks a real redis-server how it splits `line`, via `COMMAND GETKEYS MGET x <line>`. */
class RedisSplitter {
  private client: RawClient | null = null;
  constructor(private port: number) {}

  async split(line: string): Promise<string[] | null> {
    this.client ??= await RawClient.connect(this.port);
    await this.client.send(`COMMAND GETKEYS MGET x ${line}\r\n`);
    const head = await this.client.read(1, 2000);
    if (head === "-") {
      const rest = await this.client.read(Infinity, 50);
      ok(rest.includes("unbalanced quotes"), `unexpected error ${show(rest)}`);
      await this.close();
      return null;
    }
    strictEqual(head, "*", "GETKEYS answers with an array");
    const keys: string[] = [];
    const count = Number(await this.readLine());
    for (let i = 0; i < count; i++) {
      strictEqual(await this.client.read(1, 2000), "$");
      const len = Number(await this.readLine());
      keys.push(await this.client.read(len, 2000));
      strictEqual(await this.client.read(2, 2000), "\r\n");
    }
    return keys.slice(1);
  }

  private async readLine(): Promise<string> {
    let s = "";
    while (!s.endsWith("\r\n")) {
      const c = await this.client!.read(1, 2000);
      if (c === "") throw new Error(`reply line cut short: ${show(s)}`);
      s += c;
    }
    return s.slice(0, -2);
  }

  async close(): Promise<void> {
    await this.client?.close();
    this.client = null;
  }
}

Deno.test("splitArgs (property): random inline lines split as a real redis-server splits them", async () => {
  if (!hasRedis) {
    skipBecause("redis-server is not installed");
    return;
  }
  await withRedis([], async (srv) => {
    const redis = new RedisSplitter(srv.port);
    try {
      await fc.assert(
        fc.asyncProperty(inlineLineArb, async (line) => {
          const expect = await redis.split(line);
          const got = splitArgs(bytes(line));
          deepStrictEqual(got === null ? null : got.map(text), expect, `line ${show(line)}`);
        }),
        { numRuns: 400 },
      );
    } finally {
      await redis.close();
    }
  });
});

// ---------------------------------------------------------------------------
// Limits and protocol errors

function expectError(
  wire: string | Uint8Array,
  error: string,
  limits = OPEN,
  commands: string[][] = [],
): void {
  const w = typeof wire === "string" ? bytes(wire) : wire;
  deepStrictEqual(parseError([w], limits), { commands, error }, `input ${show(w.slice(0, 60))}`);
}

function expectWaiting(wire: string | Uint8Array, limits = OPEN): void {
  const w = typeof wire === "string" ? bytes(wire) : wire;
  deepStrictEqual(parseError([w], limits), { commands: [], error: null }, show(w.slice(0, 60)));
}

Deno.test("parser: multibulk counts must be strict decimals no larger than INT_MAX", () => {
  const invalid = "Protocol error: invalid multibulk length";
  for (const bad of ["*abc", "*", "*01", "*+1", "*-0", "*1 ", "*2147483648", "*3000000000"]) {
    expectError(`${bad}\r\n`, invalid);
  }
  expectError("*-10000000000000000000\r\n", invalid);
  expectError("*99999999999999999999\r\n", invalid);
  // INT_MAX itself is accepted: the parser then waits for the bulks.
  expectWaiting("*2147483647\r\n");
});

Deno.test("parser: a 20-character negative multibulk count is an empty request, as string2ll allows", () => {
  // redis-server answers PONG to "*-1000000000000000000\r\nPING\r\n": string2ll
  // accepts 19 digits plus the sign, and counts <= 0 are empty requests.
  deepStrictEqual(parseError([bytes("*-1000000000000000000\r\nPING\r\n")]), {
    commands: [[], ["PING"]],
    error: null,
  });
});

Deno.test("parser: bulk lengths must be strict, non-negative and within proto-max-bulk-len", () => {
  const invalid = "Protocol error: invalid bulk length";
  for (const bad of ["$-1", "$-0", "$abc", "$", "$04", "$ 4", "$+4", "$536870913"]) {
    expectError(`*2\r\n$4\r\nECHO\r\n${bad}\r\n`, invalid);
  }
  const small: ParserLimits = { maxBulkLen: 1024, unauthenticated: false };
  expectError("*1\r\n$1025\r\n", invalid, small);
  expectWaiting("*1\r\n$1024\r\n", small);
  expectWaiting("*2\r\n$4\r\nECHO\r\n$536870912\r\n");
});

Deno.test("parser: a bulk header not starting with '$' is \"expected '$', got 'x'\"", () => {
  expectError("*1\r\nx\r\n", "Protocol error: expected '$', got 'x'");
  expectError("*2\r\n$4\r\nECHO\r\n:1\r\n", "Protocol error: expected '$', got ':'");
});

Deno.test("parser: commands before a protocol error in the same feed are still returned", () => {
  expectError(
    concat([bytes("PING\r\n"), encodeCommand(["GET", "k"]), bytes("*x\r\nPING\r\n")]),
    "Protocol error: invalid multibulk length",
    OPEN,
    [["PING"], ["GET", "k"]],
  );
});

Deno.test("parser: an inline request over 64 KB without a newline is too big", () => {
  expectWaiting("A".repeat(PROTO_INLINE_MAX_SIZE));
  expectError("A".repeat(PROTO_INLINE_MAX_SIZE + 1), "Protocol error: too big inline request");
  // A long line that does end is fine.
  deepStrictEqual(parseChunks([bytes(`ECHO ${"b".repeat(70_000)}\r\n`)]), [[
    "ECHO",
    "b".repeat(70_000),
  ]]);
});

Deno.test("parser: count lines over 64 KB without CR are too big (mbulk and bulk)", () => {
  expectWaiting("*" + "1".repeat(PROTO_INLINE_MAX_SIZE - 1));
  expectError(
    "*" + "1".repeat(PROTO_INLINE_MAX_SIZE),
    "Protocol error: too big mbulk count string",
  );
  expectError(
    "*1\r\n$" + "1".repeat(PROTO_INLINE_MAX_SIZE + 1),
    "Protocol error: too big bulk count string",
  );
});

Deno.test("parser: unbalanced quotes in an inline request are a protocol error", () => {
  expectError('ECHO "abc\r\n', "Protocol error: unbalanced quotes in request");
  expectError("ECHO 'a'b\r\n", "Protocol error: unbalanced quotes in request");
  expectError('PING\r\nECHO "a"b\n', "Protocol error: unbalanced quotes in request", OPEN, [[
    "PING",
  ]]);
});

const UNAUTH: ParserLimits = { maxBulkLen: 512 * 1024 * 1024, unauthenticated: true };

Deno.test("parser: unauthenticated clients may send at most 10 arguments (Redis 7.0.15)", () => {
  // redis-server --requirepass pw answers "*11\r\n" with this error, "*10..." with NOAUTH.
  expectError("*11\r\n", "Protocol error: unauthenticated multibulk length", UNAUTH);
  expectWaiting("*10\r\n", UNAUTH);
  expectWaiting("*11\r\n", OPEN);
});

Deno.test("parser: unauthenticated clients may send bulks of at most 16384 bytes", () => {
  expectError(
    "*2\r\n$4\r\nECHO\r\n$16385\r\n",
    "Protocol error: unauthenticated bulk length",
    UNAUTH,
  );
  expectWaiting("*2\r\n$4\r\nECHO\r\n$16384\r\n", UNAUTH);
  expectWaiting("*2\r\n$4\r\nECHO\r\n$16385\r\n", OPEN);
});

Deno.test("parser: a CR in a count line is taken as its end, whatever byte follows", () => {
  // Redis skips the byte after CR unchecked: "*1\rX$4\r\nPING\r\n" is PING.
  deepStrictEqual(parseChunks([bytes("*1\rX$4\rXPING\r\n")]), [["PING"]]);
});
