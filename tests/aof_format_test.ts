/**
 * AOF format: the multi-part manifest, record encoding, the propagation
 * rewrites of relative expiries, and the incremental reader — checked against
 * what a real redis-server 7.0 writes and what redis-check-aof accepts.
 *
 * @module
 */

import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import fc from "fast-check";
import { Redis } from "ioredis";
import { Buffer } from "node:buffer";
import {
  afterRewrite,
  type AofInfo,
  type AofManifest,
  AofManifestError,
  baseFileName,
  emptyManifest,
  filesToLoad,
  formatManifest,
  formatManifestLine,
  incrFileName,
  legacyMigrationManifest,
  ManifestErrors,
  manifestFileName,
  parseManifest,
  tempIncrFileName,
  tempManifestFileName,
  withLastIncr,
  withNewIncr,
  withoutHistory,
} from "../src/persistence/aof_manifest.ts";
import {
  type AofCommand,
  AofFeed,
  AofFormatError,
  AofReader,
  encodeCommand,
  isRdbPreamble,
  parseAof,
  tailVerdict,
} from "../src/persistence/aof_log.ts";
import { expiredKeyForm, propagatedForm } from "../src/persistence/aof_propagate.ts";
import { bytesOf, latin1 } from "../src/protocol/latin1.ts";
import { hasRedis, type RunningServer, skipBecause, which, withRedis } from "./support/servers.ts";
import { concat } from "./support/resp.ts";

const hasCheckAof = which("redis-check-aof") !== null;

function cmd(...words: string[]): Uint8Array[] {
  return words.map(bytesOf);
}

function words(args: readonly Uint8Array[]): string[] {
  return args.map(latin1);
}

// ---------------------------------------------------------------- manifest

Deno.test("manifest: names and lines as Redis 7.0 writes them", () => {
  strictEqual(manifestFileName("appendonly.aof"), "appendonly.aof.manifest");
  strictEqual(tempManifestFileName("appendonly.aof"), "temp-appendonly.aof.manifest");
  strictEqual(baseFileName("appendonly.aof", 1, true), "appendonly.aof.1.base.rdb");
  strictEqual(baseFileName("appendonly.aof", 3, false), "appendonly.aof.3.base.aof");
  strictEqual(incrFileName("appendonly.aof", 2), "appendonly.aof.2.incr.aof");
  strictEqual(tempIncrFileName("appendonly.aof"), "temp-appendonly.aof.incr");
  strictEqual(
    formatManifestLine({ name: "appendonly.aof.1.base.rdb", seq: 1, type: "b" }),
    "file appendonly.aof.1.base.rdb seq 1 type b\n",
  );
  // Copied from a redis-server 7.0.15 started with --appendfilename 'my "f"ile x.aof'.
  strictEqual(
    formatManifestLine({ name: 'my "f"ile x.aof.1.base.rdb', seq: 1, type: "b" }),
    'file "my \\"f\\"ile x.aof.1.base.rdb" seq 1 type b\n',
  );
  strictEqual(
    formatManifestLine({ name: "a\tb\n\x01\xe9\\", seq: 7, type: "i" }),
    'file "a\\tb\\n\\x01\\xe9\\\\" seq 7 type i\n',
  );
});

Deno.test("manifest: parse, comments, Redis' order and seqs", () => {
  const text = "# written by hand\n" +
    "file appendonly.aof.2.base.rdb seq 2 type b\n" +
    "file appendonly.aof.1.incr.aof seq 1 type h\n" +
    "FILE appendonly.aof.3.incr.aof SEQ 3 TYPE i extra ignored\n" +
    "file appendonly.aof.5.incr.aof seq 5 type i\n";
  const m = parseManifest(bytesOf(text));
  deepStrictEqual(m.base, { name: "appendonly.aof.2.base.rdb", seq: 2, type: "b" });
  deepStrictEqual(m.history, [{ name: "appendonly.aof.1.incr.aof", seq: 1, type: "h" }]);
  deepStrictEqual(m.incr.map((i) => i.seq), [3, 5]);
  strictEqual(m.baseSeq, 2);
  strictEqual(m.incrSeq, 5);
  deepStrictEqual(filesToLoad(m).map((f) => f.name), [
    "appendonly.aof.2.base.rdb",
    "appendonly.aof.3.incr.aof",
    "appendonly.aof.5.incr.aof",
  ]);
});

Deno.test("manifest: errors worded as Redis 7.0", () => {
  const cases: [string, string, number][] = [
    ["", ManifestErrors.empty, 0],
    ["file a seq 1 type b", ManifestErrors.tooLong, 1], // no final newline
    [`file ${"x".repeat(1100)} seq 1 type b\n`, ManifestErrors.tooLong, 1],
    ["# only a comment\n\n", ManifestErrors.invalid, 2],
    ["file a seq 1 type\n", ManifestErrors.invalid, 1],
    ["file a seq 1 type b x\n", ManifestErrors.invalid, 1],
    ['file "a seq 1 type b\n', ManifestErrors.invalid, 1],
    ["file a seq 0 type b\n", ManifestErrors.invalid, 1],
    ["file a seq x type b\n", ManifestErrors.invalid, 1],
    ["name a seq 1 type b\n", ManifestErrors.invalid, 1],
    ["file dir/a seq 1 type b\n", ManifestErrors.path, 1],
    ["file a seq 1 type b\nfile b seq 2 type b\n", ManifestErrors.duplicateBase, 2],
    ["file a seq 2 type i\nfile b seq 2 type i\n", ManifestErrors.nonMonotonic, 2],
    ["file a seq 1 type x\n", ManifestErrors.unknownType, 1],
    ["file a\0 seq 1 type b\n", ManifestErrors.tooLong, 1],
  ];
  for (const [text, reason, line] of cases) {
    throws(() => parseManifest(text), (e: unknown) => {
      ok(e instanceof AofManifestError, `${JSON.stringify(text)}: ${e}`);
      strictEqual(e.reason, reason, JSON.stringify(text));
      strictEqual(e.line, line, JSON.stringify(text));
      return true;
    });
  }
  // Redis' atoll accepts a numeric prefix and negative numbers; history seqs are unchecked.
  strictEqual(parseManifest("file a seq 12abc type b\n").baseSeq, 12);
  strictEqual(parseManifest("file a seq 3 type h\nfile b seq 3 type h\n").history.length, 2);
});

const fileName = fc.string({ minLength: 1, maxLength: 40, unit: "binary" })
  .map((s) => [...s].map((ch) => String.fromCharCode(ch.charCodeAt(0) & 0xff)).join(""))
  .filter((s) => !/[\0/\\]/.test(s) && s.length > 0);
const info = (type: AofInfo["type"]) =>
  fc.record({ name: fileName, seq: fc.integer({ min: 1, max: 2 ** 40 }), type: fc.constant(type) });

Deno.test("manifest: format/parse round trip (fast-check, names with spaces, quotes, newlines)", () => {
  const special = fc.constantFrom(
    "a b",
    'q"uote',
    "s'ingle",
    "new\nline",
    "cr\r",
    "tab\t",
    "\xff\x80",
  );
  const name = fc.oneof(fileName, special);
  fc.assert(fc.property(
    fc.option(
      fc.record({
        name,
        seq: fc.integer({ min: 1, max: 2 ** 40 }),
        type: fc.constant("b" as const),
      }),
    ),
    fc.array(info("h"), { maxLength: 4 }),
    fc.uniqueArray(fc.integer({ min: 1, max: 10000 }), { maxLength: 5 }),
    fc.array(name, { minLength: 5, maxLength: 5 }),
    (base, history, seqs, names) => {
      const incr = [...seqs].sort((a, b) => a - b).map((seq, i) => ({
        name: names[i],
        seq,
        type: "i" as const,
      }));
      const m: AofManifest = {
        base,
        history,
        incr,
        baseSeq: base ? base.seq : 0,
        incrSeq: incr.length ? incr[incr.length - 1].seq : 0,
      };
      const text = formatManifest(m);
      if (text.length === 0) return; // an empty manifest is an error by design
      // Every line stays one line, within Redis' 1024-byte limit for these sizes.
      strictEqual(text.split("\n").length - 1, (base ? 1 : 0) + history.length + incr.length);
      deepStrictEqual(parseManifest(bytesOf(text)), m);
    },
  ));
});

Deno.test("manifest: rewrite bookkeeping matches Redis' history order", () => {
  // Redis 7.0.15 with aof-disable-auto-gc yes: start, then BGREWRITEAOF twice.
  let m = withLastIncr(
    {
      ...emptyManifest(),
      base: { name: "appendonly.aof.1.base.rdb", seq: 1, type: "b" },
      baseSeq: 1,
    },
    "appendonly.aof",
  ).manifest;
  strictEqual(
    formatManifest(m),
    "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
  );
  const expected = [
    "file appendonly.aof.2.base.rdb seq 2 type b\n" +
    "file appendonly.aof.1.incr.aof seq 1 type h\n" +
    "file appendonly.aof.1.base.rdb seq 1 type h\n" +
    "file appendonly.aof.2.incr.aof seq 2 type i\n",
    "file appendonly.aof.3.base.rdb seq 3 type b\n" +
    "file appendonly.aof.2.incr.aof seq 2 type h\n" +
    "file appendonly.aof.2.base.rdb seq 2 type h\n" +
    "file appendonly.aof.1.incr.aof seq 1 type h\n" +
    "file appendonly.aof.1.base.rdb seq 1 type h\n" +
    "file appendonly.aof.3.incr.aof seq 3 type i\n",
  ];
  for (const want of expected) {
    m = withNewIncr(m, "appendonly.aof").manifest; // at rewrite start
    const done = afterRewrite(m, {
      appendfilename: "appendonly.aof",
      rdbPreamble: true,
      keepLastIncr: true,
    });
    m = done.manifest;
    strictEqual(done.baseName, m.base!.name);
    strictEqual(formatManifest(m), want);
    deepStrictEqual(parseManifest(want), m);
  }
  strictEqual(
    formatManifest(withoutHistory(m)),
    "file appendonly.aof.3.base.rdb seq 3 type b\nfile appendonly.aof.3.incr.aof seq 3 type i\n",
  );
  // AOF switched on at run time: every incr file is rewritten, the temp incr gets the next seq.
  const on = afterRewrite(m, {
    appendfilename: "appendonly.aof",
    rdbPreamble: false,
    keepLastIncr: false,
  });
  strictEqual(on.baseName, "appendonly.aof.4.base.aof");
  strictEqual(on.manifest.incr.length, 0);
  strictEqual(withNewIncr(on.manifest, "appendonly.aof").name, "appendonly.aof.4.incr.aof");
  strictEqual(
    formatManifest(legacyMigrationManifest(emptyManifest(), "appendonly.aof")),
    "file appendonly.aof seq 1 type b\n",
  );
});

// ---------------------------------------------------------------- encoding and propagation

Deno.test("encoding: RESP records, SELECT on db change, #TS annotations", () => {
  strictEqual(
    latin1(encodeCommand(cmd("set", "a", ""))),
    "*3\r\n$3\r\nset\r\n$1\r\na\r\n$0\r\n\r\n",
  );
  const feed = new AofFeed({ timestamps: true });
  const t = 1795350160000;
  strictEqual(
    latin1(feed.feed(0, cmd("set", "a", "b"), t)),
    "#TS:1795350160\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\nb\r\n",
  );
  strictEqual(latin1(feed.feed(0, cmd("del", "a"), t + 999)), "*2\r\n$3\r\ndel\r\n$1\r\na\r\n");
  strictEqual(
    latin1(feed.feed(12, cmd("del", "a"), t + 1000)),
    "#TS:1795350161\r\n*2\r\n$6\r\nSELECT\r\n$2\r\n12\r\n*2\r\n$3\r\ndel\r\n$1\r\na\r\n",
  );
  feed.forceSelect();
  ok(latin1(feed.feed(12, cmd("del", "a"), t + 1000)).startsWith("*2\r\n$6\r\nSELECT\r\n$2\r\n12"));
  const big = new Uint8Array(100000).fill(0);
  const rec = encodeCommand([bytesOf("SET"), new Uint8Array([0, 13, 10]), big]);
  const back = parseAof(rec, "x").commands[0].args;
  deepStrictEqual(back[1], new Uint8Array([0, 13, 10]));
  strictEqual(back[2].length, 100000);
});

Deno.test("propagation: relative expiries become absolute, as Redis 7.0 rewrites them", () => {
  const ctx = { nowMs: 1_000_000 };
  const p = (...w: string[]) => {
    const r = propagatedForm(cmd(...w), ctx);
    return r === null ? null : words(r);
  };
  deepStrictEqual(p("set", "k", "v"), ["set", "k", "v"]);
  deepStrictEqual(p("set", "k", "v", "EX", "100"), ["SET", "k", "v", "PXAT", "1100000"]);
  deepStrictEqual(p("set", "k", "v", "px", "5", "nx", "get"), ["SET", "k", "v", "PXAT", "1000005"]);
  deepStrictEqual(p("set", "k", "v", "XX", "GET", "EX", "50"), [
    "SET",
    "k",
    "v",
    "PXAT",
    "1050000",
  ]);
  deepStrictEqual(p("set", "k", "v", "EXAT", "1"), ["SET", "k", "v", "PXAT", "1000"]); // 7.0 keeps it
  deepStrictEqual(p("set", "k", "v", "PXAT", "99999999999999"), [
    "SET",
    "k",
    "v",
    "PXAT",
    "99999999999999",
  ]);
  deepStrictEqual(p("set", "k", "v", "KEEPTTL"), ["set", "k", "v", "KEEPTTL"]);
  deepStrictEqual(p("set", "k", "v", "GET"), ["set", "k", "v"]);
  deepStrictEqual(p("set", "k", "v", "NX"), ["set", "k", "v", "NX"]);
  deepStrictEqual(p("setex", "k", "10", "v"), ["SET", "k", "v", "PXAT", "1010000"]);
  deepStrictEqual(p("PSETEX", "k", "10", "v"), ["SET", "k", "v", "PXAT", "1000010"]);
  deepStrictEqual(p("expire", "k", "100"), ["PEXPIREAT", "k", "1100000"]);
  deepStrictEqual(p("expire", "k", "100", "GT"), ["PEXPIREAT", "k", "1100000", "GT"]);
  deepStrictEqual(p("pexpire", "k", "100", "nx"), ["PEXPIREAT", "k", "1000100", "nx"]);
  deepStrictEqual(p("expireat", "k", "99999999999"), ["PEXPIREAT", "k", "99999999999000"]);
  deepStrictEqual(p("pexpireat", "k", "99999999999999", "XX"), [
    "pexpireat",
    "k",
    "99999999999999",
    "XX",
  ]);
  deepStrictEqual(p("expire", "k", "-1"), ["DEL", "k"]);
  deepStrictEqual(p("pexpireat", "k", "1000000"), ["DEL", "k"]);
  deepStrictEqual(words(propagatedForm(cmd("expire", "k", "0"), { ...ctx, lazyExpire: true })!), [
    "UNLINK",
    "k",
  ]);
  deepStrictEqual(
    words(propagatedForm(cmd("expire", "k", "0"), { ...ctx, neverAlreadyExpired: true })!),
    [
      "PEXPIREAT",
      "k",
      "1000000",
    ],
  );
  deepStrictEqual(p("getex", "k", "EX", "100"), ["PEXPIREAT", "k", "1100000"]);
  deepStrictEqual(p("getex", "k", "PXAT", "1"), ["DEL", "k"]);
  deepStrictEqual(p("getex", "k", "persist"), ["PERSIST", "k"]);
  strictEqual(p("getex", "k"), null);
  deepStrictEqual(p("getset", "k", "v"), ["SET", "k", "v"]);
  deepStrictEqual(p("getdel", "k"), ["DEL", "k"]);
  deepStrictEqual(p("rpush", "l", "a"), ["rpush", "l", "a"]);
  // Beyond 2^53 the arithmetic stays exact.
  deepStrictEqual(p("expireat", "k", "9000000000000000"), [
    "PEXPIREAT",
    "k",
    "9000000000000000000",
  ]);
  deepStrictEqual(words(expiredKeyForm(bytesOf("k"))), ["DEL", "k"]);
});

// ---------------------------------------------------------------- reader

/** A small log: SELECT, annotation, plain commands, a MULTI block, binary data. */
function sampleLog(): {
  bytes: Uint8Array;
  records: { start: number; end: number; kind: string }[];
} {
  const parts: [string, Uint8Array][] = [
    ["cmd", encodeCommand(cmd("SELECT", "0"))],
    ["ann", bytesOf("#TS:1795350160\r\n")],
    ["cmd", encodeCommand(cmd("set", "a", "1"))],
    ["multi", encodeCommand(cmd("MULTI"))],
    ["inmulti", encodeCommand(cmd("incr", "n"))],
    ["exec", encodeCommand(cmd("EXEC"))],
    ["cmd", encodeCommand([bytesOf("set"), bytesOf("bin"), new Uint8Array([0, 13, 10, 255])])],
    ["multi", encodeCommand(cmd("multi"))],
    ["inmulti", encodeCommand(cmd("del", "a"))],
  ];
  const records: { start: number; end: number; kind: string }[] = [];
  let o = 0;
  for (const [kind, b] of parts) {
    records.push({ start: o, end: o + b.length, kind });
    o += b.length;
  }
  return { bytes: concat(parts.map((p) => p[1])), records };
}

Deno.test("reader: whole log, MULTI held back until EXEC, unfinished MULTI reported", () => {
  const { bytes, records } = sampleLog();
  const r = parseAof(bytes, "appendonly.aof.1.incr.aof");
  deepStrictEqual(r.commands.map((c) => latin1(c.args[0])), [
    "SELECT",
    "set",
    "MULTI",
    "incr",
    "EXEC",
    "set",
  ]);
  deepStrictEqual(r.commands[5].args[2], new Uint8Array([0, 13, 10, 255]));
  strictEqual(r.truncated, false);
  strictEqual(r.unfinishedMultiAt, records[7].start);
  strictEqual(r.droppedCommands, 2);
  strictEqual(r.validEnd, records[7].start);
  strictEqual(r.size, bytes.length);
  // Without the open MULTI the file is sound.
  const sound = parseAof(bytes.subarray(0, records[7].start), "f");
  strictEqual(sound.validEnd, records[7].start);
  strictEqual(sound.unfinishedMultiAt, null);
});

Deno.test("reader: truncated at every byte offset reports the last whole command", () => {
  const { bytes, records } = sampleLog();
  for (let cut = 0; cut <= bytes.length; cut++) {
    const r = parseAof(bytes.subarray(0, cut), "f");
    const done = records.filter((x) => x.end <= cut);
    const atBoundary = cut === 0 || records.some((x) => x.end === cut);
    strictEqual(r.truncated, !atBoundary, `cut ${cut}`);
    // Complete commands outside an open MULTI; validEnd is the last one's end.
    let validEnd = 0;
    let open: number | null = null;
    let emitted = 0;
    let pending = 0;
    for (const x of done) {
      if (x.kind === "ann") continue;
      if (x.kind === "multi") {
        open = x.start;
        pending = 1;
      } else if (open !== null) {
        pending++;
        if (x.kind === "exec") {
          emitted += pending;
          open = null;
          validEnd = x.end;
        }
      } else {
        emitted++;
        validEnd = x.end;
      }
    }
    strictEqual(r.commands.length, emitted, `cut ${cut}`);
    strictEqual(r.unfinishedMultiAt, open, `cut ${cut}`);
    const sound = !r.truncated && open === null;
    strictEqual(r.validEnd, sound ? cut : validEnd, `cut ${cut}`);
    ok(r.commands.every((c: AofCommand) => c.end <= r.validEnd), `cut ${cut}`);
  }
});

Deno.test("reader: any chunking gives the same commands (fast-check)", () => {
  const { bytes } = sampleLog();
  const whole = parseAof(bytes, "f");
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: bytes.length }), { maxLength: 12 }), (cuts) => {
      const points = [...new Set([0, ...cuts, bytes.length])].sort((a, b) => a - b);
      const reader = new AofReader("f");
      const got: AofCommand[] = [];
      for (let i = 1; i < points.length; i++) {
        got.push(...reader.push(bytes.subarray(points[i - 1], points[i])));
      }
      const tail = reader.finish();
      deepStrictEqual(
        got.map((c) => [words(c.args), c.offset, c.end]),
        whole.commands.map((c) => [
          words(c.args),
          c.offset,
          c.end,
        ]),
      );
      strictEqual(tail.validEnd, whole.validEnd);
    }),
  );
});

Deno.test("reader: corruption before the end names the file and byte offset", () => {
  const { bytes, records } = sampleLog();
  const at = (mutate: (b: Uint8Array) => void, offset: number) => {
    const b = bytes.slice();
    mutate(b);
    throws(() => parseAof(b, "appendonly.aof.3.incr.aof"), (e: unknown) => {
      ok(e instanceof AofFormatError, String(e));
      strictEqual(e.file, "appendonly.aof.3.incr.aof");
      strictEqual(e.offset, offset, e.message);
      ok(
        e.message.startsWith(
          "Bad file format reading the append only file appendonly.aof.3.incr.aof",
        ),
      );
      ok(e.message.includes(`offset ${offset}`));
      return true;
    });
  };
  const s = records[2].start; // "*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\n1\r\n"
  at((b) => b[s] = 120, s); // not '*' or '#'
  at((b) => b[s + 1] = 120, s + 1); // count not a number
  at((b) => b[s + 2] = 120, s + 2); // no \r after the count
  at((b) => b[s + 4] = 120, s + 4); // '$' expected
  at((b) => b[s + 11] = 120, s + 11); // bulk "set" not followed by \r\n
  at((b) => b[s + 1] = 48, s + 1); // "*0"
  // With a start offset (after an RDB preamble) offsets stay file offsets.
  const pre = concat([bytesOf("REDIS0010....."), bytes]);
  ok(isRdbPreamble(pre));
  const b2 = pre.slice();
  b2[14 + s] = 120;
  throws(
    () => parseAof(b2, "f", 14),
    (e: unknown) => e instanceof AofFormatError && e.offset === 14 + s,
  );
  strictEqual(parseAof(pre, "f", 14).commands.length, 6);
});

// ---------------------------------------------------------------- interop with redis-server 7.0

async function waitRewriteDone(r: Redis): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const info = await r.info("persistence");
    if (info.includes("aof_rewrite_in_progress:0") && info.includes("aof_rewrite_scheduled:0")) {
      return;
    }
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error("rewrite did not finish");
}

function readDir(
  srv: RunningServer,
): { manifest: AofManifest; read: (name: string) => Uint8Array } {
  const dir = `${srv.dir}/appendonlydir`;
  const manifest = parseManifest(Deno.readFileSync(`${dir}/appendonly.aof.manifest`));
  return { manifest, read: (name) => Deno.readFileSync(`${dir}/${name}`) };
}

/** Command sequence sent to Redis, each with whether Redis changes the dataset (so propagates it). */
const INTEROP: { args: string[]; db: number; changes: boolean }[] = [
  { args: ["set", "a", "1"], db: 0, changes: true },
  { args: ["set", "b", "2", "EX", "100"], db: 0, changes: true },
  { args: ["set", "c", "3", "PX", "100000", "NX", "GET"], db: 0, changes: true },
  { args: ["set", "c", "4", "XX", "GET", "EX", "50"], db: 0, changes: true },
  { args: ["set", "d", "5", "KEEPTTL"], db: 0, changes: true },
  { args: ["set", "e", "6", "GET"], db: 0, changes: true },
  { args: ["setex", "f", "10", "v"], db: 0, changes: true },
  { args: ["psetex", "g", "10000", "v"], db: 0, changes: true },
  { args: ["set", "i", "1", "PXAT", "99999999999999"], db: 0, changes: true },
  { args: ["set", "nx", "1", "NX"], db: 0, changes: true },
  { args: ["set", "nx", "2", "NX"], db: 0, changes: false },
  { args: ["expire", "a", "100"], db: 0, changes: true },
  { args: ["pexpire", "a", "100000", "NX"], db: 0, changes: false },
  { args: ["expire", "a", "200", "GT"], db: 0, changes: true },
  { args: ["expireat", "a", "99999999999"], db: 0, changes: true },
  { args: ["pexpireat", "a", "99999999999999", "XX"], db: 0, changes: true },
  { args: ["expire", "b", "-1"], db: 0, changes: true },
  { args: ["getex", "c", "EX", "100"], db: 0, changes: true },
  { args: ["getex", "c", "PERSIST"], db: 0, changes: true },
  { args: ["getex", "c", "PERSIST"], db: 0, changes: false },
  { args: ["getex", "d", "PXAT", "1"], db: 0, changes: true },
  { args: ["getex", "e"], db: 0, changes: false },
  { args: ["set", "x", "y"], db: 3, changes: true },
  { args: ["getset", "x", "zz"], db: 3, changes: true },
  { args: ["getdel", "x"], db: 3, changes: true },
  { args: ["set", "k", "v", "EX", "10", "GET"], db: 0, changes: true },
];

Deno.test("interop: Redis' manifest and incr file parse; our encoding matches its bytes", async () => {
  if (!hasRedis) {
    skipBecause("redis-server is not installed");
    return;
  }
  await withRedis(["--appendonly", "yes"], async (srv) => {
    const r = new Redis({ port: srv.port, lazyConnect: false, maxRetriesPerRequest: 1 });
    try {
      const ours: { db: number; args: readonly Uint8Array[] }[] = [];
      for (const c of INTEROP) {
        await r.select(c.db);
        const nowMs = Date.now();
        await r.call(c.args[0], ...c.args.slice(1));
        if (!c.changes) continue;
        const form = propagatedForm(cmd(...c.args), { nowMs });
        if (form) ours.push({ db: c.db, args: form });
      }
      const { manifest, read } = readDir(srv);
      deepStrictEqual(
        formatManifest(manifest),
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
      );
      ok(isRdbPreamble(read(manifest.base!.name)));
      const incrBytes = read(manifest.incr[0].name);
      const got = parseAof(incrBytes, manifest.incr[0].name);
      strictEqual(got.truncated, false);
      strictEqual(got.validEnd, incrBytes.length);
      const theirs = got.commands.filter((c) => !(latin1(c.args[0]) === "SELECT"));
      strictEqual(
        theirs.length,
        ours.length,
        JSON.stringify(got.commands.map((c) => words(c.args))),
      );
      // Same shape; times may differ by the command's latency: take Redis' value, check the gap.
      const normalised = ours.map((o, i) => {
        const t = theirs[i].args;
        strictEqual(t.length, o.args.length, words(t).join(" "));
        return {
          db: o.db,
          args: o.args.map((a, j) => {
            const x = latin1(a), y = latin1(t[j]);
            if (x === y) return a;
            ok(/^\d{13}$/.test(x) && Math.abs(Number(x) - Number(y)) < 2000, `${x} vs ${y}`);
            return t[j];
          }),
        };
      });
      const feed = new AofFeed();
      const encoded = concat(normalised.map((n) => feed.feed(n.db, n.args)));
      deepStrictEqual(latin1(encoded), latin1(incrBytes));
    } finally {
      await r.quit();
    }
  });
});

Deno.test("interop: manifest after BGREWRITEAOF (with history kept) equals our bookkeeping", async () => {
  if (!hasRedis) {
    skipBecause("redis-server is not installed");
    return;
  }
  await withRedis(["--appendonly", "yes", "--aof-disable-auto-gc", "yes"], async (srv) => {
    const r = new Redis({ port: srv.port, lazyConnect: false, maxRetriesPerRequest: 1 });
    try {
      let ours = readDir(srv).manifest;
      for (let round = 0; round < 2; round++) {
        await r.set(`k${round}`, "v");
        await waitRewriteDone(r);
        await r.bgrewriteaof();
        await waitRewriteDone(r);
        ours = withNewIncr(ours, "appendonly.aof").manifest;
        ours = afterRewrite(ours, {
          appendfilename: "appendonly.aof",
          rdbPreamble: true,
          keepLastIncr: true,
        })
          .manifest;
        const { manifest, read } = readDir(srv);
        deepStrictEqual(manifest, ours);
        strictEqual(
          latin1(Deno.readFileSync(`${srv.dir}/appendonlydir/appendonly.aof.manifest`)),
          formatManifest(ours),
        );
        await r.set("after", String(round));
        const incr = parseAof(read(manifest.incr[0].name), manifest.incr[0].name);
        deepStrictEqual(incr.commands.map((c) => words(c.args)), [["SELECT", "0"], [
          "set",
          "after",
          String(round),
        ]]);
      }
    } finally {
      await r.quit();
    }
  });
});

/** Writes an AOF dir made by our encoder and manifest writer. */
function writeOurAof(dir: string, incr: Uint8Array, name = "appendonly.aof"): void {
  Deno.mkdirSync(`${dir}/appendonlydir`, { recursive: true });
  const m = withNewIncr(emptyManifest(), name);
  Deno.writeFileSync(`${dir}/appendonlydir/${m.name}`, incr);
  Deno.writeFileSync(
    `${dir}/appendonlydir/${manifestFileName(name)}`,
    bytesOf(formatManifest(m.manifest)),
  );
}

function ourLog(nowMs: number): Uint8Array {
  const feed = new AofFeed({ timestamps: true });
  const out: Uint8Array[] = [];
  const add = (db: number, ...w: string[]) => {
    const form = propagatedForm(cmd(...w), { nowMs });
    if (form) out.push(feed.feed(db, form, nowMs));
  };
  add(0, "set", "plain", "1");
  add(0, "set", "ttl", "v", "EX", "1000");
  add(0, "MULTI");
  add(0, "incr", "counter");
  add(0, "EXEC");
  add(5, "rpush", "list", "a", "b");
  add(5, "expire", "list", "500");
  out.push(
    feed.feed(5, [bytesOf("set"), bytesOf("bin\r\n"), new Uint8Array([0, 255, 13, 10])], nowMs),
  );
  return concat(out);
}

async function checkAof(manifestPath: string): Promise<{ code: number; out: string }> {
  const res = await new Deno.Command("redis-check-aof", {
    args: [manifestPath],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const dec = new TextDecoder();
  return { code: res.code, out: dec.decode(res.stdout) + dec.decode(res.stderr) };
}

Deno.test("interop: redis-check-aof accepts our log; agrees on where a truncated one is cut", async () => {
  if (!hasCheckAof) {
    skipBecause("redis-check-aof is not installed");
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "aof-format-test-" });
  try {
    const log = ourLog(Date.now());
    writeOurAof(dir, log);
    const manifestPath = `${dir}/appendonlydir/appendonly.aof.manifest`;
    const good = await checkAof(manifestPath);
    strictEqual(good.code, 0, good.out);
    ok(good.out.includes("All AOF files and manifest are valid"), good.out);
    // Cut inside the last record and inside the MULTI block: same ok_up_to as our validEnd.
    const multiAt = latin1(log).indexOf("*1\r\n$5\r\nMULTI");
    for (const cut of [log.length - 3, multiAt + 20]) {
      writeOurAof(dir, log.subarray(0, cut));
      const res = await checkAof(manifestPath);
      strictEqual(res.code, 1, res.out);
      const m = /ok_up_to=(\d+)/.exec(res.out);
      ok(m, res.out);
      strictEqual(parseAof(log.subarray(0, cut), "f").validEnd, Number(m[1]), res.out);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("interop: redis-server loads an AOF dir we wrote", async () => {
  if (!hasRedis) {
    skipBecause("redis-server is not installed");
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "aof-format-test-" });
  try {
    const nowMs = Date.now();
    writeOurAof(dir, ourLog(nowMs));
    await withRedis(["--appendonly", "yes", "--dir", dir], async (srv) => {
      const r = new Redis({ port: srv.port, lazyConnect: false, maxRetriesPerRequest: 1 });
      try {
        strictEqual(await r.get("plain"), "1");
        strictEqual(await r.get("counter"), "1");
        const ttl = await r.pexpiretime("ttl");
        strictEqual(ttl, nowMs + 1000_000);
        await r.select(5);
        deepStrictEqual(await r.lrange("list", 0, -1), ["a", "b"]);
        strictEqual(await r.pexpiretime("list"), nowMs + 500_000);
        deepStrictEqual(await r.getBuffer("bin\r\n"), Buffer.from([0, 255, 13, 10]));
      } finally {
        await r.quit();
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("reader: tail verdicts follow aof-load-truncated and the last-file rule", () => {
  const { bytes, records } = sampleLog();
  const sound = parseAof(bytes.subarray(0, records[7].start), "f");
  deepStrictEqual(tailVerdict("f", sound, { loadTruncated: false, lastFile: false }), {
    action: "ok",
    validEnd: records[7].start,
    messages: [],
  });
  const cut = parseAof(bytes.subarray(0, bytes.length - 1), "f");
  const v = tailVerdict("f", cut, { loadTruncated: true, lastFile: true });
  strictEqual(v.action, "truncate");
  strictEqual(v.validEnd, records[7].start);
  strictEqual(v.messages[1], `!!! Truncating the AOF f at offset ${records[7].start} !!!`);
  strictEqual(tailVerdict("f", cut, { loadTruncated: true, lastFile: false }).action, "fail");
  strictEqual(tailVerdict("f", cut, { loadTruncated: false, lastFile: true }).action, "fail");
  const multi = parseAof(bytes, "f");
  const mv = tailVerdict("f", multi, { loadTruncated: true, lastFile: true });
  strictEqual(mv.messages[0], "Revert incomplete MULTI/EXEC transaction in AOF file f");
  strictEqual(mv.action, "truncate");
});
