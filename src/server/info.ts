/**
 * The INFO report: Redis 7.0's sections and field names, in Redis' order,
 * filled from this server's state (clients, keyspace, stats, command table)
 * and from the Deno runtime (memory, CPU, OS).
 *
 * Fields that describe machinery this server doesn't have (forks, allocator
 * internals, replication backlog, Lua) keep the values an idle standalone
 * Redis reports, so monitoring tools that read them keep working.
 *
 * @module
 */

import process from "node:process";
import type { Server } from "./server.ts";
import { REDIS_VERSION } from "./server.ts";
import { allCommands } from "../commands/table.ts";

/** Every section, in the order INFO prints them. */
export const INFO_SECTIONS = [
  "server",
  "clients",
  "memory",
  "persistence",
  "stats",
  "replication",
  "cpu",
  "modules",
  "commandstats",
  "errorstats",
  "latencystats",
  "cluster",
  "keyspace",
] as const;

/** Sections printed by a bare INFO (or `INFO default`): all but the per-command ones. */
const DEFAULT_SECTIONS = new Set<string>(
  INFO_SECTIONS.filter((s) => s !== "commandstats" && s !== "latencystats"),
);

/** Resolves INFO's arguments (lower-cased) to the sections to print. */
export function selectSections(args: string[]): Set<string> {
  if (args.length === 0) return new Set(DEFAULT_SECTIONS);
  const out = new Set<string>();
  for (const a of args) {
    if (a === "all" || a === "everything") {
      for (const s of INFO_SECTIONS) out.add(s);
    } else if (a === "default") {
      for (const s of DEFAULT_SECTIONS) out.add(s);
    } else out.add(a);
  }
  return out;
}

/** Formats a byte count as Redis' `bytesToHuman` does (`1.39M`). */
export function bytesToHuman(n: number): string {
  const units = ["K", "M", "G", "T", "P"];
  if (n < 1024) return `${n}B`;
  let d = n / 1024;
  for (const u of units) {
    if (d < 1024 || u === "P") return `${d.toFixed(2)}${u}`;
    d /= 1024;
  }
  return `${n}B`;
}

/** Per-server values INFO keeps between calls. */
interface InfoState {
  peakMemory: number;
  replId: string;
}

const states = new WeakMap<Server, InfoState>();

function stateOf(server: Server): InfoState {
  let s = states.get(server);
  if (s === undefined) {
    const bytes = crypto.getRandomValues(new Uint8Array(20));
    s = {
      peakMemory: 0,
      replId: Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""),
    };
    states.set(server, s);
  }
  return s;
}

function usedMemory(): number {
  const m = Deno.memoryUsage();
  return m.heapUsed + m.external;
}

/** Memory in use when the server modules were loaded (`used_memory_startup`). */
const STARTUP_MEMORY = usedMemory();

function osName(): string {
  const os = Deno.build.os;
  const sys = os === "linux"
    ? "Linux"
    : os === "darwin"
    ? "Darwin"
    : os === "windows"
    ? "Windows"
    : os;
  let release = "";
  try {
    release = Deno.osRelease();
  } catch { /* not permitted */ }
  return `${sys} ${release} ${Deno.build.arch}`;
}

function executable(): string {
  const main = Deno.mainModule;
  if (main.startsWith("file://") && /\.(ts|js)$/.test(main)) return new URL(main).pathname;
  return Deno.execPath();
}

type Fields = [string, string | number][];

function serverSection(server: Server): Fields {
  const now = Date.now();
  const uptime = Math.floor((now - server.startTime) / 1000);
  return [
    ["redis_version", REDIS_VERSION],
    ["redis_git_sha1", "00000000"],
    ["redis_git_dirty", 0],
    ["redis_build_id", "0"],
    ["redis_mode", "standalone"],
    ["os", osName()],
    ["arch_bits", 64],
    ["monotonic_clock", "POSIX clock_gettime"],
    ["multiplexing_api", "epoll"],
    ["atomicvar_api", "c11-builtin"],
    ["gcc_version", "0.0.0"],
    ["process_id", Deno.pid],
    ["process_supervised", "no"],
    ["run_id", server.runId],
    ["tcp_port", server.boundPorts[0] ?? server.config.port],
    ["server_time_usec", Math.floor((performance.timeOrigin + performance.now()) * 1000)],
    ["uptime_in_seconds", uptime],
    ["uptime_in_days", Math.floor(uptime / 86400)],
    ["hz", server.config.hz],
    ["configured_hz", server.config.hz],
    ["lru_clock", Math.floor(now / 1000) & ((1 << 24) - 1)],
    ["executable", executable()],
    ["config_file", server.config.configFile],
    ["io_threads_active", 0],
  ];
}

function clientsSection(server: Server): Fields {
  let maxIn = 0;
  let maxOut = 0;
  for (const c of server.clients.values()) {
    maxIn = Math.max(maxIn, c.parser.pendingBytes);
    maxOut = Math.max(maxOut, c.pendingOutput);
  }
  return [
    ["connected_clients", server.clients.size],
    ["cluster_connections", 0],
    ["maxclients", server.config.maxclients],
    ["client_recent_max_input_buffer", maxIn],
    ["client_recent_max_output_buffer", maxOut],
    ["blocked_clients", 0],
    ["tracking_clients", 0],
    ["clients_in_timeout_table", 0],
  ];
}

function memorySection(server: Server): Fields {
  const state = stateOf(server);
  const mem = Deno.memoryUsage();
  const used = mem.heapUsed + mem.external;
  state.peakMemory = Math.max(state.peakMemory, used);
  const peak = state.peakMemory;
  let clientMem = 0;
  for (const c of server.clients.values()) {
    clientMem += c.parser.capacity + c.out.buf.length;
  }
  const startup = Math.min(STARTUP_MEMORY, used);
  const overhead = Math.min(used, startup + clientMem);
  const dataset = used - overhead;
  const netUsed = used - startup;
  let systemTotal = 0;
  try {
    systemTotal = Deno.systemMemoryInfo().total;
  } catch { /* not permitted */ }
  const maxmemory = server.config.maxmemory;
  const allocated = mem.heapTotal + mem.external;
  const ratio = (a: number, b: number) => (b > 0 ? a / b : 0).toFixed(2);
  return [
    ["used_memory", used],
    ["used_memory_human", bytesToHuman(used)],
    ["used_memory_rss", mem.rss],
    ["used_memory_rss_human", bytesToHuman(mem.rss)],
    ["used_memory_peak", peak],
    ["used_memory_peak_human", bytesToHuman(peak)],
    ["used_memory_peak_perc", `${(peak > 0 ? (used * 100) / peak : 0).toFixed(2)}%`],
    ["used_memory_overhead", overhead],
    ["used_memory_startup", startup],
    ["used_memory_dataset", dataset],
    ["used_memory_dataset_perc", `${(netUsed > 0 ? (dataset * 100) / netUsed : 0).toFixed(2)}%`],
    ["allocator_allocated", used],
    ["allocator_active", allocated],
    ["allocator_resident", mem.rss],
    ["total_system_memory", systemTotal],
    ["total_system_memory_human", bytesToHuman(systemTotal)],
    ["used_memory_lua", 32768],
    ["used_memory_vm_eval", 32768],
    ["used_memory_lua_human", "32.00K"],
    ["used_memory_scripts_eval", 0],
    ["number_of_cached_scripts", 0],
    ["number_of_functions", 0],
    ["number_of_libraries", 0],
    ["used_memory_vm_functions", 32768],
    ["used_memory_vm_total", 65536],
    ["used_memory_vm_total_human", "64.00K"],
    ["used_memory_functions", 0],
    ["used_memory_scripts", 0],
    ["used_memory_scripts_human", "0B"],
    ["maxmemory", maxmemory],
    ["maxmemory_human", bytesToHuman(maxmemory)],
    ["maxmemory_policy", server.config.maxmemoryPolicy],
    ["allocator_frag_ratio", ratio(allocated, used)],
    ["allocator_frag_bytes", allocated - used],
    ["allocator_rss_ratio", ratio(mem.rss, allocated)],
    ["allocator_rss_bytes", mem.rss - allocated],
    ["rss_overhead_ratio", "1.00"],
    ["rss_overhead_bytes", 0],
    ["mem_fragmentation_ratio", ratio(mem.rss, used)],
    ["mem_fragmentation_bytes", mem.rss - used],
    ["mem_not_counted_for_evict", 0],
    ["mem_replication_backlog", 0],
    ["mem_total_replication_buffers", 0],
    ["mem_clients_slaves", 0],
    ["mem_clients_normal", clientMem],
    ["mem_cluster_links", 0],
    ["mem_aof_buffer", 0],
    ["mem_allocator", "libc"],
    ["active_defrag_running", 0],
    ["lazyfree_pending_objects", 0],
    ["lazyfreed_objects", 0],
  ];
}

function persistenceSection(server: Server): Fields {
  const aof = server.config.appendonly ? 1 : 0;
  const p = server.persistence;
  const fields: Fields = [
    ["loading", server.loading ? 1 : 0],
    ["async_loading", 0],
    ["current_cow_peak", 0],
    ["current_cow_size", 0],
    ["current_cow_size_age", 0],
    ["current_fork_perc", "0.00"],
    ["current_save_keys_processed", 0],
    ["current_save_keys_total", 0],
    ["rdb_changes_since_last_save", server.keyspace.dirty],
    ["rdb_bgsave_in_progress", p.bgsaveInProgress ? 1 : 0],
    ["rdb_last_save_time", server.lastSave],
    ["rdb_last_bgsave_status", p.lastBgsaveOk ? "ok" : "err"],
    ["rdb_last_bgsave_time_sec", p.lastBgsaveTimeSec],
    ["rdb_current_bgsave_time_sec", p.currentBgsaveSeconds()],
    ["rdb_saves", p.saves],
    ["rdb_last_cow_size", 0],
    ["rdb_last_load_keys_expired", p.lastLoadKeysExpired],
    ["rdb_last_load_keys_loaded", p.lastLoadKeysLoaded],
    ["aof_enabled", aof],
    ["aof_rewrite_in_progress", p.rewriteInProgress ? 1 : 0],
    ["aof_rewrite_scheduled", p.aofRewriteScheduled ? 1 : 0],
    ["aof_last_rewrite_time_sec", p.aofLastRewriteTimeSec],
    ["aof_current_rewrite_time_sec", p.currentRewriteSeconds()],
    ["aof_last_bgrewrite_status", p.aofLastRewriteOk ? "ok" : "err"],
    ["aof_rewrites", p.aofRewrites],
    ["aof_rewrites_consecutive_failures", p.aofRewriteFailures],
    ["aof_last_write_status", p.aofWriter === null || p.aofWriter.lastWriteOk ? "ok" : "err"],
    ["aof_last_cow_size", 0],
    ["module_fork_in_progress", 0],
    ["module_fork_last_cow_size", 0],
  ];
  // Redis adds these only while AOF is on.
  if (aof && p.aofWriter !== null) {
    fields.push(
      ["aof_current_size", p.aofCurrentSize()],
      ["aof_base_size", p.aofRewriteBaseSize],
      ["aof_pending_rewrite", p.aofRewriteScheduled ? 1 : 0],
      ["aof_buffer_length", p.aofWriter.bufferLength],
      ["aof_pending_bio_fsync", 0],
      ["aof_delayed_fsync", 0],
    );
  }
  // And these only while a start-up load runs.
  const load = p.loadProgress;
  if (load !== null) {
    fields.push(
      ["loading_start_time", load.startTime],
      ["loading_total_bytes", load.totalBytes],
      ["loading_rdb_used_mem", load.rdbUsedMem],
      ["loading_loaded_bytes", load.loadedBytes],
      ["loading_loaded_perc", load.percent.toFixed(2)],
      ["loading_eta_seconds", load.etaSeconds],
    );
  }
  return fields;
}

function statsSection(server: Server): Fields {
  const st = server.stats;
  const ks = server.keyspace.stats;
  return [
    ["total_connections_received", st.totalConnections],
    ["total_commands_processed", st.totalCommands],
    ["instantaneous_ops_per_sec", server.instantaneousOps()],
    ["total_net_input_bytes", st.netInputBytes],
    ["total_net_output_bytes", st.netOutputBytes],
    ["total_net_repl_input_bytes", 0],
    ["total_net_repl_output_bytes", 0],
    ["instantaneous_input_kbps", "0.00"],
    ["instantaneous_output_kbps", "0.00"],
    ["instantaneous_input_repl_kbps", "0.00"],
    ["instantaneous_output_repl_kbps", "0.00"],
    ["rejected_connections", st.rejectedConnections],
    ["sync_full", 0],
    ["sync_partial_ok", 0],
    ["sync_partial_err", 0],
    ["expired_keys", ks.expiredKeys],
    ["expired_stale_perc", (ks.expiredStalePerc * 100).toFixed(2)],
    ["expired_time_cap_reached_count", 0],
    ["expire_cycle_cpu_milliseconds", Math.floor(ks.expireCycleTimeUsed / 1000)],
    ["evicted_keys", 0],
    ["evicted_clients", 0],
    ["total_eviction_exceeded_time", 0],
    ["current_eviction_exceeded_time", 0],
    ["keyspace_hits", ks.hits],
    ["keyspace_misses", ks.misses],
    ["pubsub_channels", server.pubsub.channelCount],
    ["pubsub_patterns", server.pubsub.patternCount],
    ["pubsubshard_channels", server.pubsub.shardChannelCount],
    ["latest_fork_usec", 0],
    ["total_forks", 0],
    ["migrate_cached_sockets", 0],
    ["slave_expires_tracked_keys", 0],
    ["active_defrag_hits", 0],
    ["active_defrag_misses", 0],
    ["active_defrag_key_hits", 0],
    ["active_defrag_key_misses", 0],
    ["total_active_defrag_time", 0],
    ["current_active_defrag_time", 0],
    ["tracking_total_keys", 0],
    ["tracking_total_items", 0],
    ["tracking_total_prefixes", 0],
    ["unexpected_error_replies", 0],
    ["total_error_replies", st.errorReplies],
    ["dump_payload_sanitizations", 0],
    ["total_reads_processed", 0],
    ["total_writes_processed", 0],
    ["io_threaded_reads_processed", 0],
    ["io_threaded_writes_processed", 0],
    ["reply_buffer_shrinks", 0],
    ["reply_buffer_expands", 0],
    // Beyond 7.0's list (see EXTRA_STATS_FIELDS), appended so 7.0's order is kept.
    ["client_query_buffer_limit_disconnections", st.clientQueryBufferLimitDisconnections],
    ["client_output_buffer_limit_disconnections", st.clientOutputBufferLimitDisconnections],
    ["pubsub_messages_published", server.pubsub.messagesPublished],
    ["pubsub_messages_delivered", server.pubsub.messagesDelivered],
  ];
}

/**
 * INFO stats fields Redis 7.0 does not have: the two buffer-limit counters
 * (named as Redis 7.2 names them) and pub/sub message totals.
 */
export const EXTRA_STATS_FIELDS: readonly string[] = [
  "client_query_buffer_limit_disconnections",
  "client_output_buffer_limit_disconnections",
  "pubsub_messages_published",
  "pubsub_messages_delivered",
];

function replicationSection(server: Server): Fields {
  return [
    ["role", "master"],
    ["connected_slaves", 0],
    ["master_failover_state", "no-failover"],
    ["master_replid", stateOf(server).replId],
    ["master_replid2", "0".repeat(40)],
    ["master_repl_offset", 0],
    ["second_repl_offset", -1],
    ["repl_backlog_active", 0],
    ["repl_backlog_size", 1048576],
    ["repl_backlog_first_byte_offset", 0],
    ["repl_backlog_histlen", 0],
  ];
}

/** Seconds with six decimals, as Redis prints rusage times. */
function cpuSeconds(usec: number): string {
  return (usec / 1e6).toFixed(6);
}

function cpuSection(): Fields {
  const u = process.cpuUsage();
  return [
    ["used_cpu_sys", cpuSeconds(u.system)],
    ["used_cpu_user", cpuSeconds(u.user)],
    ["used_cpu_sys_children", "0.000000"],
    ["used_cpu_user_children", "0.000000"],
    ["used_cpu_sys_main_thread", cpuSeconds(u.system)],
    ["used_cpu_user_main_thread", cpuSeconds(u.user)],
  ];
}

/** Makes a name safe as an INFO field name, as Redis' `getSafeInfoString` does. */
function safeName(s: string): string {
  return s.replace(/[:\r\n]/g, "_");
}

function commandStatsSection(server: Server): Fields {
  const out: Fields = [];
  for (const cmd of allCommands(server.commands)) {
    if (cmd.calls === 0 && cmd.failedCalls === 0 && cmd.rejectedCalls === 0) continue;
    const perCall = cmd.calls > 0 ? cmd.usec / cmd.calls : 0;
    out.push([
      `cmdstat_${safeName(cmd.fullName)}`,
      `calls=${cmd.calls},usec=${Math.round(cmd.usec)},usec_per_call=${perCall.toFixed(2)},` +
      `rejected_calls=${cmd.rejectedCalls},failed_calls=${cmd.failedCalls}`,
    ]);
  }
  return out;
}

function errorStatsSection(server: Server): Fields {
  const codes = [...server.stats.errors.keys()].sort();
  return codes.map((code) => [
    `errorstat_${safeName(code)}`,
    `count=${server.stats.errors.get(code)}`,
  ]);
}

/** Average remaining TTL (ms) of a database's volatile keys, from a bounded sample. */
function averageTtl(server: Server, dbIndex: number): number {
  const db = server.keyspace.dbs[dbIndex];
  const now = Date.now();
  let sum = 0;
  let n = 0;
  for (const key of db.volatile) {
    const e = db.dict.get(key); // a read, not a lookup: INFO must not expire keys
    if (e !== undefined && e.expireAt > now) {
      sum += e.expireAt - now;
      n++;
    }
    if (n >= 1000) break;
  }
  return n > 0 ? Math.floor(sum / n) : 0;
}

function keyspaceSection(server: Server): Fields {
  const out: Fields = [];
  server.keyspace.dbs.forEach((db, i) => {
    if (db.size === 0 && db.volatile.size === 0) return;
    out.push([
      `db${i}`,
      `keys=${db.size},expires=${db.volatile.size},avg_ttl=${averageTtl(server, i)}`,
    ]);
  });
  return out;
}

const BUILDERS: Record<string, [string, (server: Server) => Fields]> = {
  server: ["Server", serverSection],
  clients: ["Clients", clientsSection],
  memory: ["Memory", memorySection],
  persistence: ["Persistence", persistenceSection],
  stats: ["Stats", statsSection],
  replication: ["Replication", replicationSection],
  cpu: ["CPU", cpuSection],
  modules: ["Modules", () => []],
  commandstats: ["Commandstats", commandStatsSection],
  errorstats: ["Errorstats", errorStatsSection],
  latencystats: ["Latencystats", () => []],
  cluster: ["Cluster", () => [["cluster_enabled", 0]]],
  keyspace: ["Keyspace", keyspaceSection],
};

/** Builds the INFO text for the requested sections (lower-cased arguments). */
export function buildInfo(server: Server, args: string[]): string {
  const wanted = selectSections(args);
  const parts: string[] = [];
  for (const name of INFO_SECTIONS) {
    if (!wanted.has(name)) continue;
    const [title, build] = BUILDERS[name];
    let text = `# ${title}\r\n`;
    for (const [k, v] of build(server)) text += `${k}:${v}\r\n`;
    parts.push(text);
  }
  return parts.join("\r\n");
}
