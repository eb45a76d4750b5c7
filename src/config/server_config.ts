/**
 * The typed settings the running server reads on its hot paths.
 *
 * The config registry (parameter table, redis.conf parsing, CONFIG GET/SET)
 * owns the string forms; it writes parsed values here, so the server reads a
 * plain field instead of looking a name up per request.
 *
 * @module
 */

/** `client-output-buffer-limit` for one client class. */
export interface OutputBufferLimit {
  hard: number;
  soft: number;
  softSeconds: number;
}

/** Settings with an effect on this server. */
export interface ServerConfig {
  bind: string[];
  port: number;
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
  logfile: string;
  slowlogLogSlowerThan: number;
  slowlogMaxLen: number;
  latencyTrackingPercentiles: number[];
  notifyKeyspaceEvents: string;
  /** Path of the config file given at start-up ("" when none). */
  configFile: string;
}

/** Redis 7.0 defaults for the settings above. */
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
    configFile: "",
  };
}
