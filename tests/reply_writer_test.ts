/**
 * Tests for `ReplyWriter` and `formatDouble`: the exact bytes of every reply
 * type in RESP2 and RESP3 (with Redis' RESP2 fallbacks), `%.17g` double
 * formatting checked against C's printf (through Python), and property
 * round trips of random reply trees through an independent RESP decoder.
 *
 * @module
 */

import { deepStrictEqual, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import { formatDouble, ReplyWriter } from "../src/protocol/reply_writer.ts";
import {
  bytes,
  concat,
  decodeAll,
  decodeOne,
  encodeValue,
  type RespValue,
  show,
  text,
} from "./support/resp.ts";
import { skipBecause, which } from "./support/servers.ts";

function writer(resp: 2 | 3, size?: number): ReplyWriter {
  const w = new ReplyWriter(size);
  w.resp = resp;
  return w;
}

/** The bytes `write` produces, as latin1, in the given protocol. */
function wire(resp: 2 | 3, write: (w: ReplyWriter) => void): string {
  const w = writer(resp);
  write(w);
  return text(w.bytes());
}

/** Asserts the bytes of one write in RESP2 and in RESP3. */
function both(write: (w: ReplyWriter) => void, resp2: string, resp3: string, what: string): void {
  strictEqual(show(wire(2, write)), show(resp2), `${what} (RESP2)`);
  strictEqual(show(wire(3, write)), show(resp3), `${what} (RESP3)`);
}

Deno.test("ReplyWriter writes simple strings, OK and errors identically in RESP2 and RESP3", () => {
  both((w) => w.simple("PONG"), "+PONG\r\n", "+PONG\r\n", "simple");
  both((w) => w.ok(), "+OK\r\n", "+OK\r\n", "ok");
  both((w) => w.error("ERR bad thing"), "-ERR bad thing\r\n", "-ERR bad thing\r\n", "error");
});

Deno.test("ReplyWriter error replies turn CR and LF into spaces and are reported to onError", () => {
  const w = writer(2);
  const seen: string[] = [];
  w.onError = (m) => seen.push(m);
  w.error("ERR a\r\nb\nc");
  strictEqual(text(w.bytes()), "-ERR a  b c\r\n");
  deepStrictEqual(seen, ["ERR a  b c"]);
});

Deno.test("ReplyWriter integers: zero, negatives, 2^53 and the int64 limits as bigint", () => {
  const cases: [number | bigint, string][] = [
    [0, ":0\r\n"],
    [7, ":7\r\n"],
    [10, ":10\r\n"],
    [-1, ":-1\r\n"],
    [-2, ":-2\r\n"],
    [1234567890, ":1234567890\r\n"],
    [Number.MAX_SAFE_INTEGER, ":9007199254740991\r\n"],
    [-Number.MAX_SAFE_INTEGER, ":-9007199254740991\r\n"],
    [9223372036854775807n, ":9223372036854775807\r\n"],
    [-9223372036854775808n, ":-9223372036854775808\r\n"],
  ];
  for (const [n, expect] of cases) both((w) => w.integer(n), expect, expect, `integer ${n}`);
});

Deno.test("ReplyWriter bulk strings are binary safe; null bulk is $-1 in RESP2 and _ in RESP3", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const allText = text(all);
  both((w) => w.bulk(all), `$256\r\n${allText}\r\n`, `$256\r\n${allText}\r\n`, "all bytes");
  both((w) => w.bulk(new Uint8Array(0)), "$0\r\n\r\n", "$0\r\n\r\n", "empty bulk");
  both((w) => w.bulk(null), "$-1\r\n", "_\r\n", "bulk(null)");
  both((w) => w.nullBulk(), "$-1\r\n", "_\r\n", "nullBulk");
  both((w) => w.bulkString("a\xffb"), "$3\r\na\xffb\r\n", "$3\r\na\xffb\r\n", "latin1 bulk");
  // UTF-8 text: "é" is two bytes.
  both((w) => w.bulkText("é"), "$2\r\n\xc3\xa9\r\n", "$2\r\n\xc3\xa9\r\n", "utf8 bulkText");
});

Deno.test("ReplyWriter aggregates: arrays, null arrays, maps, sets and pushes with RESP2 fallbacks", () => {
  both((w) => w.array(3), "*3\r\n", "*3\r\n", "array");
  both((w) => w.array(0), "*0\r\n", "*0\r\n", "empty array");
  both((w) => w.nullArray(), "*-1\r\n", "_\r\n", "null array");
  both((w) => w.map(2), "*4\r\n", "%2\r\n", "map");
  both((w) => w.set(5), "*5\r\n", "~5\r\n", "set");
  both((w) => w.push(3), "*3\r\n", ">3\r\n", "push");
  both(
    (w) => w.stringArray(["a", "", "\r\n"]),
    "*3\r\n$1\r\na\r\n$0\r\n\r\n$2\r\n\r\n\r\n",
    "*3\r\n$1\r\na\r\n$0\r\n\r\n$2\r\n\r\n\r\n",
    "stringArray",
  );
});

Deno.test("ReplyWriter doubles are bulk strings in RESP2 and ',' in RESP3, inf as Redis writes it", () => {
  both((w) => w.double(1.5), "$3\r\n1.5\r\n", ",1.5\r\n", "1.5");
  both((w) => w.double(3), "$1\r\n3\r\n", ",3\r\n", "3");
  both((w) => w.double(0.1), "$19\r\n0.10000000000000001\r\n", ",0.10000000000000001\r\n", "0.1");
  both((w) => w.double(Infinity), "$3\r\ninf\r\n", ",inf\r\n", "inf");
  both((w) => w.double(-Infinity), "$4\r\n-inf\r\n", ",-inf\r\n", "-inf");
});

Deno.test("ReplyWriter booleans are integers in RESP2 and #t/#f in RESP3", () => {
  both((w) => w.bool(true), ":1\r\n", "#t\r\n", "true");
  both((w) => w.bool(false), ":0\r\n", "#f\r\n", "false");
});

Deno.test("ReplyWriter verbatim strings are plain bulks in RESP2 and =len\\r\\nfmt:text in RESP3", () => {
  both((w) => w.verbatim("a\r\nb"), "$4\r\na\r\nb\r\n", "=8\r\ntxt:a\r\nb\r\n", "txt");
  both((w) => w.verbatim("é", "mkd"), "$2\r\n\xc3\xa9\r\n", "=6\r\nmkd:\xc3\xa9\r\n", "mkd utf8");
});

Deno.test("ReplyWriter grows past its initial size, and truncate/raw edit the buffer", () => {
  const w = writer(2, 8);
  const big = new Uint8Array(3 * 1024 * 1024).fill(120);
  w.bulk(big);
  w.simple("END");
  const v = decodeAll(w.bytes());
  strictEqual(v.length, 2);
  deepStrictEqual(v[0], { type: "bulk", value: big });
  const mark = w.len;
  w.simple("DROPPED");
  w.truncate(mark);
  w.raw(bytes(":1\r\n"));
  deepStrictEqual(decodeAll(w.bytes()).slice(1), [
    { type: "simple", value: "END" },
    { type: "integer", value: 1n },
  ]);
});

// ---------------------------------------------------------------------------
// formatDouble against printf("%.17g")

const FIXED_DOUBLES = [
  0,
  1,
  -1,
  0.5,
  0.1,
  -0.1,
  1 / 3,
  3.14,
  0.0001,
  0.00001, // %.17g switches to exponent form below 1e-4
  0.000001,
  1e-7,
  1.5e-10,
  123456789012345680,
  1e16,
  1e17,
  1e21,
  1e22,
  1.7976931348623157e308,
  5e-324,
  2.2250738585072014e-308,
  Number.MAX_SAFE_INTEGER,
  2 ** 53 + 2,
  -(2 ** 63),
  12345.678,
];

/** Formats each double with C's `%.17g` by way of Python's `%` operator (same printf rules). */
async function printf17g(values: number[]): Promise<string[]> {
  const python = which("python3") ?? "/usr/bin/python3";
  const child = new Deno.Command(python, {
    args: ["-c", "import sys\nfor l in sys.stdin: print('%.17g' % float(l))"],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  // String(d) is the shortest round-trip form: Python parses it back to the same double.
  await writer.write(new TextEncoder().encode(values.map(String).join("\n") + "\n"));
  await writer.close();
  const out = await child.output();
  return new TextDecoder().decode(out.stdout).trimEnd().split("\n");
}

const hasPython = which("python3") !== null;

Deno.test("formatDouble matches printf %.17g on edge values (1e-5, 1e17, subnormals, ...)", async () => {
  if (!hasPython) {
    skipBecause("python3 is not installed (used as the printf oracle)");
    return;
  }
  const expect = await printf17g(FIXED_DOUBLES);
  const bad = FIXED_DOUBLES
    .map((d, i) => [d, formatDouble(d), expect[i]] as const)
    .filter(([, got, want]) => got !== want)
    .map(([d, got, want]) => `${d}: got ${got}, %.17g gives ${want}`);
  deepStrictEqual(bad, []);
});

Deno.test("formatDouble (property): random doubles format exactly as printf %.17g", async () => {
  if (!hasPython) {
    skipBecause("python3 is not installed (used as the printf oracle)");
    return;
  }
  // -0 is left out: %.17g prints "-0", but which Redis paths can yield -0 is
  // unsettled (ZSCORE of "-0" answers "0"), so it gets no assertion here.
  const values = fc.sample(
    fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.double({ min: -1e6, max: 1e6, noNaN: true }),
      fc.integer({ min: -1e9, max: 1e9 }).map((n) => n / 1000),
      fc.integer({ min: -30, max: 30 }).chain((e) =>
        fc.double({ min: 1, max: 10, noNaN: true }).map((m) => m * 10 ** e)
      ),
    ).filter((d) => Number.isFinite(d) && !Object.is(d, -0)),
    { numRuns: 5000, seed: 42 },
  );
  const expect = await printf17g(values);
  const bad = values
    .map((d, i) => [d, formatDouble(d), expect[i]] as const)
    .filter(([, got, want]) => got !== want)
    .slice(0, 10)
    .map(([d, got, want]) => `${d}: got ${got}, %.17g gives ${want}`);
  deepStrictEqual(bad, []);
});

Deno.test("formatDouble writes infinities and NaN as Redis does", () => {
  strictEqual(formatDouble(Infinity), "inf");
  strictEqual(formatDouble(-Infinity), "-inf");
  strictEqual(formatDouble(NaN), "nan");
});

// ---------------------------------------------------------------------------
// Round trips of random reply trees

type Node =
  | { k: "simple"; s: string }
  | { k: "error"; s: string }
  | { k: "int"; n: number | bigint }
  | { k: "bulk"; b: Uint8Array | null }
  | { k: "nullArray" }
  | { k: "double"; d: number }
  | { k: "bool"; b: boolean }
  | { k: "verbatim"; t: string }
  | { k: "array" | "set" | "push"; items: Node[] }
  | { k: "map"; pairs: [Node, Node][] };

const lineText = fc.string({ maxLength: 20 }).map((s) => s.replace(/[\r\n]/g, "_"));

const nodeArb: fc.Arbitrary<Node> = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    lineText.map((s): Node => ({ k: "simple", s })),
    lineText.map((s): Node => ({ k: "error", s: "ERR " + s })),
    fc.oneof(fc.integer(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })).map((
      n,
    ): Node => ({ k: "int", n })),
    fc.option(fc.uint8Array({ maxLength: 64 })).map((b): Node => ({ k: "bulk", b })),
    fc.constant<Node>({ k: "nullArray" }),
    fc.double({ noNaN: true }).map((d): Node => ({ k: "double", d })),
    fc.boolean().map((b): Node => ({ k: "bool", b })),
    fc.string({ maxLength: 20, unit: "grapheme" }).map((t): Node => ({ k: "verbatim", t })),
    fc.tuple(
      fc.constantFrom("array", "set", "push") as fc.Arbitrary<"array" | "set" | "push">,
      fc.array(tie("node"), { maxLength: 4 }),
    ).map(([k, items]): Node => ({ k, items })),
    fc.array(fc.tuple(tie("node"), tie("node")), { maxLength: 3 }).map((pairs): Node => ({
      k: "map",
      pairs,
    })),
  ),
})).node;

function writeNode(w: ReplyWriter, n: Node): void {
  switch (n.k) {
    case "simple":
      return w.simple(n.s);
    case "error":
      return w.error(n.s);
    case "int":
      return w.integer(n.n);
    case "bulk":
      return w.bulk(n.b);
    case "nullArray":
      return w.nullArray();
    case "double":
      return w.double(n.d);
    case "bool":
      return w.bool(n.b);
    case "verbatim":
      return w.verbatim(n.t);
    case "array":
    case "set":
    case "push":
      w[n.k](n.items.length);
      for (const i of n.items) writeNode(w, i);
      return;
    case "map":
      w.map(n.pairs.length);
      for (const [a, b] of n.pairs) {
        writeNode(w, a);
        writeNode(w, b);
      }
  }
}

const utf8 = (s: string) => new TextEncoder().encode(s);

/** What a client must decode from a node, with Redis' RESP2 fallbacks. */
function expected(n: Node, resp: 2 | 3): RespValue {
  const r3 = resp === 3;
  switch (n.k) {
    case "simple":
      return { type: "simple", value: n.s };
    case "error":
      return { type: "error", value: n.s };
    case "int":
      return { type: "integer", value: BigInt(n.n) };
    case "bulk":
      return n.b === null && r3 ? { type: "null" } : { type: "bulk", value: n.b };
    case "nullArray":
      return r3 ? { type: "null" } : { type: "array", value: null };
    case "double":
      return r3
        ? { type: "double", value: formatDouble(n.d) }
        : { type: "bulk", value: bytes(formatDouble(n.d)) };
    case "bool":
      return r3 ? { type: "bool", value: n.b } : { type: "integer", value: n.b ? 1n : 0n };
    case "verbatim":
      return r3
        ? { type: "verbatim", format: "txt", value: utf8(n.t) }
        : { type: "bulk", value: utf8(n.t) };
    case "array":
    case "set":
    case "push": {
      const items = n.items.map((i) => expected(i, resp));
      return { type: r3 ? n.k : "array", value: items } as RespValue;
    }
    case "map": {
      const pairs = n.pairs.map(([a, b]) => [expected(a, resp), expected(b, resp)]) as [
        RespValue,
        RespValue,
      ][];
      return r3 ? { type: "map", value: pairs } : { type: "array", value: pairs.flat() };
    }
  }
}

Deno.test("ReplyWriter (property): random bulk strings decode back to the same bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom<2 | 3>(2, 3), (b, resp) => {
      const w = writer(resp, 4);
      w.bulk(b);
      deepStrictEqual(decodeOne(w.bytes()), { type: "bulk", value: b });
    }),
    { numRuns: 2000 },
  );
});

Deno.test("ReplyWriter (property): random reply trees give the expected RESP2 and RESP3 values and bytes", () => {
  fc.assert(
    fc.property(fc.array(nodeArb, { minLength: 1, maxLength: 5 }), (nodes) => {
      for (const resp of [2, 3] as const) {
        const w = writer(resp, 16);
        for (const n of nodes) writeNode(w, n);
        const want = nodes.map((n) => expected(n, resp));
        deepStrictEqual(decodeAll(w.bytes()), want, `RESP${resp}`);
        // Byte for byte too: the canonical encoding of the expected values.
        strictEqual(show(w.bytes()), show(concat(want.map(encodeValue))), `RESP${resp} bytes`);
      }
    }),
    { numRuns: 1000 },
  );
});
