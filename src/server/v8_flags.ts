/**
 * The V8 flags the server runs with (`deno task start`, the benchmarks and
 * the tests pass them as `--v8-flags=`; deno.json repeats them, and
 * `tests/readme_test.ts` checks that it does).
 *
 * `--max-semi-space-size=4` (MiB, V8's default is 16): a scavenge pauses
 * the whole server for as long as it takes to copy the young objects that
 * survive it. After a burst of writes nearly all of them survive (new keys
 * and values), so a 16 MiB young generation meant pauses of 10–16 ms, the
 * worst stall clients saw during BGSAVE over 1M keys; with 4 MiB they stay
 * under about 6 ms. Throughput with `redis-benchmark` (SET/GET, -P 1 and
 * -P 16) and the pub/sub benchmark showed no measurable change.
 *
 * @module
 */

/** Flags for `deno run --v8-flags=...`. */
export const SERVER_V8_FLAGS: readonly string[] = ["--max-semi-space-size=4"];

/** The `--v8-flags=` argument of `deno run`. */
export const V8_FLAGS_ARG = `--v8-flags=${SERVER_V8_FLAGS.join(",")}`;
