/**
 * The table of every Redis 7.0.15 config parameter: name, alias, value type
 * (with bounds, allowed values, units), flags (immutable, protected,
 * sensitive, hidden...), default, and — for the parameters that matter to
 * this server — the `apply` function that writes the parsed value into the
 * typed `ServerConfig`.
 *
 * Each parameter is declared exactly once. Defaults are written in CONFIG SET
 * form and parsed by the parameter's own type. Types, bounds and flags were
 * checked against a real redis-server 7.0.15 (error texts for bad values,
 * CONFIG SET on each parameter).
 *
 * @module
 */

import type { ServerConfig } from "./server_config.ts";
import { setLogSettings } from "../server/logging.ts";
import { fsPath, reject } from "./values.ts";
import {
  bindType,
  boolType,
  type BufferLimits,
  bufferLimitsType,
  type CType,
  dirType,
  type EnumTable,
  enumType,
  LIMITS,
  notifyEventsType,
  type NumberForms,
  numberType,
  oomScoreAdjValuesType,
  type ParamType,
  percentilesType,
  replicaOfType,
  saveType,
  type SaveValue,
  stringType,
} from "./param_types.ts";

/** CONFIG SET refuses it: "can't set immutable config". */
export const IMMUTABLE = 1;
/** CONFIG SET refuses it unless `enable-protected-configs` allows: "can't set protected config". */
export const PROTECTED = 2;
/** Its CONFIG SET value is shown as "(redacted)" in the slow log. */
export const SENSITIVE = 4;
/** Left out of CONFIG GET patterns (exact name only). */
export const HIDDEN = 8;
/** CONFIG SET refuses it while the dataset is loading. */
export const DENY_LOADING = 16;

/** One config parameter. */
// deno-lint-ignore no-explicit-any
export interface Param<T = any> {
  name: string;
  alias?: string;
  flags: number;
  type: ParamType<T>;
  /** Default value, in CONFIG SET form (parsed by `type`). */
  def: string;
  /** Default value given directly, when parsing `def` is not wanted (`dir`). */
  defValue?: T;
  /** Writes the value (and its CONFIG GET text) wherever it takes effect. */
  apply?: (target: ServerConfig, value: T, text: string) => void;
}

interface Opts<T> {
  alias?: string;
  flags?: number;
  apply?: Param<T>["apply"];
}

function param<T>(name: string, type: ParamType<T>, def: string, o: Opts<T> = {}): Param<T> {
  return { name, alias: o.alias, flags: o.flags ?? 0, type, def, apply: o.apply };
}

type Target = Record<string, unknown>;
type FieldOf<V> = { [K in keyof ServerConfig]: ServerConfig[K] extends V ? K : never }[
  keyof ServerConfig
];

/** Stores the value as is into a field. */
function field<V>(key: FieldOf<V>): (t: ServerConfig, v: V) => void {
  return (t, v) => {
    (t as unknown as Target)[key] = v;
  };
}

/** Stores a number into a field; `unsigned` for 64-bit unsigned values (`maxmemory`). */
function numField(key: FieldOf<number>, unsigned = false): (t: ServerConfig, v: bigint) => void {
  return (t, v) => {
    (t as unknown as Target)[key] = Number(unsigned ? BigInt.asUintN(64, v) : v);
  };
}

/** Stores a file name or path, decoded for Deno's file APIs. */
function pathField(key: FieldOf<string>): (t: ServerConfig, v: string) => void {
  return (t, v) => {
    (t as unknown as Target)[key] = fsPath(v);
  };
}

/** Stores the CONFIG GET text into a field (enums). */
function textField(key: FieldOf<string>): (t: ServerConfig, v: unknown, text: string) => void {
  return (t, _v, text) => {
    (t as unknown as Target)[key] = text;
  };
}

function bool(name: string, def: boolean, o: Opts<boolean> = {}): Param<boolean> {
  return param(name, boolType(), def ? "yes" : "no", o);
}

function str(name: string, def: string, emptyIsNull: boolean, o: Opts<string> = {}) {
  return param(name, stringType(emptyIsNull), def, o);
}

function num(
  name: string,
  ctype: CType,
  min: bigint,
  max: bigint,
  def: string,
  o: Opts<bigint> & { forms?: NumberForms } = {},
): Param<bigint> {
  return param(name, numberType(ctype, min, max, o.forms), def, o);
}

const { INT_MIN, INT_MAX, UINT_MAX, LONG_MAX, LLONG_MAX, ULLONG_MAX } = LIMITS;
const MEMORY: NumberForms = { memory: true };
const MB = 1024n * 1024n;

// --- Validators with Redis' texts -----------------------------------------

function baseName(what: string, kind: string): (v: string) => void {
  return (v) => {
    if (v.includes("/") || v.includes("\\")) reject(`${what} can't be a path, just a ${kind}`);
  };
}

function nonEmptyBaseName(what: string, kind: string): (v: string) => void {
  const check = baseName(what, kind);
  return (v) => {
    if (v === "") reject(`${what} can't be empty`);
    check(v);
  };
}

function validHostname(v: string): void {
  if (v.length >= 256) reject("Hostnames must be less than 256 characters");
  if (!/^[A-Za-z0-9.-]*$/.test(v)) {
    reject("Hostnames may only contain alphanumeric characters, hyphens or dots");
  }
}

const TITLE_VARS = new Set([
  "title",
  "listen-addr",
  "server-mode",
  "port",
  "tls-port",
  "unixsocket",
  "config-file",
]);

/**
 * `proc-title-template` must expand (Redis' `sdstemplate`: `{var}`, `{{` for
 * a literal brace) to something non-blank. With the title and the server
 * mode empty at validation time, as in Redis.
 */
function validProcTitle(v: string): void {
  const bad = "template format is invalid or contains unknown variables";
  let out = "";
  let p = 0;
  while (p < v.length) {
    const open = v.indexOf("{", p);
    if (open < 0) {
      out += v.slice(p);
      break;
    }
    out += v.slice(p, open);
    if (open + 1 >= v.length) reject(bad);
    if (v[open + 1] === "{") {
      out += "{";
      p = open + 2;
      continue;
    }
    const close = v.indexOf("}", open + 1);
    if (close < 0) reject(bad);
    const name = v.slice(open + 1, close);
    if (!TITLE_VARS.has(name)) reject(bad);
    if (name !== "title" && name !== "server-mode") out += "x";
    p = close + 1;
  }
  if (out.trim() === "") reject(bad);
}

// --- Enums -----------------------------------------------------------------

const names = (...list: string[]): EnumTable => list.map((n, i) => [n, i] as const);

const MAXMEMORY_POLICY = names(
  "volatile-lru",
  "volatile-lfu",
  "volatile-random",
  "volatile-ttl",
  "allkeys-lru",
  "allkeys-lfu",
  "allkeys-random",
  "noeviction",
);
const SYSLOG_FACILITY = names(
  "user",
  "local0",
  "local1",
  "local2",
  "local3",
  "local4",
  "local5",
  "local6",
  "local7",
);
const LOGLEVEL = names("debug", "verbose", "notice", "warning");
const SUPERVISED = names("upstart", "systemd", "auto", "no");
const APPENDFSYNC = names("everysec", "always", "no");
const REPL_DISKLESS_LOAD = names("disabled", "on-empty-db", "swapdb");
const TLS_AUTH_CLIENTS = names("no", "yes", "optional");
const OOM_SCORE_ADJ: EnumTable = [["no", 0], ["yes", 1], ["relative", 1], ["absolute", 2]];
const ACL_PUBSUB_DEFAULT: EnumTable = [["allchannels", 1], ["resetchannels", 0]];
const SANITIZE_DUMP = names("no", "yes", "clients");
const PROTECTED_ACTION = names("no", "yes", "local");
const ENDPOINT_TYPE = names("ip", "hostname", "unknown-endpoint");
const PROPAGATION_ERROR = names("ignore", "panic", "panic-on-replicas");
const SHUTDOWN_ON_SIG: EnumTable = [
  ["default", 0],
  ["save", 1],
  ["nosave", 2],
  ["now", 4],
  ["force", 8],
];

function enumParam(name: string, table: EnumTable, def: string, o: Opts<number> = {}) {
  return param(name, enumType(table), def, o);
}

function shutdownOnSig(name: string, key: FieldOf<string>): Param<number> {
  const type = enumType(SHUTDOWN_ON_SIG, true, (v) => {
    if ((v & 1) && (v & 2)) {
      reject("shutdown options SAVE and NOSAVE can't be used simultaneously");
    }
  });
  return param(name, type, "default", { apply: textField(key) });
}

// --- Specials --------------------------------------------------------------

const DEFAULT_BUFFER_LIMITS: BufferLimits = {
  normal: { hard: 0n, soft: 0n, softSeconds: 0 },
  replica: { hard: 256n * MB, soft: 64n * MB, softSeconds: 60 },
  pubsub: { hard: 32n * MB, soft: 8n * MB, softSeconds: 60 },
};

function applyBufferLimits(t: ServerConfig, v: BufferLimits): void {
  const conv = (l: BufferLimits["normal"]) => ({
    hard: Number(l.hard),
    soft: Number(l.soft),
    softSeconds: l.softSeconds,
  });
  t.clientOutputBufferLimit = {
    normal: conv(v.normal),
    replica: conv(v.replica),
    pubsub: conv(v.pubsub),
  };
}

/** Redis clamps `hz` to 1..500 (CONFIG_MIN_HZ / CONFIG_MAX_HZ). CONFIG SET raises `repl-backlog-size` to 16kb. */
function clampHz(v: bigint): bigint {
  return v < 1n ? 1n : v > 500n ? 500n : v;
}

const I = IMMUTABLE;

/** Every parameter, in Redis' declaration order. */
export const PARAMS: readonly Param[] = [
  // Booleans.
  bool("rdbchecksum", true, { flags: I, apply: field("rdbchecksum") }),
  bool("daemonize", false, { flags: I }),
  bool("io-threads-do-reads", false, { flags: I }),
  bool("always-show-logo", false, { flags: I }),
  bool("protected-mode", true, { apply: field("protectedMode") }),
  bool("rdbcompression", true, { apply: field("rdbcompression") }),
  bool("rdb-del-sync-files", false, { apply: field("rdbDelSyncFiles") }),
  bool("activerehashing", true, { apply: field("activerehashing") }),
  bool("stop-writes-on-bgsave-error", true, { apply: field("stopWritesOnBgsaveError") }),
  bool("set-proc-title", true, { flags: I }),
  bool("dynamic-hz", true),
  bool("lazyfree-lazy-eviction", false),
  bool("lazyfree-lazy-expire", false),
  bool("lazyfree-lazy-server-del", false),
  bool("lazyfree-lazy-user-del", false, { apply: field("lazyfreeLazyUserDel") }),
  bool("lazyfree-lazy-user-flush", false, { apply: field("lazyfreeLazyUserFlush") }),
  bool("repl-disable-tcp-nodelay", false),
  bool("repl-diskless-sync", true),
  bool("aof-rewrite-incremental-fsync", true),
  bool("no-appendfsync-on-rewrite", false, { apply: field("noAppendfsyncOnRewrite") }),
  bool("cluster-require-full-coverage", true),
  bool("rdb-save-incremental-fsync", true),
  bool("aof-load-truncated", true, { apply: field("aofLoadTruncated") }),
  bool("aof-use-rdb-preamble", true, { apply: field("aofUseRdbPreamble") }),
  bool("aof-timestamp-enabled", false, { apply: field("aofTimestampEnabled") }),
  bool("cluster-replica-no-failover", false, { alias: "cluster-slave-no-failover" }),
  bool("replica-lazy-flush", false, { alias: "slave-lazy-flush" }),
  bool("replica-serve-stale-data", true, { alias: "slave-serve-stale-data" }),
  bool("replica-read-only", true, { alias: "slave-read-only" }),
  bool("replica-ignore-maxmemory", true, { alias: "slave-ignore-maxmemory" }),
  bool("jemalloc-bg-thread", true),
  bool("activedefrag", false),
  bool("syslog-enabled", false, { flags: I }),
  bool("cluster-enabled", false, { flags: I }),
  bool("appendonly", false, { flags: DENY_LOADING, apply: field("appendonly") }),
  bool("cluster-allow-reads-when-down", false),
  bool("cluster-allow-pubsubshard-when-down", true),
  bool("crash-log-enabled", true),
  bool("crash-memcheck-enabled", true),
  bool("use-exit-on-panic", false, { flags: HIDDEN }),
  bool("disable-thp", true, { flags: I }),
  bool("cluster-allow-replica-migration", true),
  bool("replica-announced", true),
  bool("latency-tracking", true, { apply: field("latencyTracking") }),
  bool("aof-disable-auto-gc", false),
  bool("replica-ignore-disk-write-errors", false),

  // Strings.
  str("aclfile", "", false, { flags: I }),
  str("unixsocket", "", true, { flags: I }),
  str("pidfile", "", true, { flags: I, apply: pathField("pidfile") }),
  str("replica-announce-ip", "", true, { alias: "slave-announce-ip" }),
  str("masteruser", "", true, { flags: SENSITIVE }),
  str("cluster-announce-ip", "", true),
  str("cluster-config-file", "nodes.conf", false, { flags: I }),
  param("cluster-announce-hostname", stringType(true, validHostname), ""),
  str("syslog-ident", "redis", false, { flags: I }),
  param("dbfilename", stringType(false, baseName("dbfilename", "filename")), "dump.rdb", {
    flags: PROTECTED,
    apply: pathField("dbfilename"),
  }),
  param(
    "appendfilename",
    stringType(false, nonEmptyBaseName("appendfilename", "filename")),
    "appendonly.aof",
    { flags: I, apply: pathField("appendfilename") },
  ),
  param(
    "appenddirname",
    stringType(false, nonEmptyBaseName("appenddirname", "dirname")),
    "appendonlydir",
    { flags: I, apply: pathField("appenddirname") },
  ),
  str("server_cpulist", "", true, { flags: I }),
  str("bio_cpulist", "", true, { flags: I }),
  str("aof_rewrite_cpulist", "", true, { flags: I }),
  str("bgsave_cpulist", "", true, { flags: I }),
  str("ignore-warnings", "", false),
  param(
    "proc-title-template",
    stringType(false, validProcTitle),
    "{title} {listen-addr} {server-mode}",
  ),
  str("bind-source-addr", "", true),
  str("logfile", "", false, { flags: I, apply: pathField("logfile") }),
  str("masterauth", "", true, { flags: SENSITIVE }),
  str("requirepass", "", true, { flags: SENSITIVE, apply: field("requirepass") }),

  // Enums.
  enumParam("supervised", SUPERVISED, "no", { flags: I }),
  enumParam("syslog-facility", SYSLOG_FACILITY, "local0", { flags: I }),
  enumParam("repl-diskless-load", REPL_DISKLESS_LOAD, "disabled", { flags: DENY_LOADING }),
  enumParam("loglevel", LOGLEVEL, "notice", {
    apply: (t, _v, text) => {
      t.loglevel = text as ServerConfig["loglevel"];
      setLogSettings({ level: t.loglevel });
    },
  }),
  enumParam("maxmemory-policy", MAXMEMORY_POLICY, "noeviction", {
    apply: textField("maxmemoryPolicy"),
  }),
  enumParam("appendfsync", APPENDFSYNC, "everysec", { apply: textField("appendfsync") }),
  enumParam("oom-score-adj", OOM_SCORE_ADJ, "no"),
  enumParam("acl-pubsub-default", ACL_PUBSUB_DEFAULT, "resetchannels"),
  enumParam("sanitize-dump-payload", SANITIZE_DUMP, "no"),
  enumParam("enable-protected-configs", PROTECTED_ACTION, "no", { flags: I }),
  enumParam("enable-debug-command", PROTECTED_ACTION, "no", {
    flags: I,
    apply: textField("enableDebugCommand"),
  }),
  enumParam("enable-module-command", PROTECTED_ACTION, "no", { flags: I }),
  enumParam("cluster-preferred-endpoint-type", ENDPOINT_TYPE, "ip"),
  enumParam("propagation-error-behavior", PROPAGATION_ERROR, "ignore"),
  shutdownOnSig("shutdown-on-sigint", "shutdownOnSigint"),
  shutdownOnSig("shutdown-on-sigterm", "shutdownOnSigterm"),

  // Integers.
  num("databases", "int", 1n, INT_MAX, "16", { flags: I, apply: numField("databases") }),
  num("port", "int", 0n, 65535n, "6379", { apply: numField("port") }),
  num("io-threads", "int", 1n, 128n, "1", { flags: I }),
  num("auto-aof-rewrite-percentage", "int", 0n, INT_MAX, "100", {
    apply: numField("autoAofRewritePercentage"),
  }),
  num("cluster-replica-validity-factor", "int", 0n, INT_MAX, "10", {
    alias: "cluster-slave-validity-factor",
  }),
  num("list-max-listpack-size", "int", INT_MIN, INT_MAX, "-2", {
    alias: "list-max-ziplist-size",
    apply: numField("listMaxListpackSize"),
  }),
  num("tcp-keepalive", "int", 0n, INT_MAX, "300", { apply: numField("tcpKeepalive") }),
  num("cluster-migration-barrier", "int", 0n, INT_MAX, "1"),
  num("active-defrag-cycle-min", "int", 1n, 99n, "1"),
  num("active-defrag-cycle-max", "int", 1n, 99n, "25"),
  num("active-defrag-threshold-lower", "int", 0n, 1000n, "10"),
  num("active-defrag-threshold-upper", "int", 0n, 1000n, "100"),
  num("lfu-log-factor", "int", 0n, INT_MAX, "10"),
  num("lfu-decay-time", "int", 0n, INT_MAX, "1"),
  num("replica-priority", "int", 0n, INT_MAX, "100", { alias: "slave-priority" }),
  num("repl-diskless-sync-delay", "int", 0n, INT_MAX, "5"),
  num("maxmemory-samples", "int", 1n, INT_MAX, "5", { apply: numField("maxmemorySamples") }),
  num("maxmemory-eviction-tenacity", "int", 0n, 100n, "10"),
  num("timeout", "int", 0n, INT_MAX, "0", { apply: numField("timeout") }),
  num("replica-announce-port", "int", 0n, 65535n, "0", { alias: "slave-announce-port" }),
  num("tcp-backlog", "int", 0n, INT_MAX, "511", { flags: I }),
  num("cluster-port", "int", 0n, 65535n, "0", { flags: I }),
  num("cluster-announce-bus-port", "int", 0n, 65535n, "0"),
  num("cluster-announce-port", "int", 0n, 65535n, "0"),
  num("cluster-announce-tls-port", "int", 0n, 65535n, "0"),
  num("repl-timeout", "int", 1n, INT_MAX, "60"),
  num("repl-ping-replica-period", "int", 1n, INT_MAX, "10", { alias: "repl-ping-slave-period" }),
  num("list-compress-depth", "int", 0n, INT_MAX, "0", { apply: numField("listCompressDepth") }),
  num("rdb-key-save-delay", "int", INT_MIN, INT_MAX, "0", { flags: HIDDEN }),
  num("key-load-delay", "int", INT_MIN, INT_MAX, "0", { flags: HIDDEN }),
  num("active-expire-effort", "int", 1n, 10n, "1", { apply: numField("activeExpireEffort") }),
  param("hz", numberType("int", 0n, INT_MAX, {}, clampHz), "10", { apply: numField("hz") }),
  num("min-replicas-to-write", "int", 0n, INT_MAX, "0", { alias: "min-slaves-to-write" }),
  num("min-replicas-max-lag", "int", 0n, INT_MAX, "10", { alias: "min-slaves-max-lag" }),
  num("watchdog-period", "int", 0n, INT_MAX, "0", { flags: HIDDEN }),
  num("shutdown-timeout", "int", 0n, INT_MAX, "10", { apply: numField("shutdownTimeout") }),
  num("repl-diskless-sync-max-replicas", "int", 0n, INT_MAX, "0"),
  num("maxclients", "uint", 1n, UINT_MAX, "10000", { apply: numField("maxclients") }),
  num("unixsocketperm", "uint", 0n, 0o777n, "0", { flags: I, forms: { octal: true } }),
  num("socket-mark-id", "uint", 0n, UINT_MAX, "0", { flags: I }),
  num("active-defrag-max-scan-fields", "ulong", 1n, LONG_MAX, "1000"),
  num("slowlog-max-len", "ulong", 0n, LONG_MAX, "128", { apply: numField("slowlogMaxLen") }),
  num("acllog-max-len", "ulong", 0n, LONG_MAX, "128", { apply: numField("acllogMaxLen") }),
  num("busy-reply-threshold", "llong", 0n, LONG_MAX, "5000", {
    alias: "lua-time-limit",
    apply: numField("busyReplyThreshold"),
  }),
  num("cluster-node-timeout", "llong", 0n, LLONG_MAX, "15000"),
  num("slowlog-log-slower-than", "llong", -1n, LLONG_MAX, "10000", {
    apply: numField("slowlogLogSlowerThan"),
  }),
  num("latency-monitor-threshold", "llong", 0n, LLONG_MAX, "0", {
    apply: numField("latencyMonitorThreshold"),
  }),
  num("proto-max-bulk-len", "llong", MB, LONG_MAX, "512mb", {
    forms: MEMORY,
    apply: numField("protoMaxBulkLen"),
  }),
  num("stream-node-max-entries", "llong", 0n, LLONG_MAX, "100", {
    apply: numField("streamNodeMaxEntries"),
  }),
  param(
    "repl-backlog-size",
    numberType(
      "llong",
      1n,
      LLONG_MAX,
      MEMORY,
      (v, ctx) => (ctx.loading || v >= 16384n ? v : 16384n),
    ),
    "1mb",
  ),
  num("maxmemory", "ullong", 0n, ULLONG_MAX, "0", {
    forms: MEMORY,
    apply: numField("maxmemory", true),
  }),
  num("cluster-link-sendbuf-limit", "ullong", 0n, ULLONG_MAX, "0", { forms: MEMORY }),
  num("hash-max-listpack-entries", "size", 0n, LONG_MAX, "512", {
    alias: "hash-max-ziplist-entries",
    apply: numField("hashMaxListpackEntries"),
  }),
  num("set-max-intset-entries", "size", 0n, LONG_MAX, "512", {
    apply: numField("setMaxIntsetEntries"),
  }),
  num("zset-max-listpack-entries", "size", 0n, LONG_MAX, "128", {
    alias: "zset-max-ziplist-entries",
    apply: numField("zsetMaxListpackEntries"),
  }),
  num("active-defrag-ignore-bytes", "size", 1n, LLONG_MAX, "100mb", { forms: MEMORY }),
  num("hash-max-listpack-value", "size", 0n, LONG_MAX, "64", {
    alias: "hash-max-ziplist-value",
    forms: MEMORY,
    apply: numField("hashMaxListpackValue"),
  }),
  num("stream-node-max-bytes", "size", 0n, LONG_MAX, "4096", {
    forms: MEMORY,
    apply: numField("streamNodeMaxBytes"),
  }),
  num("zset-max-listpack-value", "size", 0n, LONG_MAX, "64", {
    alias: "zset-max-ziplist-value",
    forms: MEMORY,
    apply: numField("zsetMaxListpackValue"),
  }),
  num("hll-sparse-max-bytes", "size", 0n, LONG_MAX, "3000", {
    forms: MEMORY,
    apply: numField("hllSparseMaxBytes"),
  }),
  num("tracking-table-max-keys", "size", 0n, LONG_MAX, "1000000", {
    apply: numField("trackingTableMaxKeys"),
  }),
  num("client-query-buffer-limit", "size", MB, LONG_MAX, "1gb", {
    forms: MEMORY,
    apply: numField("clientQueryBufferLimit"),
  }),
  num("maxmemory-clients", "ssize", -100n, LLONG_MAX, "0", {
    forms: { memory: true, percent: true },
  }),
  num("repl-backlog-ttl", "time", 0n, LONG_MAX, "3600"),
  num("auto-aof-rewrite-min-size", "off", 0n, LLONG_MAX, "64mb", {
    forms: MEMORY,
    apply: numField("autoAofRewriteMinSize"),
  }),
  num("loading-process-events-interval-bytes", "off", 1024n, INT_MAX, "2097152", {
    flags: HIDDEN,
    apply: numField("loadingProcessEventsIntervalBytes"),
  }),

  // TLS (this server has no TLS: stored and reported only).
  num("tls-port", "int", 0n, 65535n, "0"),
  num("tls-session-cache-size", "int", 0n, INT_MAX, "20480"),
  num("tls-session-cache-timeout", "int", 0n, INT_MAX, "300"),
  bool("tls-cluster", false),
  bool("tls-replication", false),
  enumParam("tls-auth-clients", TLS_AUTH_CLIENTS, "yes"),
  bool("tls-prefer-server-ciphers", false),
  bool("tls-session-caching", true),
  str("tls-cert-file", "", true),
  str("tls-key-file", "", true),
  str("tls-key-file-pass", "", true),
  str("tls-client-cert-file", "", true),
  str("tls-client-key-file", "", true),
  str("tls-client-key-file-pass", "", true),
  str("tls-dh-params-file", "", true),
  str("tls-ca-cert-file", "", true),
  str("tls-ca-cert-dir", "", true),
  str("tls-protocols", "", true),
  str("tls-ciphers", "", true),
  str("tls-ciphersuites", "", true),

  // Special parameters.
  {
    name: "dir",
    flags: PROTECTED | DENY_LOADING,
    type: dirType,
    def: "./data",
    defValue: "./data",
    // Redis changes into `dir`; relative paths (logfile, dbfilename) then resolve inside it.
    apply: (t, v) => {
      t.dir = fsPath(v);
      Deno.chdir(t.dir);
    },
  } satisfies Param<string>,
  param<SaveValue>("save", saveType, "900 1 300 10 60 10000", {
    apply: (t, v) => {
      t.save = v.map(([seconds, changes]) => ({ seconds: Number(seconds), changes }));
    },
  }),
  {
    name: "client-output-buffer-limit",
    flags: 0,
    type: bufferLimitsType(DEFAULT_BUFFER_LIMITS),
    def: "",
    defValue: DEFAULT_BUFFER_LIMITS,
    apply: applyBufferLimits,
  } satisfies Param<BufferLimits>,
  param("oom-score-adj-values", oomScoreAdjValuesType, "0 200 800"),
  param("notify-keyspace-events", notifyEventsType, "", {
    apply: (t, v, text) => {
      t.notifyKeyspaceEvents = text;
      t.notifyKeyspaceEventsFlags = v;
    },
  }),
  param("bind", bindType, "127.0.0.1", { apply: (t, v) => (t.bind = [...v]) }),
  param("replicaof", replicaOfType, "no one", { alias: "slaveof", flags: I }),
  param("latency-tracking-info-percentiles", percentilesType, "50 99 99.9", {
    apply: (t, v) => (t.latencyTrackingPercentiles = [...v]),
  }),
];

/** Directives Redis 7.0 still accepts in a config file and ignores (argument counts). */
export const DEPRECATED_DIRECTIVES: ReadonlyMap<string, number> = new Map([
  ["list-max-ziplist-entries", 2],
  ["list-max-ziplist-value", 2],
  ["lua-replicate-commands", 2],
]);
