/**
 * Logging through @logtape/logtape, in Redis' own line format:
 * `<pid>:M 22 Nov 2026 10:49:06.123 * Ready to accept connections`.
 *
 * Redis' levels map onto logtape's: debug → trace, verbose → debug,
 * notice → info, warning → warning. `loglevel` and `logfile` can change at
 * run time (CONFIG SET): the sink reads them on every record.
 *
 * @module
 */

import {
  configureSync,
  getLogger,
  type Logger,
  type LogLevel,
  type LogRecord,
} from "@logtape/logtape";

/** Redis' log levels, lowest first. */
export type RedisLogLevel = "debug" | "verbose" | "notice" | "warning" | "nothing";

const RANK: Record<LogLevel, number> = {
  trace: 0,
  debug: 1,
  info: 2,
  warning: 3,
  error: 3,
  fatal: 3,
};
const REDIS_RANK: Record<RedisLogLevel, number> = {
  debug: 0,
  verbose: 1,
  notice: 2,
  warning: 3,
  nothing: 99,
};
const MARK: Record<LogLevel, string> = {
  trace: ".",
  debug: "-",
  info: "*",
  warning: "#",
  error: "#",
  fatal: "#",
};
const MONTHS = [
  "Jan",
  "Feb",
  "Mar",
  "Apr",
  "May",
  "Jun",
  "Jul",
  "Aug",
  "Sep",
  "Oct",
  "Nov",
  "Dec",
];

/** Where log lines go and which are kept; mutable so CONFIG SET applies at once. */
export interface LogSettings {
  level: RedisLogLevel;
  /** File path; "" for standard output. */
  file: string;
}

const settings: LogSettings = { level: "notice", file: "" };
let fileHandle: Deno.FsFile | null = null;
let openedPath = "";
const encoder = new TextEncoder();

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

/** Formats a timestamp as Redis does: `22 Nov 2026 10:49:06.123`. */
export function redisTimestamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()} ${pad(d.getHours())}:${
    pad(d.getMinutes())
  }:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function redisSink(record: LogRecord): void {
  if (RANK[record.level] < REDIS_RANK[settings.level]) return;
  const text = record.message.map((p) => typeof p === "string" ? p : String(p))
    .join("");
  const line = `${Deno.pid}:M ${redisTimestamp(record.timestamp)} ${MARK[record.level]} ${text}\n`;
  const bytes = encoder.encode(line);
  try {
    if (settings.file === "") {
      Deno.stdout.writeSync(bytes);
      return;
    }
    if (fileHandle === null || openedPath !== settings.file) {
      fileHandle?.close();
      fileHandle = Deno.openSync(settings.file, {
        append: true,
        create: true,
      });
      openedPath = settings.file;
    }
    fileHandle.writeSync(bytes);
  } catch {
    // Logging must never take the server down (closed stdout, full disk).
  }
}

/** Sets up logtape once; later changes go through `setLogSettings`. */
export function setupLogging(initial: Partial<LogSettings> = {}): Logger {
  Object.assign(settings, initial);
  configureSync({
    reset: true,
    sinks: { redis: redisSink },
    loggers: [
      { category: ["redis"], lowestLevel: "trace", sinks: ["redis"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["redis"] },
    ],
  });
  return getLogger(["redis"]);
}

/** Changes level or file at run time (CONFIG SET loglevel / logfile). */
export function setLogSettings(next: Partial<LogSettings>): void {
  Object.assign(settings, next);
}

/** Checks that a log file can be opened for appending; throws if not. */
export function checkLogFile(path: string): void {
  if (path === "") return;
  Deno.openSync(path, { append: true, create: true }).close();
}
