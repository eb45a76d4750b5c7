import { deepStrictEqual, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import { bytesOf, latin1 } from "../src/protocol/latin1.ts";

Deno.test("latin1 decodes every byte to the char of the same code, at every length", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 3000 }), (bytes) => {
      const s = latin1(bytes);
      strictEqual(s.length, bytes.length);
      for (let i = 0; i < bytes.length; i++) strictEqual(s.charCodeAt(i), bytes[i]);
      deepStrictEqual(bytesOf(s), bytes);
    }),
    { numRuns: 300 },
  );
});

Deno.test("latin1 decodes a view without reading outside it", () => {
  const buf = Uint8Array.from({ length: 64 }, (_, i) => i);
  for (let start = 0; start < 40; start++) {
    for (const len of [0, 1, 3, 4, 5, 15, 16, 17, 20]) {
      const view = buf.subarray(start, start + len);
      strictEqual(latin1(view), String.fromCharCode(...view));
    }
  }
});
