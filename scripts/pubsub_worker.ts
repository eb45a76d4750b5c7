/**
 * Load-generator worker for `scripts/pubsub_bench.ts`, run as a Web Worker.
 *
 * A worker hosts a share of the subscribers and of the publishers, all on raw
 * `Deno.Conn` sockets with hand-written RESP framing (no client library, no
 * payload decoding beyond the timestamp):
 *
 * - subscribers: one connection per subscription (SUBSCRIBE or PSUBSCRIBE);
 *   they count `message`/`pmessage` frames and record publish→receive latency
 *   from the 8-byte send time that starts each payload.
 * - publishers: connections each keeping K PUBLISH in flight, round-robin over
 *   the channels; every command of one write carries the same send time.
 *
 * Publishers and subscribers share threads (rather than one thread per role)
 * because a message crossing threads pays a wake-up that shows in the tail
 * latency on a 2-core machine.
 *
 * Protocol: the main thread posts a {@link WorkerInit}; the worker connects and
 * posts `{type: "ready"}`; then `go` starts publishing, `finish-pub` returns a
 * {@link PubResult} once publishers stopped (phase STOP) and drained, and
 * `finish-sub` closes the subscribers and returns a {@link SubResult}.
 * A SharedArrayBuffer (see {@link Shared}) holds the phase flag and two
 * progress counters per worker, which publishers read to bound the messages
 * queued in the server but not yet received (the delivery window).
 *
 * @module
 */

/**
 * Layout of the SharedArrayBuffer shared by the main thread and all workers:
 * an Int32 phase flag, then per worker i two Float64 slots, each written only by
 * that worker: 2i = messages received, 2i+1 = receivers reported by PUBLISH.
 */
export const Shared = {
  /** Int32 index of the phase flag. */
  PHASE: 0,
  /** Byte offset of the Float64 slots. */
  SLOTS_OFFSET: 8,
  /** Bytes needed for `n` workers. */
  bytes: (n: number) => 8 + 16 * n,
} as const;

/** Phase values: publishers run during WARMUP and MEASURE; only MEASURE is counted. */
export const Phase = { WARMUP: 0, MEASURE: 1, STOP: 2 } as const;

/** One subscription of a subscriber connection. */
export interface Subscription {
  kind: "channel" | "pattern";
  name: string;
}

/** Message from the main thread starting a worker. */
export interface WorkerInit {
  port: number;
  sab: SharedArrayBuffer;
  /** This worker's index (its slots are 2i and 2i+1). */
  index: number;
  subs: Subscription[];
  /** Initial read buffer per subscriber connection (grows when one frame needs more). */
  bufferSize: number;
  /** Subscriber connections opened concurrently while connecting. */
  connectConcurrency: number;
  /** Publisher connections in this worker. */
  publishers: number;
  /** Index of this worker's first publisher among all, to stagger their channels. */
  firstPublisher: number;
  channels: string[];
  /** PUBLISH commands kept in flight per publisher connection. */
  inflight: number;
  payloadSize: number;
  /** Max messages published but not yet received before publishers pause. */
  window: number;
}

/** Result posted by a worker after `finish-sub`. */
export interface SubResult {
  type: "sub-result";
  /** message/pmessage frames received during MEASURE. */
  measured: number;
  /** message/pmessage frames received in total. */
  total: number;
  /** Latency histogram, see {@link bucketOf}. */
  histogram: Uint32Array;
  errors: string[];
}

/** Result posted by a worker after `finish-pub`. */
export interface PubResult {
  type: "pub-result";
  /** PUBLISH replies received during MEASURE. */
  measured: number;
  /** PUBLISH replies received in total. */
  total: number;
  /** Sum of the integer replies (receivers per PUBLISH). */
  receivers: number;
  /** Times a connection paused on the delivery window during MEASURE. */
  pauses: number;
  errors: string[];
}

/** Number of histogram buckets: 1 µs resolution below 1024 µs, then 512 per octave up to 2^31 µs. */
export const HISTOGRAM_BUCKETS = 1024 + 21 * 512;

/** Histogram bucket of a latency in whole microseconds (relative error < 0.2%). */
export function bucketOf(us: number): number {
  if (us < 1024) return us < 0 ? 0 : us;
  if (us >= 0x7fffffff) return HISTOGRAM_BUCKETS - 1;
  const e = 31 - Math.clz32(us); // >= 10
  return 1024 + (e - 10) * 512 + ((us >>> (e - 9)) & 511);
}

/** Lower bound (µs) of a histogram bucket: the inverse of {@link bucketOf}. */
export function bucketValue(b: number): number {
  if (b < 1024) return b;
  const e = 10 + Math.floor((b - 1024) / 512);
  const m = (b - 1024) % 512;
  return (512 + m) * 2 ** (e - 9);
}

/** Wall-clock milliseconds with sub-µs resolution, comparable across workers. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

const CR = 13, STAR = 42, GT = 62, DOLLAR = 36, COLON = 58, MINUS = 45, PLUS = 43;
const enc = new TextEncoder();

/** Shared-memory views for one worker. */
class SharedView {
  readonly flags: Int32Array;
  readonly slots: Float64Array;
  constructor(sab: SharedArrayBuffer) {
    this.flags = new Int32Array(sab, 0, 2);
    this.slots = new Float64Array(sab, Shared.SLOTS_OFFSET);
  }
  get phase(): number {
    return Atomics.load(this.flags, Shared.PHASE);
  }
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

function command(...args: string[]): Uint8Array {
  let s = `*${args.length}\r\n`;
  for (const a of args) s += `$${enc.encode(a).length}\r\n${a}\r\n`;
  return enc.encode(s);
}

/** A growable read buffer with a parse cursor. */
class ReadBuffer {
  buf: Uint8Array;
  view: DataView;
  start = 0;
  end = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }
  /** Makes room for the next read: compacts, and doubles when a frame fills the buffer. */
  prepare(): Uint8Array {
    if (this.start === this.end) this.start = this.end = 0;
    else if (this.start > 0 && this.end > this.buf.length / 2) {
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    if (this.end === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf.subarray(this.start, this.end));
      this.end -= this.start;
      this.start = 0;
      this.buf = bigger;
      this.view = new DataView(bigger.buffer);
    }
    return this.buf.subarray(this.end);
  }
}

// ---------------------------------------------------------------------------
// Subscriber role

/** Per-worker subscriber state; the frame parser updates it in place. */
class SubState {
  measured = 0;
  total = 0;
  confirmations = 0;
  readonly histogram = new Uint32Array(HISTOGRAM_BUCKETS);
  readonly errors: string[] = [];
  /** Set once the main thread asked to finish: read errors after that are expected. */
  finishing = false;
  constructor(readonly shared: SharedView, readonly slot: number) {}
}

/**
 * Parses every complete frame in `rb`, counting messages and recording
 * latencies against `recvMs` when `measuring`. Leaves a partial frame in place.
 */
function parsePushes(rb: ReadBuffer, st: SubState, recvMs: number, measuring: boolean): void {
  const buf = rb.buf, end = rb.end;
  let start = rb.start;
  let count = 0;
  frames: while (start < end) {
    let p = start;
    const t = buf[p];
    if (t !== STAR && t !== GT) {
      // An error or status line: record it (it is not a message).
      let q = p;
      while (q < end && buf[q] !== CR) q++;
      if (q + 1 >= end) break;
      if (t === MINUS && st.errors.length < 5) {
        st.errors.push(new TextDecoder().decode(buf.subarray(p, q)));
      } else if (t !== PLUS && t !== COLON) throw new Error(`unexpected reply byte ${t}`);
      start = q + 2;
      continue;
    }
    p++;
    let n = 0;
    while (p < end && buf[p] !== CR) n = n * 10 + buf[p++] - 48;
    if (p + 1 >= end) break;
    p += 2;
    let kind = -1, payload = -1, payloadLen = 0;
    for (let i = 0; i < n; i++) {
      if (p >= end) break frames;
      const et = buf[p++];
      let len = 0;
      while (p < end && buf[p] !== CR) len = len * 10 + buf[p++] - 48;
      if (p + 1 >= end) break frames;
      p += 2;
      if (et === DOLLAR) {
        if (p + len + 2 > end) break frames;
        if (i === 0) kind = len;
        payload = p;
        payloadLen = len;
        p += len + 2;
      }
    }
    start = p;
    if (kind === 7 || kind === 8) { // "message" / "pmessage"
      count++;
      if (measuring && payloadLen >= 8) {
        const us = Math.round((recvMs - rb.view.getFloat64(payload, true)) * 1000);
        st.histogram[bucketOf(us)]++;
      }
    } else st.confirmations++; // subscribe / psubscribe
  }
  rb.start = start;
  st.total += count;
  if (measuring) st.measured += count;
  st.shared.slots[st.slot] = st.total;
}

async function subscriberLoop(conn: Deno.Conn, rb: ReadBuffer, st: SubState): Promise<void> {
  try {
    while (true) {
      const n = await conn.read(rb.prepare());
      if (n === null) {
        // E.g. the server's pub/sub output-buffer limit: reported with the results.
        if (!st.finishing) throw new Error("server closed a subscriber connection");
        break;
      }
      rb.end += n;
      parsePushes(rb, st, nowMs(), st.shared.phase === Phase.MEASURE);
    }
  } catch (e) {
    if (!st.finishing && st.errors.length < 5) st.errors.push(String(e));
  }
}

/** Subscriber connections of one worker and their read loops. */
interface Subscribers {
  st: SubState;
  conns: Deno.Conn[];
  loops: Promise<void>[];
}

async function openSubscribers(init: WorkerInit, shared: SharedView): Promise<Subscribers> {
  const st = new SubState(shared, 2 * init.index);
  const conns: Deno.Conn[] = [];
  const loops: Promise<void>[] = [];
  let next = 0;
  const opener = async () => {
    while (next < init.subs.length) {
      const s = init.subs[next++];
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: init.port });
      conns.push(conn);
      const rb = new ReadBuffer(init.bufferSize);
      await writeAll(conn, command(s.kind === "channel" ? "SUBSCRIBE" : "PSUBSCRIBE", s.name));
      // Wait for this connection's confirmation so connects stay paced.
      const before = st.confirmations;
      while (st.confirmations === before) {
        const n = await conn.read(rb.prepare());
        if (n === null) throw new Error("server closed a subscriber connection");
        rb.end += n;
        parsePushes(rb, st, nowMs(), false);
        if (st.errors.length) throw new Error(st.errors[0]);
      }
      loops.push(subscriberLoop(conn, rb, st));
    }
  };
  const openers = [];
  for (let i = 0; i < Math.min(init.connectConcurrency, init.subs.length); i++) {
    openers.push(opener());
  }
  await Promise.all(openers);
  return { st, conns, loops };
}

async function closeSubscribers({ st, conns, loops }: Subscribers): Promise<SubResult> {
  st.finishing = true;
  for (const c of conns) {
    try {
      c.close();
    } catch { /* already closed */ }
  }
  await Promise.all(loops);
  return {
    type: "sub-result",
    measured: st.measured,
    total: st.total,
    histogram: st.histogram,
    errors: st.errors,
  };
}

// ---------------------------------------------------------------------------
// Publisher role

/** Pre-built PUBLISH commands, one per channel, with a timestamp slot each. */
class PublishTemplates {
  readonly cmds: Uint8Array[] = [];
  /** Offset of the 8-byte timestamp inside each command. */
  readonly tsOffsets: number[] = [];
  readonly maxLen: number;
  constructor(channels: string[], payloadSize: number) {
    const payload = new Uint8Array(payloadSize).fill(0x78); // "x"
    for (const ch of channels) {
      const head = enc.encode(
        `*3\r\n$7\r\nPUBLISH\r\n$${enc.encode(ch).length}\r\n${ch}\r\n$${payloadSize}\r\n`,
      );
      const cmd = new Uint8Array(head.length + payloadSize + 2);
      cmd.set(head);
      cmd.set(payload, head.length);
      cmd.set([13, 10], head.length + payloadSize);
      this.cmds.push(cmd);
      this.tsOffsets.push(head.length);
    }
    this.maxLen = Math.max(...this.cmds.map((c) => c.length));
  }
}

/** Per-worker publisher state. */
class PubState {
  measured = 0;
  total = 0;
  receivers = 0;
  pauses = 0;
  readonly errors: string[] = [];
  constructor(readonly shared: SharedView, readonly init: WorkerInit, readonly slot: number) {}
  /** Messages the server accepted for delivery that no subscriber has received yet. */
  backlog(): number {
    const slots = this.shared.slots;
    let b = 0;
    for (let i = 0; i < slots.length; i += 2) b += slots[i + 1] - slots[i];
    return b;
  }
}

/** Parses complete PUBLISH replies; returns how many were consumed. */
function parseReplies(rb: ReadBuffer, st: PubState): number {
  const buf = rb.buf, end = rb.end;
  let p = rb.start, replies = 0, receivers = 0;
  while (p < end) {
    const t = buf[p];
    let q = p + 1;
    let v = 0;
    while (q < end && buf[q] !== CR) v = v * 10 + buf[q++] - 48;
    if (q + 1 >= end) break;
    if (t === COLON) receivers += v;
    else if (st.errors.length < 5) st.errors.push(new TextDecoder().decode(buf.subarray(p, q)));
    p = q + 2;
    replies++;
  }
  rb.start = p;
  st.receivers += receivers;
  return replies;
}

async function publisherLoop(conn: Deno.Conn, st: PubState, tpl: PublishTemplates, first: number) {
  const { inflight: k, window } = st.init;
  const out = new Uint8Array(tpl.maxLen * k);
  const outView = new DataView(out.buffer);
  const rb = new ReadBuffer(64 * 1024);
  let channel = first % tpl.cmds.length;
  let pending = 0;
  const send = async (n: number) => {
    let len = 0;
    const ts = nowMs();
    for (let i = 0; i < n; i++) {
      const cmd = tpl.cmds[channel];
      out.set(cmd, len);
      outView.setFloat64(len + tpl.tsOffsets[channel], ts, true);
      len += cmd.length;
      if (++channel === tpl.cmds.length) channel = 0;
    }
    pending += n;
    await writeAll(conn, out.subarray(0, len));
  };
  const deadline = () => Date.now() + 5000;
  let drainUntil = 0;
  try {
    await send(k);
    while (pending > 0) {
      const n = await conn.read(rb.prepare());
      if (n === null) throw new Error("server closed a publisher connection");
      rb.end += n;
      const got = parseReplies(rb, st);
      pending -= got;
      const phase = st.shared.phase;
      st.total += got;
      if (phase === Phase.MEASURE) st.measured += got;
      st.shared.slots[st.slot] = st.receivers;
      if (phase === Phase.STOP) {
        if (drainUntil === 0) drainUntil = deadline();
        if (Date.now() > drainUntil) break;
        continue;
      }
      // Delivery window: wait for subscribers to catch up before publishing more.
      if (phase === Phase.MEASURE && st.backlog() > window) st.pauses++;
      while (st.backlog() > window && st.shared.phase !== Phase.STOP) {
        await new Promise((r) => setTimeout(r, 1));
      }
      if (st.shared.phase === Phase.STOP) continue;
      if (k - pending > 0) await send(k - pending);
    }
  } catch (e) {
    if (st.errors.length < 5) st.errors.push(String(e));
  }
}

async function run(init: WorkerInit): Promise<void> {
  const shared = new SharedView(init.sab);
  const subscribers = await openSubscribers(init, shared);
  const pub = new PubState(shared, init, 2 * init.index + 1);
  const tpl = new PublishTemplates(init.channels, init.payloadSize);
  const pubConns: Deno.Conn[] = [];
  for (let i = 0; i < init.publishers; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: init.port });
    conn.setNoDelay(true);
    pubConns.push(conn);
  }
  post({ type: "ready" });
  await nextMessage("go");
  const publishing = Promise.all(
    pubConns.map((c, i) => publisherLoop(c, pub, tpl, init.firstPublisher + i)),
  );
  await nextMessage("finish-pub");
  await publishing;
  for (const c of pubConns) c.close();
  const pubResult: PubResult = {
    type: "pub-result",
    measured: pub.measured,
    total: pub.total,
    receivers: pub.receivers,
    pauses: pub.pauses,
    errors: pub.errors,
  };
  post(pubResult);
  await nextMessage("finish-sub");
  post(await closeSubscribers(subscribers));
}

// ---------------------------------------------------------------------------
// Worker plumbing

/** `postMessage` of the worker scope (typed loosely: this file is type-checked as a main module). */
function post(message: unknown): void {
  (globalThis as unknown as { postMessage(m: unknown): void }).postMessage(message);
}

const inbox: string[] = [];
let waiter: (() => void) | null = null;

/** Resolves when the main thread has sent `type` (messages may arrive early). */
async function nextMessage(type: string): Promise<void> {
  while (true) {
    const i = inbox.indexOf(type);
    if (i >= 0) {
      inbox.splice(i, 1);
      return;
    }
    await new Promise<void>((r) => waiter = r);
  }
}

/** Entry point when loaded as a Web Worker. */
function workerMain(): void {
  (globalThis as unknown as { onmessage: unknown }).onmessage = (
    e: MessageEvent<WorkerInit | { type: string }>,
  ) => {
    const msg = e.data;
    if ("sab" in msg) {
      run(msg).catch((err) => post({ type: "error", message: String(err?.stack ?? err) }));
    } else {
      inbox.push(msg.type);
      const w = waiter;
      waiter = null;
      w?.();
    }
  };
}

// `WorkerGlobalScope` exists only inside a worker; importing this module from the main thread
// (for the shared constants and histogram helpers) must not install the handler.
if (typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== "undefined") {
  workerMain();
}
