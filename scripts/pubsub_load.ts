/**
 * Pub/Sub load runner for `scripts/pubsub_bench.ts`: starts the generator
 * threads (`scripts/pubsub_worker.ts`), drives one warm-up + measured run
 * against one server, and merges the workers' counts and latency histograms.
 *
 * Subscriber j listens to channel `ch:<j % C>:m` (or pattern `ch:<j % C>:*`);
 * publishers go round-robin over the channels, each keeping K PUBLISH in flight.
 * Publishers pause while more than `window` messages are queued in the server
 * but not yet received, so a subscriber side slower than the server measures
 * the closed-loop rate instead of filling output buffers until the server
 * disconnects the subscribers.
 *
 * @module
 */

import { cpuSeconds } from "./proc_stats.ts";
import {
  bucketValue,
  HISTOGRAM_BUCKETS,
  Phase,
  type PubResult,
  Shared,
  type SubResult,
  type Subscription,
  type WorkerInit,
} from "./pubsub_worker.ts";

const WORKER_URL = new URL("./pubsub_worker.ts", import.meta.url).href;

/** One load configuration. */
export interface LoadSpec {
  label: string;
  /** S: subscriber connections, one subscription each. */
  subscribers: number;
  /** C: channels (or patterns) the subscribers are spread over. */
  channels: number;
  /** PSUBSCRIBE `ch:<i>:*` instead of SUBSCRIBE `ch:<i>:m`. */
  patterns: boolean;
  /** P: publisher connections. */
  publishers: number;
  /** K: PUBLISH in flight per publisher. */
  inflight: number;
  /** B: payload bytes (>= 8: the send timestamp). */
  payload: number;
}

/** Generator settings shared by all runs. */
export interface RunOptions {
  warmupS: number;
  durationS: number;
  /** Generator threads for the subscribers (publishers join them or get one more, see layout). */
  workers: number;
  /** Repetitions per measurement (alternating servers); tables show the median. */
  rounds: number;
  /** Thread layout, see {@link layout}. */
  layout: "auto" | "mixed" | "split";
  /** Max messages queued in the server but not yet received before publishers pause. */
  window: number;
}

/** Measured outcome of one load run against one server. */
export interface LoadResult {
  publishedPerS: number;
  deliveredPerS: number;
  p50: number;
  p99: number;
  p999: number;
  /** Mean receivers per PUBLISH as reported by the server. */
  fanout: number;
  /** Messages the server reported as delivered that never arrived. */
  missing: number;
  /** Server CPU use during the measured seconds (1.0 = one core busy). */
  serverCpu: number;
  /** The generator's (this process's) CPU use during the measured seconds. */
  generatorCpu: number;
  /** Publisher pauses on the delivery window during the measured seconds. */
  pauses: number;
  errors: string[];
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `p`, or a rejection naming `what` after `ms` milliseconds. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A generator worker with a queue of the messages it posted. */
class GenWorker {
  readonly worker = new Worker(WORKER_URL, { type: "module" });
  private queue: unknown[] = [];
  private wake: (() => void) | null = null;
  private failure: Error | null = null;
  constructor() {
    this.worker.onmessage = (e) => {
      if (e.data?.type === "error") this.failure = new Error(`worker: ${e.data.message}`);
      else this.queue.push(e.data);
      this.wake?.();
    };
    this.worker.onerror = (e) => {
      e.preventDefault();
      this.failure = new Error(`worker: ${e.message}`);
      this.wake?.();
    };
  }
  send(msg: unknown): void {
    this.worker.postMessage(msg);
  }
  /** Next message posted by the worker. */
  async receive<T>(): Promise<T> {
    while (true) {
      if (this.failure) throw this.failure;
      if (this.queue.length) return this.queue.shift() as T;
      await new Promise<void>((r) => this.wake = r);
      this.wake = null;
    }
  }
  terminate(): void {
    this.worker.terminate();
  }
}

/** Deals `items` round-robin into `n` groups (some possibly empty). */
function deal<T>(items: T[], n: number): T[][] {
  const groups: T[][] = Array.from({ length: n }, () => []);
  items.forEach((it, i) => groups[i % n].push(it));
  return groups;
}

/**
 * Assigns subscribers and publishers (by index) to generator threads. "mixed" deals
 * both round-robin over `workers` threads: a message then often stays on one thread,
 * which keeps wake-ups out of the latency. "split" gives the publishers a thread of
 * their own: with a heavy fan-out, replies to PUBLISH would otherwise wait behind
 * the subscribers' reads on a shared thread. "auto" splits when the average channel
 * has more than 4 subscribers.
 */
function layout(
  subs: Subscription[],
  spec: LoadSpec,
  opt: RunOptions,
): { subGroups: Subscription[][]; pubGroups: number[][] } {
  const pubs = Array.from({ length: spec.publishers }, (_, i) => i);
  const split = opt.layout === "split" ||
    (opt.layout === "auto" && spec.subscribers > 4 * spec.channels);
  if (split && subs.length && pubs.length) {
    const subGroups = deal(subs, Math.min(opt.workers, subs.length));
    return {
      subGroups: [...subGroups, []],
      pubGroups: [...subGroups.map(() => []), pubs],
    };
  }
  const n = Math.max(1, Math.min(opt.workers, Math.max(subs.length, pubs.length)));
  return { subGroups: deal(subs, n), pubGroups: deal(pubs, n) };
}

function percentile(h: Uint32Array, total: number, q: number): number {
  if (total === 0) return NaN;
  const rank = Math.ceil(total * q);
  let seen = 0;
  for (let b = 0; b < h.length; b++) {
    seen += h[b];
    if (seen >= rank) return (bucketValue(b) + bucketValue(b + 1)) / 2 / 1000;
  }
  return NaN;
}

/** Name of channel `i`. */
export function channelName(i: number): string {
  return `ch:${i}:m`;
}

/** Runs one load configuration against the server on `port`. */
export async function runLoad(
  server: { port: number; pid: number },
  spec: LoadSpec,
  opt: RunOptions,
): Promise<LoadResult> {
  const port = server.port;
  if (spec.payload < 8) throw new Error("payload must be at least 8 bytes (send timestamp)");
  const subs: Subscription[] = Array.from({ length: spec.subscribers }, (_, j) => {
    const c = j % spec.channels;
    return spec.patterns
      ? { kind: "pattern", name: `ch:${c}:*` }
      : { kind: "channel", name: channelName(c) };
  });
  const { subGroups, pubGroups } = layout(subs, spec, opt);
  const n = subGroups.length;
  const sab = new SharedArrayBuffer(Shared.bytes(n));
  const phase = new Int32Array(sab, 0, 2);
  const channels = Array.from({ length: spec.channels }, (_, i) => channelName(i));
  const workers: GenWorker[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const w = new GenWorker();
      workers.push(w);
      const init: WorkerInit = {
        port,
        sab,
        index: i,
        subs: subGroups[i],
        bufferSize: 256 * 1024,
        connectConcurrency: 16,
        publishers: pubGroups[i].length,
        firstPublisher: pubGroups[i][0] ?? 0,
        channels,
        inflight: spec.inflight,
        payloadSize: spec.payload,
        window: opt.window,
      };
      w.send(init);
    }
    await withTimeout(Promise.all(workers.map((w) => w.receive())), 30000, "workers ready");

    Atomics.store(phase, Shared.PHASE, Phase.WARMUP);
    for (const w of workers) w.send({ type: "go" });
    await sleep(opt.warmupS * 1000);
    Atomics.store(phase, Shared.PHASE, Phase.MEASURE);
    const t0 = performance.now();
    const cpu0 = cpuSeconds(server.pid), gen0 = cpuSeconds(Deno.pid);
    await sleep(opt.durationS * 1000);
    Atomics.store(phase, Shared.PHASE, Phase.STOP);
    const seconds = (performance.now() - t0) / 1000;
    const serverCpu = (cpuSeconds(server.pid) - cpu0) / seconds;
    const generatorCpu = (cpuSeconds(Deno.pid) - gen0) / seconds;

    for (const w of workers) w.send({ type: "finish-pub" });
    const pubs = await withTimeout(
      Promise.all(workers.map((w) => w.receive<PubResult>())),
      15000,
      "publisher results",
    );
    // Let the subscribers drain what the server already accepted.
    const slots = new Float64Array(sab, Shared.SLOTS_OFFSET);
    const receivers = pubs.reduce((a, r) => a + r.receivers, 0);
    const delivered = () => slots.reduce((a, x, i) => i % 2 ? a : a + x, 0);
    const drainDeadline = Date.now() + 5000;
    while (delivered() < receivers && Date.now() < drainDeadline) await sleep(10);
    for (const w of workers) w.send({ type: "finish-sub" });
    const subResults = await withTimeout(
      Promise.all(workers.map((w) => w.receive<SubResult>())),
      15000,
      "subscriber results",
    );

    const hist = new Uint32Array(HISTOGRAM_BUCKETS);
    let measured = 0, total = 0;
    for (const r of subResults) {
      measured += r.measured;
      total += r.total;
      for (let b = 0; b < hist.length; b++) hist[b] += r.histogram[b];
    }
    const samples = hist.reduce((a, x) => a + x, 0);
    const published = pubs.reduce((a, r) => a + r.measured, 0);
    const publishedTotal = pubs.reduce((a, r) => a + r.total, 0);
    return {
      publishedPerS: published / seconds,
      deliveredPerS: measured / seconds,
      p50: percentile(hist, samples, 0.5),
      p99: percentile(hist, samples, 0.99),
      p999: percentile(hist, samples, 0.999),
      fanout: publishedTotal ? receivers / publishedTotal : 0,
      missing: receivers - total,
      serverCpu,
      generatorCpu,
      pauses: pubs.reduce((a, r) => a + r.pauses, 0),
      errors: [...pubs, ...subResults].flatMap((r) => r.errors),
    };
  } finally {
    for (const w of workers) w.terminate();
  }
}

/** Opens `count` idle subscribers (one channel each) and returns a closer. */
export async function openIdleSubscribers(
  port: number,
  count: number,
  workers: number,
): Promise<() => Promise<void>> {
  const subs: Subscription[] = Array.from({ length: count }, (_, j) => ({
    kind: "channel",
    name: `idle:${j}`,
  }));
  const groups = deal(subs, workers);
  const sab = new SharedArrayBuffer(Shared.bytes(groups.length));
  const ws = groups.map((group, i) => {
    const w = new GenWorker();
    const init: WorkerInit = {
      port,
      sab,
      index: i,
      subs: group,
      bufferSize: 1024,
      connectConcurrency: 32,
      publishers: 0,
      firstPublisher: 0,
      channels: [],
      inflight: 0,
      payloadSize: 8,
      window: 0,
    };
    w.send(init);
    return w;
  });
  const close = async () => {
    // No publishers: "go" and "finish-pub" return at once, then "finish-sub" closes.
    for (const w of ws) for (const type of ["go", "finish-pub", "finish-sub"]) w.send({ type });
    await withTimeout(
      Promise.all(ws.map(async (w) => {
        await w.receive();
        await w.receive();
      })),
      30000,
      "idle close",
    ).catch(() => {});
    for (const w of ws) w.terminate();
  };
  try {
    await withTimeout(Promise.all(ws.map((w) => w.receive())), 120000, "idle subscribers");
  } catch (e) {
    for (const w of ws) w.terminate();
    throw e;
  }
  return close;
}
