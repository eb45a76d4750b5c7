/**
 * The dispatcher: looks a request up in the command table, applies the
 * checks Redis applies before running a command (in Redis' order: unknown
 * command, arity, authentication, MISCONF after a failed background save,
 * loading, subscribed context), runs the handler, and keeps per-command
 * stats, the slow log and MONITOR feeds.
 *
 * @module
 */

import { asciiLower, latin1 } from "../protocol/latin1.ts";
import type { Client } from "../server/client.ts";
import type { Server } from "../server/server.ts";
import type { Command } from "./table.ts";
import { reprBytes } from "./util.ts";

/** Commands a RESP2 client may run while subscribed. */
const SUBSCRIBED_CONTEXT = new Set([
  "ping",
  "subscribe",
  "ssubscribe",
  "unsubscribe",
  "sunsubscribe",
  "psubscribe",
  "punsubscribe",
  "quit",
  "reset",
]);

/** An argument as C's `%s` prints it: up to its first NUL byte. */
function cString(arg: Uint8Array): string {
  const nul = arg.indexOf(0);
  return latin1(nul < 0 ? arg : arg.subarray(0, nul));
}

/** Formats the argument list of an unknown-command error, as Redis does. */
function argsPreview(args: Uint8Array[]): string {
  let s = "";
  for (let i = 1; i < args.length && s.length < 128; i++) {
    s += `'${cString(args[i]).slice(0, 128 - s.length)}' `;
  }
  return s;
}

/** Routes requests to command handlers. */
export class Dispatcher {
  private server: Server;
  /** Per-command timing with the precise clock (see `beginBatch`). */
  private precise = true;
  private batchStart = 0;
  private lastMs = 0;
  private batch: Command[] = [];
  private slowCandidates: {
    client: Client;
    cmd: Command;
    args: Uint8Array[];
    usec: number;
  }[] = [];
  private lastName = new Uint8Array(0);
  private lastCmd: Command | undefined = undefined;
  /** Command lookups by the exact spelling received (`GET`, `get`, `Get`). */
  private byRawName = new Map<string, Command>();

  constructor(server: Server) {
    this.server = server;
  }

  /** Finds the command (or subcommand) a request names, if any. */
  lookup(args: Uint8Array[]): Command | undefined {
    const cmd = this.server.commands.get(asciiLower(latin1(args[0])));
    if (cmd === undefined || cmd.subcommands === null || args.length < 2) {
      return cmd;
    }
    return cmd.subcommands.get(asciiLower(latin1(args[1])));
  }

  /**
   * The command last looked up, if `name` spells it the same way: pipelines
   * repeat one command, and comparing a few bytes beats decoding the name.
   */
  private lastCommand(name: Uint8Array): Command | undefined {
    const last = this.lastName;
    if (name.length !== last.length) return undefined;
    for (let i = 0; i < name.length; i++) if (name[i] !== last[i]) return undefined;
    return this.lastCmd;
  }

  /** Runs one request for `client`; the reply goes to `client.out`. */
  dispatch(client: Client, args: Uint8Array[]): void {
    const server = this.server;
    const out = client.out;
    let cmd = this.lastCommand(args[0]);
    if (cmd === undefined) {
      const rawName = latin1(args[0]);
      cmd = this.byRawName.get(rawName);
      if (cmd === undefined) {
        cmd = server.commands.get(asciiLower(rawName));
        // Remember found spellings only, and only so many, so that random
        // garbage cannot grow the cache.
        if (cmd !== undefined && this.byRawName.size < 4096) this.byRawName.set(rawName, cmd);
      }
      if (cmd !== undefined) {
        this.lastName = args[0].slice();
        this.lastCmd = cmd;
      }
    }
    if (cmd === undefined) {
      return this.reject(
        client,
        null,
        `ERR unknown command '${cString(args[0]).slice(0, 128)}', with args beginning with: ${
          argsPreview(args)
        }`,
      );
    }
    if (cmd.subcommands !== null && args.length >= 2) {
      const sub = cmd.subcommands.get(asciiLower(latin1(args[1])));
      if (sub === undefined) {
        return this.reject(
          client,
          null,
          `ERR unknown subcommand '${
            cString(args[1]).slice(0, 128)
          }'. Try ${cmd.spec.name.toUpperCase()} HELP.`,
        );
      }
      cmd = sub;
    }
    const arity = cmd.spec.arity;
    if ((arity > 0 && args.length !== arity) || args.length < -arity) {
      return this.reject(
        client,
        cmd,
        `ERR wrong number of arguments for '${cmd.fullName}' command`,
      );
    }
    if (!client.authenticated && !cmd.noAuth) {
      return this.reject(client, cmd, "NOAUTH Authentication required.");
    }
    // A failing disk (RDB or AOF): Redis refuses PING as well as writes.
    const denied = server.persistence.writesDenied();
    if (denied !== null && (cmd.isWrite || (cmd.parent ?? cmd).spec.name === "ping")) {
      return this.reject(client, cmd, denied);
    }
    if (server.loading && !cmd.allowedWhileLoading) {
      return this.reject(client, cmd, "LOADING Redis is loading the dataset in memory");
    }
    const top = cmd.parent ?? cmd;
    if (client.inPubSubContext && !SUBSCRIBED_CONTEXT.has(top.spec.name)) {
      return this.reject(
        client,
        cmd,
        `ERR Can't execute '${cmd.fullName}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`,
      );
    }

    const before = out.len;
    const modeBefore = client.replyMode;
    const errorsBefore = server.stats.errorReplies;
    const precise = this.precise;
    const start = precise ? performance.now() : 0;
    client.keptPushes = modeBefore === "on" ? null : [];
    const dirtyBefore = server.keyspace.dirty;
    cmd.spec.handler!(client, args);
    // AOF: a write command that changed the dataset is logged (one check when AOF is off).
    if (server.persistence.aofWriter !== null && cmd.isWrite) {
      server.persistence.afterWrite(client, args, dirtyBefore);
    }
    if (precise) {
      this.account(client, cmd, args, Math.round((performance.now() - start) * 1000));
    } else {
      // One cheap clock read per command not flagged fast: its start is taken
      // as the previous read (fast, O(1) commands skip the clock). endBatch
      // drops candidates when the whole batch was quicker than the threshold.
      this.batch.push(cmd);
      if (!cmd.fast) {
        const nowMs = Date.now();
        const ms = nowMs - this.lastMs;
        this.lastMs = nowMs;
        if (ms > 0) this.slowCandidates.push({ client, cmd, args, usec: ms * 1000 });
      }
    }
    // ">" as in Redis: CONFIG RESETSTAT zeroes the counter and is not a failure.
    if (server.stats.errorReplies > errorsBefore) cmd.failedCalls++;
    cmd.calls++;
    server.stats.totalCommands++;
    client.commandsProcessed++;
    client.lastCommand = cmd;

    // CLIENT REPLY: OFF drops replies until ON; SKIP drops the next one.
    if (client.replyMode !== "on") {
      out.truncate(before);
      if (client.replyMode === "skip-next") client.replyMode = "skip";
      else if (modeBefore === "skip" && client.replyMode === "skip") {
        client.replyMode = "on";
      }
    }
    if (client.keptPushes !== null) {
      for (const frame of client.keptPushes) out.raw(frame);
      client.keptPushes = null;
    }
    // Redis checks the flags of the command run (a subcommand's own, e.g. admin CONFIG SET).
    if (server.monitors.size > 0 && !cmd.skipMonitor) this.feedMonitors(client, args);
  }

  /**
   * Starts timing a batch of commands (all those parsed from one read).
   *
   * Reading a precise clock costs an op call in Deno, a measurable share of
   * a pipelined GET. So unless the slow log wants sub-millisecond precision,
   * a batch is timed as a whole and its time shared among its commands;
   * `Date.now()` (cheap) around each command that is not flagged fast still
   * catches slow ones.
   */
  beginBatch(): void {
    const threshold = this.server.config.slowlogLogSlowerThan;
    this.precise = threshold >= 0 && threshold < 1000;
    if (!this.precise) {
      this.batchStart = performance.now();
      this.lastMs = Date.now();
    }
  }

  /** Ends the batch started by `beginBatch`, attributing its time. */
  endBatch(): void {
    if (this.precise) return;
    const n = this.batch.length;
    if (n === 0 && this.slowCandidates.length === 0) return;
    const elapsedUs = (performance.now() - this.batchStart) * 1000;
    const share = n > 0 ? elapsedUs / n : 0;
    for (let i = 0; i < n; i++) this.batch[i].usec += share;
    for (const c of this.slowCandidates) {
      // A lone command is timed exactly by the batch clock; no command took
      // longer than its whole batch.
      const usec = n === 1 ? Math.round(elapsedUs) : Math.min(c.usec, Math.round(elapsedUs));
      this.logIfSlow(c.client, c.cmd, c.args, usec);
    }
    this.batch.length = 0;
    this.slowCandidates.length = 0;
  }

  /** Adds a precisely timed call to the stats and the slow log. */
  private account(client: Client, cmd: Command, args: Uint8Array[], usec: number): void {
    cmd.usec += usec;
    this.logIfSlow(client, cmd, args, usec);
  }

  private logIfSlow(client: Client, cmd: Command, args: Uint8Array[], usec: number): void {
    const server = this.server;
    const threshold = server.config.slowlogLogSlowerThan;
    if (threshold < 0 || usec < threshold || (cmd.parent ?? cmd).skipSlowlog) return;
    server.slowlog.add(args, usec, client.addr, client.name, server.config.slowlogMaxLen);
  }

  private reject(client: Client, cmd: Command | null, message: string): void {
    if (cmd !== null) cmd.rejectedCalls++;
    if (client.replyMode === "on") return client.out.error(message);
    // CLIENT REPLY OFF/SKIP silences rejections too (still counted in errorstats).
    const before = client.out.len;
    client.out.error(message);
    client.out.truncate(before);
    if (client.replyMode === "skip") client.replyMode = "on";
  }

  /** Sends a MONITOR line for a command to every monitoring client. */
  private feedMonitors(client: Client, args: Uint8Array[]): void {
    // Microseconds, as Redis' gettimeofday-based line shows.
    const now = (performance.timeOrigin + performance.now()) / 1000;
    const where = `[${client.db.id} ${client.addr}]`;
    const line = `${now.toFixed(6)} ${where} ${args.map(reprBytes).join(" ")}`;
    for (const m of this.server.monitors) {
      // A monitor sees its own commands too, as in Redis.
      if (m.closed) continue;
      m.out.simple(line);
      this.server.scheduleFlush(m);
    }
  }
}
