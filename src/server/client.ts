/**
 * One client connection: its buffers, its state, and its read/write loops.
 *
 * Reads go straight into the request parser's buffer; every command parsed
 * from one read is executed and its reply appended to `out`; then the batch
 * is flushed with one socket write. Writes never block the reader or other
 * clients: while a write is in flight, replies (and published messages) keep
 * accumulating in `out`, which the output-buffer limits bound.
 *
 * @module
 */

import { ProtocolError, RequestParser } from "../protocol/request_parser.ts";
import { ReplyWriter } from "../protocol/reply_writer.ts";
import type { Database } from "../keyspace/database.ts";
import type { Server } from "./server.ts";
import type { Command } from "../commands/table.ts";

/**
 * What CLIENT REPLY set. `skip-next` is transient: CLIENT REPLY SKIP sets it
 * and the dispatcher turns it into `skip` (drop the next reply) once that
 * command is done, so a SKIP that is itself skipped still takes effect.
 */
export type ReplyMode = "on" | "off" | "skip" | "skip-next";

/** Client class for output-buffer limits and CLIENT KILL TYPE. */
export type ClientClass = "normal" | "pubsub" | "replica" | "master";

/** True for the errors a socket raises when the peer goes away. */
function isSocketError(err: unknown): boolean {
  return err instanceof Deno.errors.ConnectionReset ||
    err instanceof Deno.errors.BrokenPipe ||
    err instanceof Deno.errors.ConnectionAborted ||
    err instanceof Deno.errors.NotConnected ||
    err instanceof Deno.errors.Interrupted ||
    err instanceof Deno.errors.TimedOut;
}

/** A connected client. */
export class Client {
  readonly id: number;
  readonly server: Server;
  readonly conn: Deno.Conn;
  readonly addr: string;
  readonly laddr: string;
  readonly parser = new RequestParser();
  out = new ReplyWriter();
  db: Database;
  name = "";
  libName = "";
  libVer = "";
  authenticated: boolean;
  user = "default";
  readonly createdAt = Date.now();
  lastInteraction = Date.now();
  /** When output was last handed to the socket (buffer trimming). */
  lastFlush = Date.now();
  lastCommand: Command | null = null;
  replyMode: ReplyMode = "on";
  /**
   * Pub/sub frames (confirmations, messages to itself) produced by this
   * client's own command while CLIENT REPLY OFF/SKIP silences it: Redis 7.0
   * sends those anyway. Non-null only while such a command runs (the
   * dispatcher sets it and appends it after silencing the reply).
   */
  keptPushes: Uint8Array[] | null = null;
  noEvict = false;
  /** MONITOR mode: receives a line per command run by others. */
  monitor = false;
  /** Channels, patterns and shard channels (filled by the pub/sub broker). */
  readonly channels = new Set<string>();
  readonly patterns = new Set<string>();
  readonly shardChannels = new Set<string>();
  /** Set by QUIT or a protocol error: close once the replies are written. */
  closeAfterReply = false;
  closed = false;
  /** Why the client is being closed, for the log. */
  closeReason = "";
  /** Total bytes handed to the socket and still in flight. */
  private inFlight = 0;
  private writing = false;
  private spare: Uint8Array | null = null;
  private drainWaiters: (() => void)[] = [];
  /** When this client first went over its soft output limit (0: not over). */
  softLimitSince = 0;
  /** Running count of commands executed (CLIENT LIST `tot-cmds` is 7.2; kept for stats). */
  commandsProcessed = 0;

  constructor(server: Server, conn: Deno.Conn, id: number) {
    this.server = server;
    this.conn = conn;
    this.id = id;
    this.db = server.keyspace.dbs[0];
    this.authenticated = server.config.requirepass === "";
    const ra = conn.remoteAddr as Deno.NetAddr;
    const la = conn.localAddr as Deno.NetAddr;
    this.addr = `${ra.hostname}:${ra.port}`;
    this.laddr = `${la.hostname}:${la.port}`;
    this.out.onError = (msg) => server.countError(msg);
  }

  /** Subscriptions counted in replies: channels plus patterns. */
  get subscriptionCount(): number {
    return this.channels.size + this.patterns.size;
  }

  /** True while a RESP2 client is in the subscribed state. */
  get inPubSubContext(): boolean {
    return this.out.resp === 2 &&
      (this.subscriptionCount > 0 || this.shardChannels.size > 0);
  }

  /** The class whose output-buffer limit applies. */
  get clientClass(): "normal" | "pubsub" {
    return this.subscriptionCount > 0 || this.shardChannels.size > 0 ? "pubsub" : "normal";
  }

  /** Bytes of replies not yet written to the socket. */
  get pendingOutput(): number {
    return this.out.len + this.inFlight;
  }

  /** Reads and serves requests until the peer goes away or the client is closed. */
  async run(): Promise<void> {
    const server = this.server;
    try {
      while (!this.closed) {
        const target = this.parser.readTarget();
        const n = await this.conn.read(target);
        if (n === null || this.closed) break;
        this.parser.commit(n);
        server.stats.netInputBytes += n;
        this.lastInteraction = Date.now();
        this.processInput();
        if (this.closed) break;
        if (this.parser.pendingBytes > server.config.clientQueryBufferLimit) {
          server.stats.clientQueryBufferLimitDisconnections++;
          server.log.warn(
            `Closing client that reached max query buffer length: id=${this.id} addr=${this.addr} (qbuf ${this.parser.pendingBytes})`,
          );
          break;
        }
        // The AOF gets this batch's writes before any reply leaves: the
        // replies wait for the turn's AOF write (and fsync under always).
        const held = server.persistence.holdReplies();
        if (held !== null) {
          await held;
          if (this.closed) break;
        }
        if (this.out.len > 0) {
          if (this.overOutputLimit()) break;
          this.flush();
        }
        if (this.closeAfterReply) {
          await this.drained();
          break;
        }
      }
    } catch (err) {
      if (this.closed || err instanceof Deno.errors.BadResource) {
        // Closed while a read was pending: nothing to report.
      } else if (isSocketError(err)) {
        server.log.debug(`Client ${this.addr} read error: ${err}`);
      } else {
        // A bug in a command: drop this client, keep serving the others, and say so.
        const what = this.lastCommand?.fullName ?? "?";
        server.log.warn(
          `Closing client ${this.addr} after an internal error (last command '${what}'): ${
            err instanceof Error ? err.stack : err
          }`,
        );
      }
    } finally {
      this.close();
    }
  }

  /** Executes every whole command in the query buffer. */
  processInput(): void {
    const server = this.server;
    const limits = {
      maxBulkLen: server.config.protoMaxBulkLen,
      unauthenticated: !this.authenticated,
    };
    const dispatcher = server.dispatcher;
    dispatcher.beginBatch();
    try {
      this.processCommands(limits);
    } finally {
      dispatcher.endBatch();
    }
  }

  private processCommands(limits: { maxBulkLen: number; unauthenticated: boolean }): void {
    const server = this.server;
    while (!this.closeAfterReply && !this.closed) {
      let args: Uint8Array[] | null;
      try {
        limits.unauthenticated = !this.authenticated;
        args = this.parser.next(limits);
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        this.out.error("ERR " + err.message);
        this.closeAfterReply = true;
        server.log.debug(`Protocol error from client ${this.addr}: ${err.message}`);
        break;
      }
      if (args === null) break;
      if (args.length === 0) continue;
      server.dispatcher.dispatch(this, args);
      if (server.paused) break;
    }
  }

  /**
   * Writes out everything in `out`. Safe to call at any time: while a write
   * is in flight it returns at once, and the running loop picks up the rest.
   */
  flush(): void {
    if (this.writing || this.closed || this.out.len === 0) return;
    this.lastFlush = Date.now();
    this.writing = true;
    this.writeLoop();
  }

  private async writeLoop(): Promise<void> {
    try {
      while (this.out.len > 0 && !this.closed) {
        const data = this.out.buf;
        const len = this.out.len;
        // Double-buffer: replies produced while this write is in flight go
        // to the spare buffer.
        const spare = this.spare;
        this.spare = null;
        this.out.buf = spare ?? new Uint8Array(Math.min(data.length, 16 * 1024));
        this.out.len = 0;
        this.inFlight = len;
        let off = 0;
        while (off < len) {
          const n = await this.conn.write(data.subarray(off, len));
          off += n;
          this.inFlight = len - off;
          this.server.stats.netOutputBytes += n;
        }
        // Keep modest buffers for reuse; let big ones go.
        if (data.length <= 1024 * 1024) this.spare = data;
      }
    } catch {
      this.close();
    } finally {
      this.inFlight = 0;
      this.writing = false;
      if (this.out.len === 0 || this.closed) {
        const waiters = this.drainWaiters;
        this.drainWaiters = [];
        for (const w of waiters) w();
      }
    }
  }

  /**
   * Gives back buffer memory a client no longer needs once it has been idle
   * for a while (as Redis resizes idle clients' buffers in its cron): an idle
   * subscriber then costs little more than its socket.
   */
  trimBuffers(): void {
    if (this.writing || this.out.len > 0) return;
    this.spare = null;
    if (this.out.buf.length > 1024) this.out.buf = new Uint8Array(1024);
  }

  /**
   * Applies `client-output-buffer-limit` for this client's class: over the
   * hard limit, or over the soft limit for longer than its period, the client
   * is closed at once (as Redis does, it is logged and counted). Returns true
   * when the client was closed.
   */
  overOutputLimit(now = Date.now()): boolean {
    const server = this.server;
    const limit = server.config.clientOutputBufferLimit[this.clientClass];
    const used = this.pendingOutput;
    let over = limit.hard > 0 && used >= limit.hard;
    if (!over && limit.soft > 0 && used >= limit.soft) {
      if (this.softLimitSince === 0) this.softLimitSince = now;
      else over = now - this.softLimitSince > limit.softSeconds * 1000; // strictly longer, as Redis
    } else if (!over) this.softLimitSince = 0;
    if (!over) return false;
    server.stats.clientOutputBufferLimitDisconnections++;
    server.log.warn(
      `Client id=${this.id} addr=${this.addr} name=${this.name} scheduled to be closed ASAP for overcoming of output buffer limits.`,
    );
    this.close("output buffer limit");
    return true;
  }

  /** Resolves once every pending reply has been written (or the client closed). */
  drained(): Promise<void> {
    if ((!this.writing && this.out.len === 0) || this.closed) {
      return Promise.resolve();
    }
    this.flush();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Closes the connection and releases everything the client held. */
  close(reason = ""): void {
    if (this.closed) return;
    this.closed = true;
    if (reason) this.closeReason = reason;
    try {
      this.conn.close();
    } catch {
      // Already closed by the peer.
    }
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
    this.server.removeClient(this);
  }
}
