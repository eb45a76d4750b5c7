/**
 * A raw TCP client for exact-byte tests: send bytes, read what comes back.
 *
 * A background pump reads everything the server sends into one buffer, so
 * `read` can wait for "n bytes or nothing more for a while" without racing
 * socket reads.
 *
 * @module
 */

/** A raw connection to a server under test. */
export class RawClient {
  private conn: Deno.TcpConn;
  private buf = new Uint8Array(0);
  private closed = false;
  private wake: (() => void) | null = null;
  private pump: Promise<void>;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    this.pump = this.run();
  }

  /** Connects to 127.0.0.1:`port`. */
  static async connect(port: number): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  private async run(): Promise<void> {
    const chunk = new Uint8Array(65536);
    try {
      while (true) {
        const n = await this.conn.read(chunk);
        if (n === null) break;
        const next = new Uint8Array(this.buf.length + n);
        next.set(this.buf);
        next.set(chunk.subarray(0, n), this.buf.length);
        this.buf = next;
        this.wake?.();
      }
    } catch {
      // Reset by peer or closed locally: both mean closed.
    }
    this.closed = true;
    this.wake?.();
  }

  /** Sends bytes (a string is sent as latin1). */
  async send(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? Uint8Array.from(data, (c) => c.charCodeAt(0)) : data;
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  /**
   * Waits until at least `n` bytes arrived, the server closed, or nothing
   * new came for `idleMs`; returns (and consumes) up to `n` bytes as latin1.
   */
  async read(n = Infinity, idleMs = 300): Promise<string> {
    while (this.buf.length < n && !this.closed) {
      const before = this.buf.length;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, idleMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
      if (this.buf.length === before && !this.closed) break;
    }
    const take = Math.min(n, this.buf.length);
    const out = this.buf.subarray(0, take);
    this.buf = this.buf.slice(take);
    let s = "";
    for (const b of out) s += String.fromCharCode(b);
    return s;
  }

  /** Sends `data` and reads the reply (until `n` bytes arrived or idle). */
  async roundTrip(data: string | Uint8Array, n = Infinity, idleMs = 300): Promise<string> {
    await this.send(data);
    return await this.read(n, idleMs);
  }

  /** True once the server has closed the connection (waits up to `ms`). */
  async closedByServer(ms = 1000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.closed && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.closed;
  }

  /** Closes the connection and waits for the pump to stop. */
  async close(): Promise<void> {
    try {
      this.conn.close();
    } catch { /* already closed */ }
    await this.pump;
  }
}
