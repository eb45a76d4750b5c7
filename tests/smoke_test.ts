import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { withServer } from "./support/servers.ts";
import { RawClient } from "./support/raw_client.ts";

Deno.test("PING over a raw socket answers +PONG, inline and multibulk", async () => {
  await withServer([], async (srv) => {
    const c = await RawClient.connect(srv.port);
    try {
      assertEquals(await c.roundTrip("PING\r\n*1\r\n$4\r\nPING\r\n", 14), "+PONG\r\n+PONG\r\n");
    } finally {
      await c.close();
    }
  });
});
