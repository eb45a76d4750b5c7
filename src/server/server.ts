/**
 * The server: listening socket, connected clients, the periodic cron, and the
 * state shared by all commands (keyspace, command table, stats).
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import { Keyspace } from "../keyspace/keyspace.ts";
import { accessClock } from "../keyspace/database.ts";
import { activeExpireCycle } from "../keyspace/active_expire.ts";
import type { ServerConfig } from "../config/server_config.ts";
import type { ConfigRegistry } from "../config/registry.ts";
import { buildCommandTable, type Command } from "../commands/table.ts";
import { Dispatcher } from "../commands/dispatcher.ts";
import { Client } from "./client.ts";
import { SlowLog } from "./slowlog.ts";
import { Broker } from "../pubsub/broker.ts";
import { PersistenceManager } from "../persistence/manager.ts";

/** Server-wide counters reported by INFO stats. */
export interface ServerStats {
  totalConnections: number;
  rejectedConnections: number;
  totalCommands: number;
  netInputBytes: number;
  netOutputBytes: number;
  errorReplies: number;
  /** Error replies by prefix (INFO errorstats). */
  errors: Map<string, number>;
  clientQueryBufferLimitDisconnections: number;
  clientOutputBufferLimitDisconnections: number;
  /** Samples for instantaneous_ops_per_sec: [time ms, total commands]. */
  opsSamples: [number, number][];
}

function newStats(): ServerStats {
  return {
    totalConnections: 0,
    rejectedConnections: 0,
    totalCommands: 0,
    netInputBytes: 0,
    netOutputBytes: 0,
    errorReplies: 0,
    errors: new Map(),
    clientQueryBufferLimitDisconnections: 0,
    clientOutputBufferLimitDisconnections: 0,
    opsSamples: [],
  };
}

/** Redis version we answer as (INFO, HELLO). */
export const REDIS_VERSION = "7.0.15";

/** The running server. */
export class Server {
  readonly config: ServerConfig;
  readonly configRegistry: ConfigRegistry;
  readonly log: Logger;
  readonly keyspace: Keyspace;
  readonly commands: Map<string, Command>;
  readonly dispatcher: Dispatcher;
  /** Pub/sub channels, patterns and shard channels (and keyspace notifications). */
  readonly pubsub: Broker;
  /** RDB saving and loading state (SAVE, BGSAVE, save points, INFO persistence). */
  readonly persistence: PersistenceManager;
  readonly clients = new Map<number, Client>();
  readonly monitors = new Set<Client>();
  readonly slowlog = new SlowLog();
  stats: ServerStats = newStats();
  readonly startTime = Date.now();
  readonly runId: string;
  /** True while the dataset is being loaded (LOADING replies). */
  loading = false;
  /** Set while commands must not run (reserved for CLIENT PAUSE). */
  paused = false;
  /** Unix time (s) of the last successful save (LASTSAVE, INFO); start time until one happens. */
  lastSave = Math.floor(Date.now() / 1000);
  /** DEBUG SET-ACTIVE-EXPIRE: when false, the cron leaves expired keys to lazy expiry. */
  activeExpireEnabled = true;
  private nextClientId = 1;
  private listeners: Deno.Listener[] = [];
  private cronTimer: ReturnType<typeof setInterval> | undefined;
  /** Set once shutdown began (a start-up load in progress then stops). */
  stopping = false;
  private stopped: Promise<void>;
  private resolveStopped!: () => void;
  /** Hooks run on shutdown before clients are closed (final save, later). */
  readonly shutdownHooks: ((save: boolean | null) => Promise<void>)[] = [];

  constructor(config: ServerConfig, registry: ConfigRegistry, log: Logger) {
    this.config = config;
    this.configRegistry = registry;
    this.log = log;
    this.keyspace = new Keyspace(config.databases);
    this.commands = buildCommandTable();
    this.dispatcher = new Dispatcher(this);
    this.pubsub = new Broker(this);
    this.persistence = new PersistenceManager(this);
    this.shutdownHooks.push((save) => this.persistence.onShutdown(save));
    const bytes = crypto.getRandomValues(new Uint8Array(20));
    this.runId = Array.from(bytes, (b) => b.toString(16).padStart(2, "0"))
      .join("");
    this.stopped = new Promise((r) => (this.resolveStopped = r));
  }

  /** Ports actually bound (differs from config when port 0 was asked). */
  get boundPorts(): number[] {
    return this.listeners.map((l) => (l.addr as Deno.NetAddr).port);
  }

  /** Binds every configured address and starts accepting clients. */
  listen(): void {
    this.rebind();
    this.restartCron();
  }

  /** The `bind` address each listener was opened for, with its port ("127.0.0.1 6379"). */
  private listenerKeys = new Map<Deno.Listener, string>();

  /**
   * Listens on every `bind` address at `port`, as Redis reads them: `*` is
   * every IPv4 address, `::*` every IPv6 one, and a `-` prefix marks an
   * address that may be unavailable. Listeners already open for an address
   * are kept (so CONFIG SET can change one address, or roll back, without
   * re-binding the others); new ones are opened before old ones are closed.
   * If a required address cannot be bound, nothing changes and this throws.
   * Used at start-up and after CONFIG SET port/bind; connected clients stay.
   */
  rebind(): void {
    const wanted: Deno.Listener[] = [];
    const opened: Deno.Listener[] = [];
    for (const addr of this.config.bind) {
      const optional = addr.startsWith("-");
      const raw = optional ? addr.slice(1) : addr;
      const hostname = raw === "*" ? "0.0.0.0" : raw === "::*" ? "::" : raw;
      const key = `${hostname} ${this.config.port}`;
      const existing = this.listeners.find((l) => this.listenerKeys.get(l) === key);
      if (existing) {
        wanted.push(existing);
        continue;
      }
      try {
        const l = Deno.listen({ hostname, port: this.config.port });
        this.listenerKeys.set(l, key);
        opened.push(l);
        wanted.push(l);
      } catch (err) {
        if (optional) continue;
        this.log.warn(
          `Warning: Could not create server TCP listening socket ${raw}:${this.config.port}: ${err}`,
        );
        for (const l of opened) this.closeListener(l);
        throw err;
      }
    }
    const old = this.listeners;
    this.listeners = wanted;
    for (const l of old) if (!wanted.includes(l)) this.closeListener(l);
    for (const l of opened) this.acceptLoop(l);
  }

  private closeListener(l: Deno.Listener): void {
    this.listenerKeys.delete(l);
    try {
      l.close();
    } catch { /* already closed */ }
  }

  /** (Re)starts the cron at the configured `hz` (CONFIG SET hz). */
  restartCron(): void {
    clearInterval(this.cronTimer);
    this.cronTimer = setInterval(() => this.cron(), 1000 / this.config.hz);
  }

  /** Resolves once the server has shut down. */
  finished(): Promise<void> {
    return this.stopped;
  }

  private async acceptLoop(listener: Deno.Listener): Promise<void> {
    try {
      for await (const conn of listener) this.accept(conn as Deno.TcpConn);
    } catch (err) {
      // Listeners closed by shutdown or rebind() end their loop quietly.
      if (!this.stopping && this.listeners.includes(listener)) {
        this.log.error(`Accept failed: ${err}`);
      }
    }
  }

  private accept(conn: Deno.TcpConn): void {
    try {
      conn.setNoDelay(true);
    } catch {
      // Not fatal: some platforms refuse it.
    }
    if (this.clients.size >= this.config.maxclients) {
      this.stats.rejectedConnections++;
      conn.write(new TextEncoder().encode("-ERR max number of clients reached\r\n"))
        .catch(() => {})
        .finally(() => {
          try {
            conn.close();
          } catch { /* gone */ }
        });
      return;
    }
    const client = new Client(this, conn, this.nextClientId++);
    this.clients.set(client.id, client);
    this.stats.totalConnections++;
    client.run();
  }

  private flushQueue = new Set<Client>();
  private flushScheduled = false;

  /**
   * Flushes `client` once at the end of the current turn, however many
   * messages were appended to it meanwhile (pub/sub fan-out, MONITOR). The
   * output-buffer limit is checked first, so a subscriber that stopped
   * reading is dropped instead of growing without bound.
   */
  scheduleFlush(client: Client): void {
    this.flushQueue.add(client);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      const queue = this.flushQueue;
      this.flushQueue = new Set();
      for (const c of queue) {
        if (!c.closed && !c.overOutputLimit()) c.flush();
      }
    });
  }

  /** Forgets a closed client. */
  removeClient(client: Client): void {
    this.clients.delete(client.id);
    this.monitors.delete(client);
    for (const hook of this.clientCloseHooks) hook(client);
  }

  /** Hooks run when a client goes away or is RESET (pub/sub clean-up). */
  readonly clientCloseHooks: ((client: Client) => void)[] = [];

  /** Returns a client to its state right after connecting (RESET). */
  resetClient(c: Client): void {
    c.db = this.keyspace.dbs[0];
    c.out.resp = 2;
    c.name = "";
    c.replyMode = "on";
    c.noEvict = false;
    c.monitor = false;
    this.monitors.delete(c);
    for (const hook of this.clientCloseHooks) hook(c);
    c.user = "default";
    c.authenticated = this.config.requirepass === "";
  }

  /** Runs `hz` times a second: expiry, timeouts, stats. */
  private cron(): void {
    const now = Date.now();
    accessClock.now = now;
    // While the dataset loads, neither expiry nor saving may act on half of it.
    const loading = this.loading;
    if (this.activeExpireEnabled && !loading) {
      activeExpireCycle(this.keyspace, 1000 / this.config.hz / 4);
    }
    if (this.config.timeout > 0) {
      const limit = this.config.timeout * 1000;
      for (const c of this.clients.values()) {
        if (c.clientClass === "pubsub" || c.monitor) continue;
        if (now - c.lastInteraction > limit) {
          this.log.debug(`Closing idle client ${c.addr}`);
          c.close("timeout");
        }
      }
    }
    // Soft output-buffer limits need time to pass, so they are checked here
    // as well as when output is produced.
    for (const c of this.clients.values()) {
      if (c.softLimitSince !== 0) c.overOutputLimit(now);
      // Clients quiet for 2 s in both directions give back their buffers.
      if (now - c.lastInteraction > 2000 && now - c.lastFlush > 2000) c.trimBuffers();
    }
    if (!loading) this.persistence.cron(now);
    const samples = this.stats.opsSamples;
    samples.push([now, this.stats.totalCommands]);
    if (samples.length > 16) samples.shift();
  }

  /** Counts an error reply by its code (INFO errorstats). */
  countError(msg: string): void {
    this.stats.errorReplies++;
    const sp = msg.indexOf(" ");
    const code = sp < 0 ? msg : msg.slice(0, sp);
    this.stats.errors.set(code, (this.stats.errors.get(code) ?? 0) + 1);
  }

  /** Commands per second over the last samples (instantaneous_ops_per_sec). */
  instantaneousOps(): number {
    const s = this.stats.opsSamples;
    if (s.length < 2) return 0;
    const [t0, c0] = s[0];
    const [t1, c1] = s[s.length - 1];
    return t1 > t0 ? Math.round(((c1 - c0) * 1000) / (t1 - t0)) : 0;
  }

  /** Stops accepting, runs shutdown hooks, closes every client. */
  async shutdown(save: boolean | null = null): Promise<void> {
    if (this.stopping) return this.stopped;
    this.stopping = true;
    this.log.warn("User requested shutdown...");
    clearInterval(this.cronTimer);
    for (const l of this.listeners) {
      try {
        l.close();
      } catch { /* already closed */ }
    }
    for (const hook of this.shutdownHooks) await hook(save);
    for (const c of [...this.clients.values()]) c.close("shutdown");
    this.log.warn("Redis is now ready to exit, bye bye...");
    this.resolveStopped();
  }
}
