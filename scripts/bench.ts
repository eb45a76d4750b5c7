/**
 * Side-by-side benchmark: `redis-benchmark` against this server and, when
 * installed, a real `redis-server` started with the same settings, in one
 * run. Prints a markdown table with the ratio ours/redis per test.
 *
 * Usage: `deno task bench [--requests N] [--clients C] [--tests set,get,...]
 * [--pipelines 1,16] [--rounds R]`
 *
 * The two servers are measured alternately, test by test, so that machine
 * noise (2 cores shared with the load generator) hits both alike. With
 * `--rounds R` each measurement is repeated and the median kept.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { V8_FLAGS_ARG } from "../src/server/v8_flags.ts";

const ROOT = new URL("../", import.meta.url).pathname;

// Only the main module reads the command line: scripts importing startOurs/startRedis
// (e.g. pubsub_bench.ts) have options of their own.
const { values } = parseArgs({
  args: import.meta.main ? Deno.args : [],
  options: {
    requests: { type: "string", default: "200000" },
    clients: { type: "string", default: "50" },
    tests: { type: "string", default: "set,get,incr,mset,ping" },
    pipelines: { type: "string", default: "1,16" },
    rounds: { type: "string", default: "1" },
  },
});

/** A server under test, stopped by `stop`. */
export interface Target {
  name: string;
  port: number;
  /** Process id of the server (for /proc/<pid>/status). */
  pid: number;
  stop: () => Promise<void>;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function has(cmd: string): boolean {
  return new Deno.Command("sh", {
    args: ["-c", `command -v ${cmd}`],
    stdout: "null",
    stderr: "null",
  }).outputSync().success;
}

async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`Nothing listens on port ${port}`);
}

async function start(name: string, cmd: string, args: string[], port: number): Promise<Target> {
  // The first --dir is the temporary data directory made by startOurs/startRedis.
  const dir = args.includes("--dir") ? args[args.indexOf("--dir") + 1] : undefined;
  const child = new Deno.Command(cmd, { args, stdout: "null", stderr: "inherit", cwd: ROOT })
    .spawn();
  try {
    await waitForPort(port);
  } catch (e) {
    // Never leave a half-started server behind.
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    if (dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
  return {
    name,
    port,
    pid: child.pid,
    stop: async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      // Bounded: a server that ignores SIGTERM for 5 s is killed.
      const killer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 5000);
      await child.status;
      clearTimeout(killer);
      // The temporary data directory goes with the server.
      if (dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Starts this server with the benchmark's settings. */
export async function startOurs(extra: string[] = []): Promise<Target> {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "bench-ours-" });
  return await start("ours", Deno.execPath(), [
    "run",
    "--allow-all",
    V8_FLAGS_ARG,
    `${ROOT}main.ts`,
    "--port",
    String(port),
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
    ...extra,
  ], port);
}

/** Starts a real redis-server with the same settings. */
export async function startRedis(extra: string[] = []): Promise<Target> {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "bench-redis-" });
  return await start("redis", "redis-server", [
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
    ...extra,
  ], port);
}

/** Runs redis-benchmark and returns requests/s per test name. */
async function runBenchmark(
  port: number,
  tests: string,
  pipeline: number,
): Promise<Map<string, number>> {
  const out = await new Deno.Command("redis-benchmark", {
    args: [
      "-p",
      String(port),
      "-t",
      tests,
      "-c",
      values.clients!,
      "-n",
      values.requests!,
      "-P",
      String(pipeline),
      "--csv",
    ],
    stdout: "piped",
    stderr: "null",
  }).output();
  const result = new Map<string, number>();
  for (const line of new TextDecoder().decode(out.stdout).split("\n").slice(1)) {
    const cols = line.split(",").map((c) => c.replace(/"/g, ""));
    if (cols.length >= 2 && cols[0]) result.set(cols[0], Number(cols[1]));
  }
  return result;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  if (!has("redis-benchmark")) {
    console.log("redis-benchmark is not installed (apt-get install redis-tools); nothing to run.");
    return;
  }
  const targets: Target[] = [await startOurs()];
  if (has("redis-server")) targets.push(await startRedis());
  else console.log("redis-server is not installed: measuring this server alone.");
  const rounds = Number(values.rounds);
  const rows: string[] = [];
  try {
    for (const p of values.pipelines!.split(",").map(Number)) {
      for (const test of values.tests!.split(",")) {
        const samples = new Map<string, Map<string, number[]>>();
        for (let r = 0; r < rounds; r++) {
          for (const t of targets) {
            const res = await runBenchmark(t.port, test, p);
            for (const [name, rps] of res) {
              if (!samples.has(name)) samples.set(name, new Map());
              const byTarget = samples.get(name)!;
              if (!byTarget.has(t.name)) byTarget.set(t.name, []);
              byTarget.get(t.name)!.push(rps);
            }
          }
        }
        for (const [name, byTarget] of samples) {
          const ours = median(byTarget.get("ours") ?? [0]);
          const redis = byTarget.has("redis") ? median(byTarget.get("redis")!) : NaN;
          const ratio = Number.isNaN(redis) ? "n/a" : (ours / redis).toFixed(2);
          const row = `| ${name} | ${p} | ${Math.round(ours)} | ${
            Number.isNaN(redis) ? "n/a" : Math.round(redis)
          } | ${ratio} |`;
          rows.push(row);
          console.error(row);
        }
      }
    }
  } finally {
    for (const t of targets) await t.stop();
  }
  console.log(
    `\nredis-benchmark -c ${values.clients} -n ${values.requests}, median of ${rounds} round(s)\n`,
  );
  console.log("| test | -P | ours (req/s) | redis-server (req/s) | ours/redis |");
  console.log("|---|---|---|---|---|");
  for (const r of rows) console.log(r);
}

if (import.meta.main) await main();
