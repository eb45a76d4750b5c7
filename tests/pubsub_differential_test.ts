/**
 * Differential pub/sub tests: the same scripted sessions (several raw
 * clients, RESP2 and RESP3) run on this server and on a real redis-server,
 * and every client must receive the same frames in the same order.
 *
 * After each step a `PING barrier-…` is sent to every client and its replies
 * are read up to the barrier's answer, so each step's frames are collected
 * deterministically, without timing guesses. Where Redis' own order depends
 * on its hash seed (the patterns matching one PUBLISH, a bare UNSUBSCRIBE
 * or SUNSUBSCRIBE walking a dict, PUBSUB CHANNELS) the frames are compared
 * as sets; everything else byte for byte.
 *
 * @module
 */

import { deepStrictEqual } from "node:assert/strict";
import fc from "fast-check";
import {
  hasRedis,
  type RunningServer,
  skipBecause,
  withRedis,
  withServer,
} from "./support/servers.ts";
import { RespConnection } from "./support/resp_connection.ts";
import { RawClient } from "./support/raw_client.ts";
import {
  bytes,
  concat,
  decodeOne,
  encodeCommand,
  type RespValue,
  show,
  text,
} from "./support/resp.ts";

/** One step: client `client` sends `args`. */
interface Step {
  client: number;
  args: string[];
}

/** A session: the protocol of each client, then the steps. */
interface Session {
  resp: (2 | 3)[];
  steps: Step[];
}

/** Frames each client received during each step, normalized: [step][client]. */
type Transcript = string[][][];

function isBarrier(raw: Uint8Array, tag: string): boolean {
  const tail = `$${tag.length}\r\n${tag}\r\n`;
  return raw.length >= tail.length && text(raw.subarray(raw.length - tail.length)) === tail;
}

/** Reads replies until the answer to the barrier PING tagged `tag`. */
async function untilBarrier(c: RespConnection, tag: string): Promise<Uint8Array[]> {
  const got: Uint8Array[] = [];
  while (true) {
    const r = await c.reply();
    if (isBarrier(r.raw, tag)) return got;
    got.push(r.raw);
  }
}

function items(v: RespValue): RespValue[] | null {
  return v.type === "array" || v.type === "push" ? v.value : null;
}

function bulkText(v: RespValue | undefined): string | null {
  return v?.type === "bulk" && v.value !== null ? text(v.value) : null;
}

/** The first element of a frame (`message`, `subscribe`...), or null. */
function kindOf(raw: Uint8Array): string | null {
  const list = items(decodeOne(raw));
  return list && list.length > 0 ? bulkText(list[0]) : null;
}

/** Sorts each run of consecutive pmessage frames (their order is Redis' hash order). */
function sortPatternRuns(frames: string[], raws: Uint8Array[]): string[] {
  const out: string[] = [];
  let run: string[] = [];
  frames.forEach((f, i) => {
    if (kindOf(raws[i]) === "pmessage") {
      run.push(f);
      return;
    }
    out.push(...run.sort(), f);
    run = [];
  });
  return [...out, ...run.sort()];
}

/** Normalizes the frames of one client in one step (see the module doc). */
function normalize(step: Step, acting: boolean, raws: Uint8Array[]): string[] {
  const frames = raws.map(text);
  const name = step.args[0].toLowerCase();
  const bare = step.args.length === 1;
  if (acting && bare && (name === "unsubscribe" || name === "sunsubscribe")) {
    // A dict walk: the names as a set, the running counts in order.
    const parsed = raws.map((r) => items(decodeOne(r)));
    if (parsed.every((p) => p !== null && p.length === 3)) {
      const names = parsed.map((p) => show(bulkText(p![1]) ?? "<null>")).sort();
      const counts = parsed.map((p) => p![2].type === "integer" ? String(p![2].value) : "?");
      return [`${name} names=${names.join(",")} counts=${counts.join(",")}`];
    }
  }
  if (acting && name === "pubsub" && /^(shard)?channels$/i.test(step.args[1] ?? "")) {
    return frames.map((f, i) => {
      const list = items(decodeOne(raws[i]));
      return list === null ? f : `[${list.map((v) => show(bulkText(v) ?? "?")).sort().join(",")}]`;
    });
  }
  return sortPatternRuns(frames, raws);
}

/** Runs a session against `port`; returns what every client received at every step. */
async function runSession(port: number, session: Session): Promise<Transcript> {
  const clients = await Promise.all(session.resp.map(() => RespConnection.connect(port)));
  try {
    for (let i = 0; i < clients.length; i++) {
      if (session.resp[i] === 3) await clients[i].call(["HELLO", "3"]);
    }
    const transcript: Transcript = [];
    for (let s = 0; s < session.steps.length; s++) {
      const step = session.steps[s];
      const perClient: string[][] = [];
      // The acting client first: its command and its barrier in one write.
      const actingTag = `barrier-${s}-${step.client}`;
      await clients[step.client].send(
        concat([encodeCommand(step.args), encodeCommand(["PING", actingTag])]),
      );
      const acting = await untilBarrier(clients[step.client], actingTag);
      for (let c = 0; c < clients.length; c++) {
        if (c === step.client) {
          perClient.push(normalize(step, true, acting));
          continue;
        }
        const tag = `barrier-${s}-${c}`;
        await clients[c].send(encodeCommand(["PING", tag]));
        perClient.push(normalize(step, false, await untilBarrier(clients[c], tag)));
      }
      transcript.push(perClient);
    }
    return transcript;
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

/** Runs `session` on both servers and compares, step by step. */
function compare(ours: Transcript, real: Transcript, session: Session): void {
  for (let s = 0; s < real.length; s++) {
    deepStrictEqual(
      ours[s],
      real[s],
      `step ${s}: client ${session.steps[s].client} ${
        session.steps[s].args.map((a) => show(a)).join(" ")
      }`,
    );
  }
}

/** Runs `fn` with both servers up (or skips when redis-server is absent). */
async function withBoth(
  fn: (ours: RunningServer, real: RunningServer) => Promise<void>,
): Promise<void> {
  if (!hasRedis) {
    skipBecause("redis-server is not installed");
    return;
  }
  await withServer([], (ours) => withRedis([], (real) => fn(ours, real)));
}

const s = (client: number, ...args: string[]): Step => ({ client, args });

const SCRIPTED: Session[] = [
  {
    resp: [2, 2, 2],
    steps: [
      s(0, "SUBSCRIBE", "news", "alerts"),
      s(1, "SUBSCRIBE", "news"),
      s(2, "PUBLISH", "news", "hello"),
      s(2, "PUBLISH", "alerts", "fire"),
      s(2, "PUBSUB", "NUMSUB", "news", "alerts", "none"),
      s(2, "PUBSUB", "CHANNELS"),
      s(0, "GET", "k"),
      s(0, "PING"),
      s(0, "PING", "x"),
      s(1, "PSUBSCRIBE", "n*", "*s"),
      s(2, "PUBLISH", "news", "twice"),
      s(2, "PUBSUB", "NUMPAT"),
      s(1, "PUNSUBSCRIBE"),
      s(1, "PUNSUBSCRIBE"),
      s(0, "UNSUBSCRIBE"),
      s(0, "UNSUBSCRIBE"),
      s(0, "GET", "k"),
      s(1, "UNSUBSCRIBE", "news", "other"),
      s(2, "PUBLISH", "news", "nobody"),
    ],
  },
  {
    resp: [3, 2, 3],
    steps: [
      s(0, "UNSUBSCRIBE"),
      s(0, "SUBSCRIBE", "a", "b"),
      s(0, "GET", "k"),
      s(0, "PING"),
      s(1, "PSUBSCRIBE", "a*"),
      s(2, "PSUBSCRIBE", "?"),
      s(0, "PUBLISH", "a", "self"),
      s(1, "SSUBSCRIBE", "a", "s2"),
      s(2, "SPUBLISH", "a", "shard"),
      s(2, "PUBSUB", "SHARDNUMSUB", "a", "s2", "s3"),
      s(2, "PUBSUB", "SHARDCHANNELS"),
      s(1, "PUNSUBSCRIBE", "a*"),
      s(1, "GET", "k"),
      s(1, "SUNSUBSCRIBE"),
      s(1, "GET", "k"),
      s(0, "RESET"),
      s(0, "PUBLISH", "a", "after-reset"),
      s(2, "PUNSUBSCRIBE", "?", "nope"),
      s(2, "SUNSUBSCRIBE"),
    ],
  },
  {
    resp: [2, 3],
    steps: [
      s(0, "SUBSCRIBE", "x\x00\xff\r\n"),
      s(1, "PSUBSCRIBE", "x\x00*", "[w-y]*"),
      s(1, "PUBLISH", "x\x00\xff\r\n", "\x00\x01\x02\xfe\xff"),
      s(0, "SSUBSCRIBE", "x\x00\xff\r\n"),
      s(1, "SPUBLISH", "x\x00\xff\r\n", "bin"),
      s(1, "PUBSUB", "CHANNELS", "x*"),
      s(1, "PUBSUB", "NUMSUB", "x\x00\xff\r\n"),
      s(0, "RESET"),
      s(1, "PUBLISH", "x\x00\xff\r\n", "gone"),
    ],
  },
];

Deno.test("differential: scripted pub/sub sessions, RESP2 and RESP3", async () => {
  await withBoth(async (ours, real) => {
    for (const session of SCRIPTED) {
      compare(await runSession(ours.port, session), await runSession(real.port, session), session);
    }
  });
});

const CHANNELS = ["a", "b", "ab", "a.b", "x"];
const PATTERNS = ["a*", "*b", "?", "a?b", "[ab]*", "*", "[^a]*"];

/** Generated steps over a small vocabulary, so that names collide often. */
function stepArb(clients: number): fc.Arbitrary<Step> {
  const client = fc.integer({ min: 0, max: clients - 1 });
  const ch = fc.constantFrom(...CHANNELS);
  const chs = fc.array(ch, { minLength: 0, maxLength: 3 });
  const pat = fc.constantFrom(...PATTERNS);
  const pats = fc.array(pat, { minLength: 0, maxLength: 2 });
  const cmd: fc.Arbitrary<string[]> = fc.oneof(
    fc.array(ch, { minLength: 1, maxLength: 3 }).map((c) => ["SUBSCRIBE", ...c]),
    chs.map((c) => ["UNSUBSCRIBE", ...c]),
    fc.array(pat, { minLength: 1, maxLength: 2 }).map((p) => ["PSUBSCRIBE", ...p]),
    pats.map((p) => ["PUNSUBSCRIBE", ...p]),
    fc.array(ch, { minLength: 1, maxLength: 2 }).map((c) => ["SSUBSCRIBE", ...c]),
    chs.map((c) => ["SUNSUBSCRIBE", ...c]),
    fc.tuple(ch, fc.string({ maxLength: 4 })).map(([c, m]) => ["PUBLISH", c, m]),
    fc.tuple(ch, fc.string({ maxLength: 4 })).map(([c, m]) => ["SPUBLISH", c, m]),
    chs.map((c) => ["PUBSUB", "NUMSUB", ...c]),
    fc.constant(["PUBSUB", "NUMPAT"]),
    fc.option(pat).map((p) => p === null ? ["PUBSUB", "CHANNELS"] : ["PUBSUB", "CHANNELS", p]),
    fc.constant(["PING"]),
    fc.constant(["GET", "k"]),
    fc.constant(["RESET"]),
  );
  return fc.tuple(client, cmd).map(([c, args]) => ({ client: c, args }));
}

const sessionArb: fc.Arbitrary<Session> = fc
  .array(fc.constantFrom<2 | 3>(2, 3), { minLength: 2, maxLength: 4 })
  .chain((resp) =>
    fc.array(stepArb(resp.length), { minLength: 1, maxLength: 30 }).map((steps) => ({
      resp,
      steps,
    }))
  );

Deno.test("differential: generated pub/sub sessions give the same frames", async () => {
  await withBoth(async (ours, real) => {
    await fc.assert(
      fc.asyncProperty(sessionArb, async (session) => {
        const a = await runSession(ours.port, session);
        const b = await runSession(real.port, session);
        compare(a, b, session);
      }),
      { numRuns: 40 },
    );
  });
});

/** Bytes that exercise the glob matcher, binary ones included. */
const GLOB_ALPHABET = [..."ab-[]^\\*?", "\x00", "\x80", "\xff"];
const globChar = fc.constantFrom(...GLOB_ALPHABET);
/** A pattern piece: a byte, or a well-formed range class (often with high bytes). */
const globPiece = fc.oneof(
  { weight: 4, arbitrary: globChar },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.boolean(), globChar, globChar).map(([neg, x, y]) =>
      `[${neg ? "^" : ""}${x}-${y}]`
    ),
  },
);
const globPattern = fc.array(globPiece, { maxLength: 4 }).map((a) => a.join(""));
const globName = fc.array(globChar, { maxLength: 5 }).map((a) => a.join(""));

/** PSUBSCRIBEs `patterns` on one connection, PUBLISHes each name; returns receivers and frames. */
async function globRun(port: number, patterns: string[], names: string[]): Promise<string[]> {
  const sub = await RespConnection.connect(port);
  const pub = await RespConnection.connect(port);
  try {
    const result: string[] = [];
    await sub.send(encodeCommand(["PSUBSCRIBE", ...patterns.map(bytes)]));
    for (let i = 0; i < patterns.length; i++) await sub.reply();
    for (let i = 0; i < names.length; i++) {
      const n = (await pub.call(["PUBLISH", bytes(names[i]), "m"])).value;
      const tag = `barrier-${i}`;
      await sub.send(encodeCommand(["PING", tag]));
      const frames = (await untilBarrier(sub, tag)).map(text).sort();
      result.push(
        `${show(names[i])} -> ${n.type === "integer" ? n.value : "?"} ${frames.map(show)}`,
      );
    }
    return result;
  } finally {
    await sub.close();
    await pub.close();
  }
}

Deno.test("differential: PSUBSCRIBE glob matching agrees on generated patterns and names", async () => {
  await withBoth(async (ours, real) => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(globPattern, { minLength: 1, maxLength: 8 }),
        fc.array(globName, { minLength: 1, maxLength: 12 }),
        async (patterns, names) => {
          deepStrictEqual(
            await globRun(ours.port, patterns, names),
            await globRun(real.port, patterns, names),
          );
        },
      ),
      { numRuns: 60 },
    );
  });
});

/** Sends each client's lines in turn; returns what each received (read until idle). */
async function rawRun(port: number, turns: [number, string][], clients: number): Promise<string[]> {
  const conns = await Promise.all(
    Array.from({ length: clients }, () => RawClient.connect(port)),
  );
  try {
    const out: string[] = [];
    for (const [c, data] of turns) {
      await conns[c].send(data);
      for (let i = 0; i < clients; i++) {
        out.push(`${c}>${i}: ${show(await conns[i].read(Infinity, 150))}`);
      }
    }
    return out;
  } finally {
    await Promise.all(conns.map((c) => c.close()));
  }
}

Deno.test("differential: CLIENT REPLY OFF/SKIP still sends pub/sub frames", async () => {
  await withBoth(async (ours, real) => {
    const turns: [number, string][] = [
      [0, "CLIENT REPLY OFF\r\nSUBSCRIBE x\r\n"],
      [2, "PUBLISH x m\r\n"],
      [0, "PING\r\nUNSUBSCRIBE x\r\nPING\r\n"],
      [1, "HELLO 3\r\n"],
      [1, "CLIENT REPLY SKIP\r\nSUBSCRIBE y\r\nPING\r\n"],
      [1, "CLIENT REPLY OFF\r\nPUBLISH y self\r\nPSUBSCRIBE y*\r\nCLIENT REPLY ON\r\n"],
      [2, "PUBLISH y z\r\n"],
    ];
    deepStrictEqual(
      (await rawRun(ours.port, turns, 3)).filter((l) => !l.startsWith('1>1: "%7')),
      (await rawRun(real.port, turns, 3)).filter((l) => !l.startsWith('1>1: "%7')),
    );
  });
});
