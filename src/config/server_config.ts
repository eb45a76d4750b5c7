/**
 * The typed settings the running server reads on its hot paths.
 *
 * The config registry (parameter table, redis.conf parsing, CONFIG GET/SET)
 * owns the string forms; it writes parsed values here, so the server reads a
 * plain field instead of looking a name up per request. Every field below is
 * kept in sync by the registry (`src/config/params.ts` says which parameter
 * writes which field); parameters without a field here are accepted, stored
 * and reported, but have no effect on this server.
 *
 * @module
 */

/** `client-output-buffer-limit` for one client class. */
export interface OutputBufferLimit {
  hard: number;
  soft: number;
  softSeconds: number;
}

/** One `save <seconds> <changes>` rule. */
export interface SaveRule {
  seconds: number;
  changes: number;
}

/** Settings with an effect on this server. */
export interface ServerConfig {
  bind: string[];
  port: number;
  /** Absolute path of the working directory (the server `chdir`s into it, as Redis does). */
  dir: string;
  dbfilename: string;
  databases: number;
  maxclients: number;
  /** Idle seconds before a client is closed (0: never). */
  timeout: number;
  hz: number;
  requirepass: string;
  protoMaxBulkLen: number;
  clientQueryBufferLimit: number;
  clientOutputBufferLimit: {
    normal: OutputBufferLimit;
    replica: OutputBufferLimit;
    pubsub: OutputBufferLimit;
  };
  loglevel: "debug" | "verbose" | "notice" | "warning" | "nothing";
  /** As configured ("" for standard output); relative paths are relative to `dir`. */
  logfile: string;
  slowlogLogSlowerThan: number;
  slowlogMaxLen: number;
  latencyTrackingPercentiles: number[];
  /** Canonical class string, as CONFIG GET shows it (`AKE`). */
  notifyKeyspaceEvents: string;
  /** The same classes as bits (see `notify_flags.ts`, `notifyEnabled`). */
  notifyKeyspaceEventsFlags: number;
  /** Path of the config file given at start-up, absolute ("" when none). */
  configFile: string;

  // Persistence.
  /** `save` rules (empty: no automatic snapshots). */
  save: SaveRule[];
  appendonly: boolean;
  appendfsync: "always" | "everysec" | "no";
  appendfilename: string;
  appenddirname: string;
  aofUseRdbPreamble: boolean;
  aofLoadTruncated: boolean;
  aofTimestampEnabled: boolean;
  autoAofRewritePercentage: number;
  autoAofRewriteMinSize: number;
  /** Bytes of a file loaded at start-up between two turns that serve clients. */
  loadingProcessEventsIntervalBytes: number;
  noAppendfsyncOnRewrite: boolean;
  rdbcompression: boolean;
  rdbchecksum: boolean;
  rdbDelSyncFiles: boolean;
  stopWritesOnBgsaveError: boolean;

  // Memory and encodings.
  maxmemory: number;
  maxmemoryPolicy: string;
  maxmemorySamples: number;
  hashMaxListpackEntries: number;
  hashMaxListpackValue: number;
  zsetMaxListpackEntries: number;
  zsetMaxListpackValue: number;
  setMaxIntsetEntries: number;
  listMaxListpackSize: number;
  listCompressDepth: number;
  streamNodeMaxBytes: number;
  streamNodeMaxEntries: number;
  hllSparseMaxBytes: number;
  activerehashing: boolean;
  activeExpireEffort: number;
  lazyfreeLazyUserDel: boolean;
  lazyfreeLazyUserFlush: boolean;

  // Misc.
  pidfile: string;
  protectedMode: boolean;
  tcpKeepalive: number;
  latencyTracking: boolean;
  latencyMonitorThreshold: number;
  busyReplyThreshold: number;
  trackingTableMaxKeys: number;
  acllogMaxLen: number;
  /** `no`, `yes` or `local`. */
  enableDebugCommand: string;
  /** `default`, or the flags given (`save now`...). */
  shutdownOnSigint: string;
  shutdownOnSigterm: string;
  shutdownTimeout: number;
}

/** Redis 7.0 defaults for the settings above (with this server's own dir, bind and save). */
export function defaultServerConfig(): ServerConfig {
  return {
    bind: ["127.0.0.1"],
    port: 6379,
    dir: "./data",
    dbfilename: "dump.rdb",
    databases: 16,
    maxclients: 10000,
    timeout: 0,
    hz: 10,
    requirepass: "",
    protoMaxBulkLen: 512 * 1024 * 1024,
    clientQueryBufferLimit: 1024 * 1024 * 1024,
    clientOutputBufferLimit: {
      normal: { hard: 0, soft: 0, softSeconds: 0 },
      replica: { hard: 256 * 1024 * 1024, soft: 64 * 1024 * 1024, softSeconds: 60 },
      pubsub: { hard: 32 * 1024 * 1024, soft: 8 * 1024 * 1024, softSeconds: 60 },
    },
    loglevel: "notice",
    logfile: "",
    slowlogLogSlowerThan: 10000,
    slowlogMaxLen: 128,
    latencyTrackingPercentiles: [50, 99, 99.9],
    notifyKeyspaceEvents: "",
    notifyKeyspaceEventsFlags: 0,
    configFile: "",

    save: [{ seconds: 900, changes: 1 }, { seconds: 300, changes: 10 }, {
      seconds: 60,
      changes: 10000,
    }],
    appendonly: false,
    appendfsync: "everysec",
    appendfilename: "appendonly.aof",
    appenddirname: "appendonlydir",
    aofUseRdbPreamble: true,
    aofLoadTruncated: true,
    aofTimestampEnabled: false,
    autoAofRewritePercentage: 100,
    autoAofRewriteMinSize: 64 * 1024 * 1024,
    loadingProcessEventsIntervalBytes: 2 * 1024 * 1024,
    noAppendfsyncOnRewrite: false,
    rdbcompression: true,
    rdbchecksum: true,
    rdbDelSyncFiles: false,
    stopWritesOnBgsaveError: true,

    maxmemory: 0,
    maxmemoryPolicy: "noeviction",
    maxmemorySamples: 5,
    hashMaxListpackEntries: 512,
    hashMaxListpackValue: 64,
    zsetMaxListpackEntries: 128,
    zsetMaxListpackValue: 64,
    setMaxIntsetEntries: 512,
    listMaxListpackSize: -2,
    listCompressDepth: 0,
    streamNodeMaxBytes: 4096,
    streamNodeMaxEntries: 100,
    hllSparseMaxBytes: 3000,
    activerehashing: true,
    activeExpireEffort: 1,
    lazyfreeLazyUserDel: false,
    lazyfreeLazyUserFlush: false,

    pidfile: "",
    protectedMode: true,
    tcpKeepalive: 300,
    latencyTracking: true,
    latencyMonitorThreshold: 0,
    busyReplyThreshold: 5000,
    trackingTableMaxKeys: 1000000,
    acllogMaxLen: 128,
    enableDebugCommand: "no",
    shutdownOnSigint: "default",
    shutdownOnSigterm: "default",
    shutdownTimeout: 10,
  };
}
