/**
 * Sends raw bytes on a fresh connection and records what a server does with
 * them: the reply bytes and whether it closed the connection. Used to run the
 * same malformed inputs against this server and a real redis-server.
 *
 * @module
 */

import { RawClient } from "./raw_client.ts";

/** What a server did with one input. */
export interface ProbeResult {
  /** Reply bytes as latin1. */
  reply: string;
  /** True if the server closed the connection. */
  closed: boolean;
}

/**
 * Connects to `port`, sends `data`, and reads until the server closes or is
 * silent for `idleMs`. Send errors are ignored: a server may close (and reset)
 * the connection before all of `data` went out, which is part of what is probed.
 */
export async function probe(
  port: number,
  data: string | Uint8Array,
  idleMs = 200,
): Promise<ProbeResult> {
  const c = await RawClient.connect(port);
  try {
    try {
      await c.send(data);
    } catch { /* closed while sending */ }
    const reply = await c.read(Infinity, idleMs);
    return { reply, closed: await c.closedByServer(0) };
  } finally {
    await c.close();
  }
}

/** True if a new client on `port` gets +PONG back within `ms`. */
export async function answersPing(port: number, ms = 5000): Promise<boolean> {
  const c = await RawClient.connect(port);
  try {
    await c.send("PING\r\n");
    return (await c.read(7, ms)) === "+PONG\r\n";
  } finally {
    await c.close();
  }
}

/** Resolves like `p`, or rejects with `what` if `p` takes longer than `ms` (so a hang fails, not stalls, a test). */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
