/**
 * Pub/Sub benchmark: this server and a real `redis-server` side by side, in one run.
 *
 * S subscribers over C channels (SUBSCRIBE, or PSUBSCRIBE with `--patterns`), P
 * publishers each keeping K PUBLISH in flight, payload B bytes whose first 8 bytes
 * are the send time (Float64 ms, `performance.timeOrigin + performance.now()`, shared
 * clock: all generator threads live in this process). Reports published/s,
 * delivered/s and p50/p99/p99.9 publish→receive latency, plus the resident memory
 * each server needs per idle subscriber.
 *
 * The load generator (`scripts/pubsub_load.ts`) runs in Web Workers
 * (`scripts/pubsub_worker.ts`) on raw sockets with hand-written RESP framing.
 * Each measurement is repeated `--rounds` times with the servers alternating,
 * and the tables show per-column medians; per-run details (server and
 * generator CPU, fan-out, lost messages, delivery-window pauses) go to stderr.
 *
 * Usage:
 *   deno run -A scripts/pubsub_bench.ts --all            # validation + scenarios 1-3 + memory
 *   deno run -A scripts/pubsub_bench.ts --scenario 2     # one preset (flags override it)
 *   deno run -A scripts/pubsub_bench.ts -S 100 -C 10 -P 2 -K 32 -B 256 --duration 5
 *   deno run -A scripts/pubsub_bench.ts --memory         # only the idle-subscriber RSS test
 *
 * Channels are `ch:<i>:m`; with `--patterns` subscriber j uses `ch:<j % C>:*`.
 * Subscriber j listens to channel j % C; publishes go round-robin over the channels.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { startOurs, startRedis, type Target } from "./bench.ts";
import { ensureFdLimit, rssBytes } from "./proc_stats.ts";
import {
  channelName,
  type LoadResult,
  type LoadSpec,
  openIdleSubscribers,
  runLoad,
  type RunOptions,
  sleep,
  withTimeout,
} from "./pubsub_load.ts";

/** Seconds the idle subscribers stay connected before the second RSS reading. */
const IDLE_SETTLE_S = 5;

/** The three scenarios. */
export const SCENARIOS: Record<string, LoadSpec> = {
  "1": {
    label: "1: 1 pub → 50 subs, 1 channel",
    subscribers: 50,
    channels: 1,
    patterns: false,
    publishers: 1,
    inflight: 64,
    payload: 64,
  },
  "2": {
    label: "2: 4 pubs → 10 psubs, 10 channels",
    subscribers: 10,
    channels: 10,
    patterns: true,
    publishers: 4,
    inflight: 64,
    payload: 64,
  },
  "3": {
    label: "3: 1 → 1, K=1 (latency)",
    subscribers: 1,
    channels: 1,
    patterns: false,
    publishers: 1,
    inflight: 1,
    payload: 64,
  },
};

/** Round trip of one raw command; returns what one read got (small replies only). */
async function rawCommand(port: number, cmd: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(cmd));
    const buf = new Uint8Array(4096);
    const n = await withTimeout(conn.read(buf), 5000, cmd.trim());
    return new TextDecoder().decode(buf.subarray(0, n ?? 0));
  } finally {
    conn.close();
  }
}

/** True when the server answers PUBLISH with an integer. */
async function supportsPublish(port: number): Promise<string | null> {
  const line = (await rawCommand(port, "PUBLISH pubsub-bench-probe x\r\n")).split("\r\n")[0];
  return line.startsWith(":") ? null : line;
}

async function redisBenchmarkPublish(port: number, payload: number): Promise<number> {
  const out = await new Deno.Command("redis-benchmark", {
    args: [
      "-p",
      String(port),
      "-c",
      "50",
      "-n",
      "500000",
      "-P",
      "16",
      "--csv",
      "publish",
      channelName(0),
      "x".repeat(payload),
    ],
    stdout: "piped",
    stderr: "null",
    signal: AbortSignal.timeout(60000),
  }).output();
  const line = new TextDecoder().decode(out.stdout).split("\n")[1] ?? "";
  return Number(line.split(",")[1]?.replace(/"/g, ""));
}

const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
const fmtInt = (x: number) => Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "n/a";
const fmtMs = (x: number) => Number.isFinite(x) ? x.toFixed(3) : "n/a";
const fmtRatio = (a: number, b: number) =>
  Number.isFinite(a) && Number.isFinite(b) && b > 0 ? (a / b).toFixed(2) : "n/a";

/** A server under test plus whether it speaks pub/sub. */
interface Candidate {
  target: Target;
  /** Null when PUBLISH works, else why it does not. */
  unsupported: string | null;
}

/** Servers currently running, stopped by the signal handler when the run is interrupted. */
const live = new Set<Target>();

async function startTracked(start: () => Promise<Target>): Promise<Target> {
  const t = await start();
  const stop = t.stop;
  live.add(t);
  return {
    ...t,
    stop: async () => {
      live.delete(t);
      await stop();
    },
  };
}

/** On SIGINT/SIGTERM: stop the servers (workers die with this process), then exit. */
function installSignalHandlers(): () => void {
  const handler = () => {
    console.error("# interrupted: stopping servers");
    Promise.all([...live].map((t) => t.stop().catch(() => {}))).finally(() => Deno.exit(130));
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const sig of signals) Deno.addSignalListener(sig, handler);
  return () => {
    for (const sig of signals) Deno.removeSignalListener(sig, handler);
  };
}

async function startCandidate(
  name: string,
  start: () => Promise<Target>,
): Promise<Candidate | null> {
  try {
    const target = await startTracked(start);
    let unsupported: string | null;
    try {
      unsupported = await supportsPublish(target.port);
    } catch (e) {
      unsupported = String(e);
    }
    if (unsupported) console.error(`# ${name}: PUBLISH not supported (${unsupported})`);
    return { target, unsupported };
  } catch (e) {
    console.error(`# ${name}: could not start (${e})`);
    return null;
  }
}

/** Column-wise median of several rounds' results (NaN-free columns only). */
function medianResult(rs: LoadResult[]): LoadResult {
  const med = (f: (r: LoadResult) => number) => {
    const xs = rs.map(f).sort((a, b) => a - b);
    return xs[Math.floor((xs.length - 1) / 2)];
  };
  return {
    publishedPerS: med((r) => r.publishedPerS),
    deliveredPerS: med((r) => r.deliveredPerS),
    p50: med((r) => r.p50),
    p99: med((r) => r.p99),
    p999: med((r) => r.p999),
    fanout: med((r) => r.fanout),
    missing: Math.max(...rs.map((r) => r.missing)),
    serverCpu: med((r) => r.serverCpu),
    generatorCpu: med((r) => r.generatorCpu),
    pauses: Math.max(...rs.map((r) => r.pauses)),
    errors: rs.flatMap((r) => r.errors),
  };
}

function describe(r: LoadResult): string {
  return `fanout=${r.fanout.toFixed(2)} missing=${r.missing} cpu server=${pct(r.serverCpu)} ` +
    `generator=${pct(r.generatorCpu)} window-pauses=${r.pauses}` +
    (r.errors.length ? ` errors=${JSON.stringify(r.errors.slice(0, 3))}` : "");
}

/**
 * Runs `measure` for every server, `rounds` times, alternating the servers inside
 * each round so that machine noise hits both alike; returns per-server results.
 */
async function alternate<T>(
  servers: Candidate[],
  rounds: number,
  measure: (s: Candidate) => Promise<T>,
): Promise<Map<string, T[]>> {
  const results = new Map<string, T[]>();
  for (let r = 0; r < rounds; r++) {
    for (const s of servers) {
      if (s.unsupported) continue;
      try {
        const x = await measure(s);
        if (!results.has(s.target.name)) results.set(s.target.name, []);
        results.get(s.target.name)!.push(x);
      } catch (e) {
        // A failing server is reported as n/a from here on; the other keeps running.
        console.error(`# ${s.target.name} failed: ${e instanceof Error ? e.message : e}`);
        s.unsupported = `failed: ${e}`;
        results.delete(s.target.name);
      }
    }
  }
  return results;
}

async function runScenarios(
  specs: LoadSpec[],
  servers: Candidate[],
  opt: RunOptions,
): Promise<string[]> {
  const rows = [
    "| scenario | server | published/s | delivered/s | p50 (ms) | p99 (ms) | p99.9 (ms) " +
    "| server CPU | generator CPU |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const spec of specs) {
    const runs = await alternate(servers, opt.rounds, async (s) => {
      const r = await runLoad(s.target, spec, opt);
      console.error(
        `# ${spec.label} ${s.target.name}: ${fmtInt(r.publishedPerS)} published/s, ` +
          `${fmtInt(r.deliveredPerS)} delivered/s, ` +
          `p99 ${fmtMs(r.p99)} ms, ${describe(r)}`,
      );
      return r;
    });
    const byServer = new Map<string, LoadResult>();
    for (const s of servers) {
      const name = s.target.name;
      const rs = runs.get(name);
      if (!rs) {
        rows.push(`| ${spec.label} | ${name} | n/a | n/a | n/a | n/a | n/a | | |`);
        continue;
      }
      const r = medianResult(rs);
      byServer.set(name, r);
      const row = `| ${spec.label} | ${name} | ${fmtInt(r.publishedPerS)} | ${
        fmtInt(r.deliveredPerS)
      } | ${fmtMs(r.p50)} | ${fmtMs(r.p99)} | ${fmtMs(r.p999)} | ${pct(r.serverCpu)} | ${
        pct(r.generatorCpu)
      } |`;
      rows.push(row);
      console.error(`${row}  median: ${describe(r)}`);
    }
    const ours = byServer.get("ours"), redis = byServer.get("redis");
    if (ours && redis) {
      rows.push(
        `| ${spec.label} | ours/redis | ${fmtRatio(ours.publishedPerS, redis.publishedPerS)} | ${
          fmtRatio(ours.deliveredPerS, redis.deliveredPerS)
        } | ${fmtRatio(ours.p50, redis.p50)} | ${fmtRatio(ours.p99, redis.p99)} | ${
          fmtRatio(ours.p999, redis.p999)
        } | | |`,
      );
    }
  }
  return rows;
}

/** Generator validation: redis-benchmark's PUBLISH rate vs ours, zero subscribers. */
async function validateGenerator(
  servers: Candidate[],
  opt: RunOptions,
  payload: number,
): Promise<string[]> {
  const rows = [
    "| server | redis-benchmark -c 50 -P 16 publish (req/s) | generator P=50 K=16 (published/s) " +
    "| generator/redis-benchmark | server CPU | generator CPU |",
    "|---|---|---|---|---|---|",
  ];
  const spec: LoadSpec = {
    label: "validation",
    subscribers: 0,
    channels: 1,
    patterns: false,
    publishers: 50,
    inflight: 16,
    payload,
  };
  const runs = await alternate(servers, opt.rounds, async (s) => {
    const rb = await redisBenchmarkPublish(s.target.port, payload);
    const gen = await runLoad(s.target, spec, opt);
    console.error(
      `# validation ${s.target.name}: redis-benchmark ${fmtInt(rb)}/s, generator ` +
        `${fmtInt(gen.publishedPerS)}/s, cpu server=${pct(gen.serverCpu)} ` +
        `generator=${pct(gen.generatorCpu)}` +
        (gen.errors.length ? ` errors=${JSON.stringify(gen.errors.slice(0, 3))}` : ""),
    );
    return [rb, gen.publishedPerS, gen.serverCpu, gen.generatorCpu];
  });
  for (const [name, rs] of runs) {
    const med = (i: number) => rs.map((r) => r[i]).sort((a, b) => a - b)[(rs.length - 1) >> 1];
    rows.push(
      `| ${name} | ${fmtInt(med(0))} | ${fmtInt(med(1))} | ${fmtRatio(med(1), med(0))} | ${
        pct(med(2))
      } | ${pct(med(3))} |`,
    );
  }
  return rows;
}

/** RSS per idle subscriber, each server freshly started. */
async function measureMemory(
  starters: [string, () => Promise<Target>][],
  count: number,
): Promise<string[]> {
  const rows = [
    `| server | RSS before (MiB) | RSS 1 s after subscribing (MiB) | per subscriber (KiB) | ` +
    `RSS after ${IDLE_SETTLE_S} s idle (MiB) | per subscriber (KiB) |`,
    "|---|---|---|---|---|---|",
  ];
  const mib = (b: number) => (b / 1048576).toFixed(1);
  const per = (b: number) => (b / count / 1024).toFixed(2);
  for (const [name, start] of starters) {
    const cand = await startCandidate(name, start);
    if (!cand) continue;
    try {
      if (cand.unsupported) {
        rows.push(`| ${name} | n/a | n/a | n/a | n/a | n/a (no pub/sub) |`);
        continue;
      }
      await rawCommand(cand.target.port, "PING\r\n");
      await sleep(500);
      const before = rssBytes(cand.target.pid);
      const close = await openIdleSubscribers(cand.target.port, count, 3);
      try {
        await sleep(1000);
        const early = rssBytes(cand.target.pid);
        // Redis shrinks idle clients' query buffers after 2 s (clientsCron): measure again later.
        await sleep((IDLE_SETTLE_S - 1) * 1000);
        const settled = rssBytes(cand.target.pid);
        const info = await rawCommand(cand.target.port, "INFO clients\r\n").catch(() => "");
        const connected = /connected_clients:(\d+)/.exec(info)?.[1] ?? "?";
        const row = `| ${name} | ${mib(before)} | ${mib(early)} | ${per(early - before)} | ${
          mib(settled)
        } | ${per(settled - before)} |`;
        rows.push(row);
        console.error(`${row}  (server reports connected_clients=${connected})`);
      } finally {
        await close();
      }
    } finally {
      await cand.target.stop();
    }
  }
  return rows;
}

const HELP = `Usage: deno run -A scripts/pubsub_bench.ts [options]
  --all                 generator validation, scenarios 1-3 and the idle-subscriber memory test
  --scenario N          preset 1, 2 or 3 (repeatable; other flags override the preset)
  --memory              only the idle-subscriber memory test
  -S, --subscribers N   subscribers (default 50)
  -C, --channels N      channels (default 1)
  --patterns            PSUBSCRIBE ch:<i>:* instead of SUBSCRIBE ch:<i>:m
  -P, --publishers N    publisher connections (default 1)
  -K, --inflight N      PUBLISH in flight per publisher (default 64)
  -B, --payload N       payload bytes, >= 8 (default 64)
  --duration S          measured seconds per run (default 3)
  --rounds R            runs per measurement, servers alternating; tables show medians (default 3)
  --warmup S            unmeasured seconds before each run (default 1)
  --window N            max messages queued in the server before publishers pause (default 20000)
  --workers N           generator threads for subscribers (default 2)
  --layout L            auto | mixed (publishers share the subscribers' threads) | split
                        (publishers get one thread of their own); auto splits when the
                        average channel has more than 4 subscribers
  --idle-subs N         idle subscribers for the memory test (default 9000)
  --servers LIST        ours,redis (default both)`;

/** Entry point: parses `args`, runs, prints markdown tables on stdout. */
export async function main(args: string[] = Deno.args): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      all: { type: "boolean" },
      scenario: { type: "string", multiple: true },
      memory: { type: "boolean" },
      subscribers: { type: "string", short: "S" },
      channels: { type: "string", short: "C" },
      patterns: { type: "boolean" },
      publishers: { type: "string", short: "P" },
      inflight: { type: "string", short: "K" },
      payload: { type: "string", short: "B" },
      duration: { type: "string" },
      warmup: { type: "string" },
      window: { type: "string" },
      workers: { type: "string" },
      layout: { type: "string" },
      rounds: { type: "string" },
      "idle-subs": { type: "string" },
      servers: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const num = (v: string | undefined, d: number) => v === undefined ? d : Number(v);
  const opt: RunOptions = {
    warmupS: num(values.warmup, 1),
    durationS: num(values.duration, 3),
    workers: num(values.workers, 2),
    rounds: num(values.rounds, 3),
    layout: (values.layout ?? "auto") as RunOptions["layout"],
    window: num(values.window, 20000),
  };
  const override = (base: LoadSpec): LoadSpec => ({
    label: base.label,
    subscribers: num(values.subscribers, base.subscribers),
    channels: num(values.channels, base.channels),
    patterns: values.patterns ?? base.patterns,
    publishers: num(values.publishers, base.publishers),
    inflight: num(values.inflight, base.inflight),
    payload: num(values.payload, base.payload),
  });
  const presets = values.all ? ["1", "2", "3"] : values.scenario ?? [];
  for (const p of presets) if (!SCENARIOS[p]) throw new Error(`unknown scenario ${p} (1, 2, 3)`);
  let specs = presets.map((p) => override(SCENARIOS[p]));
  // No preset: a custom run from the flags, unless only the memory test was asked for.
  if (!values.memory && specs.length === 0) {
    const s = override({ ...SCENARIOS["1"], label: "" });
    s.label = `S=${s.subscribers} C=${s.channels}${
      s.patterns ? " (patterns)" : ""
    } P=${s.publishers} K=${s.inflight} B=${s.payload}`;
    specs = [s];
  }
  const idleSubs = num(values["idle-subs"], 9000);
  let doMemory = (values.all || values.memory) && idleSubs > 0;
  // Connections on both ends live in this process and the server: 2 fds each, plus slack.
  const fdProblem = doMemory ? await ensureFdLimit(idleSubs + 1000) : null;
  if (fdProblem) {
    console.error(`# memory test skipped: ${fdProblem}`);
    doMemory = false;
  }

  const wanted = (values.servers ?? "ours,redis").split(",");
  const starters: [string, () => Promise<Target>][] = [];
  if (wanted.includes("ours")) starters.push(["ours", () => startOurs()]);
  if (wanted.includes("redis")) starters.push(["redis", () => startRedis()]);

  const out: string[] = [];
  const removeSignalHandlers = installSignalHandlers();
  try {
    out.push(...await runLoads(starters, specs, opt, values.all ? num(values.payload, 64) : 0));
    if (fdProblem) out.push("", `Memory test skipped: ${fdProblem}.`);
    if (doMemory) {
      out.push(
        "",
        `Resident memory (VmRSS) per idle subscriber, fresh servers, ${idleSubs} connections ` +
          `each SUBSCRIBEd to its own channel:`,
        "",
        ...await measureMemory(starters, idleSubs),
      );
    }
  } finally {
    for (const t of [...live]) await t.stop().catch(() => {});
    removeSignalHandlers();
  }
  console.log(out.join("\n"));
}

/** Generator validation (when `validationPayload` > 0) and the load runs, on shared servers. */
async function runLoads(
  starters: [string, () => Promise<Target>][],
  specs: LoadSpec[],
  opt: RunOptions,
  validationPayload: number,
): Promise<string[]> {
  const out: string[] = [];
  if (!specs.length && !validationPayload) return out;
  const servers: Candidate[] = [];
  try {
    for (const [name, start] of starters) {
      const c = await startCandidate(name, start);
      if (c) servers.push(c);
    }
    if (validationPayload && servers.length) {
      out.push(
        "",
        `Generator validation (no subscribers, ${validationPayload}-byte payload, ` +
          `${opt.durationS} s, median of ${opt.rounds} round(s)):`,
        "",
        ...await validateGenerator(servers, opt, validationPayload),
      );
    }
    if (specs.length && servers.length) {
      out.push(
        "",
        `Load: warm-up ${opt.warmupS} s, measured ${opt.durationS} s, median of ${opt.rounds} ` +
          `round(s), delivery window ${opt.window}, ${opt.workers} generator threads, ` +
          `layout ${opt.layout}:`,
        "",
        ...await runScenarios(specs, servers, opt),
      );
    }
  } finally {
    for (const s of servers) await s.target.stop();
  }
  return out;
}

if (import.meta.main) await main();
