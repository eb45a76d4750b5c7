/**
 * A test connection that frames replies: `reply()` returns exactly one whole
 * RESP reply (its raw bytes and its decoded value), however the bytes were
 * split by TCP. Unlike `RawClient.read`, nothing depends on idle timing, so
 * differential runs stay deterministic on a slow machine.
 *
 * @module
 */

import { decodeReply, encodeCommand, type RespValue } from "./resp.ts";

/** One reply as received. */
export interface Reply {
  raw: Uint8Array;
  value: RespValue;
}

/** Raised when no whole reply arrives in time, or the server closed the connection. */
export class NoReplyError extends Error {}

/** A RESP connection to 127.0.0.1 that reads replies one at a time. */
export class RespConnection {
  private conn: Deno.TcpConn;
  private buf = new Uint8Array(64 * 1024);
  private len = 0;
  private closed = false;
  private wake: (() => void) | null = null;
  private pump: Promise<void>;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    this.pump = this.run();
  }

  /** Connects to 127.0.0.1:`port`. */
  static async connect(port: number): Promise<RespConnection> {
    return new RespConnection(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** True once the server closed the connection. */
  get isClosed(): boolean {
    return this.closed;
  }

  private async run(): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await this.conn.read(chunk);
        if (n === null) break;
        if (this.len + n > this.buf.length) {
          const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
          next.set(this.buf.subarray(0, this.len));
          this.buf = next;
        }
        this.buf.set(chunk.subarray(0, n), this.len);
        this.len += n;
        this.wake?.();
      }
    } catch {
      // Reset by peer or closed locally: both end the stream.
    }
    this.closed = true;
    this.wake?.();
  }

  /** Sends raw bytes. */
  async send(data: Uint8Array): Promise<void> {
    let off = 0;
    while (off < data.length) off += await this.conn.write(data.subarray(off));
  }

  /** Waits for the next whole reply; throws `NoReplyError` after `timeoutMs` or on close. */
  async reply(timeoutMs = 5000): Promise<Reply> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const r = decodeReply(this.buf.subarray(0, this.len), 0);
      if (r !== null) {
        const raw = this.buf.slice(0, r.end);
        this.buf.copyWithin(0, r.end, this.len);
        this.len -= r.end;
        return { raw, value: r.value };
      }
      if (this.closed) throw new NoReplyError("connection closed by the server");
      const left = deadline - Date.now();
      if (left <= 0) throw new NoReplyError(`no whole reply within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  /** Sends one command (RESP multibulk) and returns its reply. */
  async call(args: readonly (string | Uint8Array)[], timeoutMs = 5000): Promise<Reply> {
    await this.send(encodeCommand(args));
    return await this.reply(timeoutMs);
  }

  /** Closes the connection and waits for the reader to stop. */
  async close(): Promise<void> {
    try {
      this.conn.close();
    } catch { /* already closed */ }
    await this.pump;
  }
}
