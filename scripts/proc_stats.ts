/**
 * Linux process figures for the benchmarks, read from /proc: resident memory,
 * CPU time, and the open-files limit (raised with `prlimit` when short).
 *
 * @module
 */

/** VmRSS of a process in bytes. */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** User + system CPU seconds used so far by a process (all its threads). */
export function cpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // Fields after the ")" that ends the command name; utime and stime are fields 14 and 15.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
}

/** Soft and hard limits on open files of this process. */
export function fdLimits(): { soft: number; hard: number } {
  const line = Deno.readTextFileSync("/proc/self/limits").split("\n")
    .find((l) => l.startsWith("Max open files")) ?? "";
  const [soft, hard] = line.slice("Max open files".length).trim().split(/\s+/)
    .map((v) => v === "unlimited" ? Infinity : Number(v));
  return { soft, hard };
}

/**
 * Makes sure this process (and so the servers it starts) may open `need` files.
 * Deno already raises its soft limit to the hard one at startup; when that is
 * still short, `prlimit --pid` raises it in place (the hard limit only with
 * CAP_SYS_RESOURCE). Returns null when enough, else why not.
 */
export async function ensureFdLimit(need: number): Promise<string | null> {
  const { soft, hard } = fdLimits();
  if (soft >= need) return null;
  try {
    await new Deno.Command("prlimit", {
      args: [`--pid=${Deno.pid}`, `--nofile=${need}:${Math.max(need, hard)}`],
      stdout: "null",
      stderr: "null",
    }).output();
  } catch { /* no prlimit */ }
  const now = fdLimits();
  if (now.soft >= need) return null;
  return `open-files limit is ${now.soft} (hard ${now.hard}), ${need} needed and prlimit could ` +
    `not raise it: run with a higher hard limit (as root: ulimit -Hn ${need}; in Docker: ` +
    `--ulimit nofile=${need}:${need}) or pass a smaller --idle-subs`;
}
