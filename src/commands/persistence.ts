/**
 * Persistence commands: SAVE, BGSAVE [SCHEDULE], BGREWRITEAOF and LASTSAVE, on top of the
 * server's `PersistenceManager`. Replies and errors are Redis 7.0's: a failed
 * SAVE replies a bare `-ERR` (the reason goes to the log), and BGSAVE while
 * one runs is an error even with SCHEDULE (SCHEDULE only waits for other
 * background work, such as an AOF rewrite).
 *
 * @module
 */

import type { CommandSpec } from "./types.ts";
import type { Client } from "../server/client.ts";
import { isWord } from "../protocol/latin1.ts";
import { Errors } from "./util.ts";

const IN_PROGRESS = "ERR Background save already in progress";

function save(client: Client): void {
  const p = client.server.persistence;
  if (p.bgsaveInProgress) return client.out.error(IN_PROGRESS);
  if (p.saveSync()) client.out.ok();
  else client.out.error("ERR");
}

function bgsave(client: Client, args: Uint8Array[]): void {
  const out = client.out;
  let schedule = false;
  if (args.length > 1) {
    if (args.length === 2 && isWord(args[1], "schedule")) schedule = true;
    else return out.error(Errors.syntax);
  }
  const p = client.server.persistence;
  if (p.bgsaveInProgress) return out.error(IN_PROGRESS);
  if (p.otherWorkActive()) {
    if (!schedule) {
      return out.error(
        "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
      );
    }
    p.bgsaveScheduled = true;
    return out.simple("Background saving scheduled");
  }
  p.startBgsave();
  out.simple("Background saving started");
}

const REWRITE_REPLIES = {
  started: "Background append only file rewriting started",
  scheduled: "Background append only file rewriting scheduled",
} as const;

function bgrewriteaof(client: Client): void {
  const r = client.server.persistence.requestRewrite();
  if (r === "in-progress") {
    return client.out.error("ERR Background append only file rewriting already in progress");
  }
  if (r === "failed") {
    return client.out.error(
      "ERR Can't execute an AOF background rewriting. Please check the server logs for more information.",
    );
  }
  client.out.simple(REWRITE_REPLIES[r]);
}

/** The persistence family. */
export const persistenceCommands: readonly CommandSpec[] = [
  {
    name: "save",
    arity: 1,
    flags: ["admin", "noscript", "no_async_loading", "no_multi"],
    group: "server",
    summary: "Synchronously save the dataset to disk",
    since: "1.0.0",
    complexity: "O(N) where N is the total number of keys in all databases",
    handler: save,
  },
  {
    name: "bgsave",
    arity: -1,
    flags: ["admin", "noscript", "no_async_loading"],
    group: "server",
    summary: "Asynchronously save the dataset to disk",
    since: "1.0.0",
    complexity: "O(1)",
    syntax: "[SCHEDULE]",
    handler: bgsave,
  },
  {
    name: "bgrewriteaof",
    arity: 1,
    flags: ["admin", "noscript", "no_async_loading"],
    group: "server",
    summary: "Asynchronously rewrite the append-only file",
    since: "1.0.0",
    complexity: "O(1)",
    handler: bgrewriteaof,
  },
  {
    name: "lastsave",
    arity: 1,
    flags: ["loading", "stale", "fast"],
    group: "server",
    summary: "Get the UNIX time stamp of the last successful save to disk",
    since: "1.0.0",
    complexity: "O(1)",
    categories: ["admin", "dangerous"],
    tips: ["nondeterministic_output"],
    handler: (c) => c.out.integer(c.server.lastSave),
  },
];
