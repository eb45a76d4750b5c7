/**
 * Test support: start this server (or a real `redis-server`) on 127.0.0.1 and
 * a free port, and stop it afterwards, even when the test fails.
 *
 * ```ts
 * await withServer([], async (srv) => { ... srv.port ... });
 * ```
 *
 * @module
 */

import { V8_FLAGS_ARG } from "../../src/server/v8_flags.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** A server process started for a test. */
export interface RunningServer {
  port: number;
  /** Data directory given to the server (a fresh temp dir unless `--dir` was passed). */
  dir: string;
  process: Deno.ChildProcess;
  /** Everything the server printed so far. */
  output(): string;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and waits for it. */
  stop(): Promise<void>;
}

async function pipeToString(
  stream: ReadableStream<Uint8Array>,
  sink: { text: string },
): Promise<void> {
  const dec = new TextDecoder();
  for await (const chunk of stream) sink.text += dec.decode(chunk, { stream: true });
}

function stopper(
  child: Deno.ChildProcess,
  pumps: Promise<unknown>,
  tempDir: string | null,
): () => Promise<void> {
  let done: Promise<void> | null = null;
  return () => {
    if (done) return done;
    done = (async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }, 5000);
      await child.status;
      clearTimeout(timer);
      await pumps.catch(() => {});
      // The data directory was made for this server alone.
      if (tempDir !== null) await Deno.remove(tempDir, { recursive: true }).catch(() => {});
    })();
    return done;
  };
}

/**
 * Starts this server with extra `--name value` arguments; resolves once it
 * is ready (its dataset loaded), or with `{ ready: false }` as soon as it
 * listens (clients then meet the start-up load).
 */
export async function startServer(
  args: string[] = [],
  opts: { ready?: boolean } = {},
): Promise<RunningServer> {
  const ownDir = !args.includes("--dir");
  const dir = ownDir
    ? await Deno.makeTempDir({ prefix: "redis-deno-test-" })
    : args[args.indexOf("--dir") + 1];
  // A caller's `--dir` replaces the temp dir (not both: `--dir` takes one value).
  const fullArgs = [
    "--port",
    "0",
    "--save",
    "",
    "--appendonly",
    "no",
    ...(ownDir ? ["--dir", dir] : []),
    ...args,
  ];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", V8_FLAGS_ARG, `${ROOT}main.ts`, ...dedupe(fullArgs)],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const sink = { text: "" };
  const pumps = Promise.all([pipeToString(child.stdout, sink), pipeToString(child.stderr, sink)]);
  const stop = stopper(child, pumps, ownDir ? dir : null);
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    const m = /port=(\d+)/.exec(sink.text);
    if (m && (opts.ready === false || sink.text.includes("Ready to accept connections"))) {
      return { port: Number(m[1]), dir, process: child, output: () => sink.text, stop };
    }
    const status = await Promise.race([
      child.status,
      new Promise((r) => setTimeout(() => r(null), 20)),
    ]);
    if (status !== null) break;
  }
  await stop();
  throw new Error(`Server did not start:\n${sink.text}`);
}

/** Later occurrences of `--name` override earlier ones, as for redis-server. */
function dedupe(args: string[]): string[] {
  const seen = new Map<string, string[]>();
  let i = 0;
  while (i < args.length) {
    const name = args[i];
    const vals: string[] = [];
    i++;
    while (i < args.length && !args[i].startsWith("--")) vals.push(args[i++]);
    seen.delete(name);
    seen.set(name, vals);
  }
  return [...seen].flatMap(([n, v]) => [n, ...v]);
}

/** Runs `fn` against a fresh server and always stops it. */
export async function withServer<T>(
  args: string[],
  fn: (srv: RunningServer) => Promise<T>,
): Promise<T> {
  const srv = await startServer(args);
  try {
    return await fn(srv);
  } finally {
    await srv.stop();
  }
}

/** Path of an installed program, or null. */
export function which(cmd: string): string | null {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      const p = `${dir}/${cmd}`;
      if (Deno.statSync(p).isFile) return p;
    } catch { /* not here */ }
  }
  return null;
}

/** True when a real `redis-server` is installed (for differential tests). */
export const hasRedis = which("redis-server") !== null;
/** True when `redis-cli` is installed. */
export const hasRedisCli = which("redis-cli") !== null;

/** Prints why a test is skipped; returns true so callers can `if (skip(...)) return`. */
export function skipBecause(reason: string): true {
  console.log(`  skipped: ${reason}`);
  return true;
}

/** A free TCP port on 127.0.0.1 (for servers that cannot bind port 0 and report it). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Starts a real `redis-server` with the given directives; resolves once it
 * answers, or with `{ ready: false }` as soon as it listens (while it loads).
 */
export async function startRedis(
  args: string[] = [],
  opts: { ready?: boolean } = {},
): Promise<RunningServer> {
  const dir = await Deno.makeTempDir({ prefix: "redis-real-test-" });
  const port = freePort();
  const child = new Deno.Command("redis-server", {
    args: [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const sink = { text: "" };
  const pumps = Promise.all([pipeToString(child.stdout, sink), pipeToString(child.stderr, sink)]);
  const stop = stopper(child, pumps, dir);
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    const listening = opts.ready === false && sink.text.includes(`port=${port}`);
    if (listening || sink.text.includes("Ready to accept connections")) {
      return { port, dir, process: child, output: () => sink.text, stop };
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  await stop();
  throw new Error(`redis-server did not start:\n${sink.text}`);
}

/** Runs `fn` against a real redis-server and always stops it. */
export async function withRedis<T>(
  args: string[],
  fn: (srv: RunningServer) => Promise<T>,
): Promise<T> {
  const srv = await startRedis(args);
  try {
    return await fn(srv);
  } finally {
    await srv.stop();
  }
}
