/**
 * Cheap copies of small byte strings.
 *
 * In Deno every new `ArrayBuffer` costs about half a microsecond (its
 * backing store comes from the embedder's allocator), more than a whole GET.
 * Small values are therefore carved out of shared 8 KiB slabs: a copy costs
 * one `subarray` view. A slab is freed by the garbage collector once no value
 * in it is referenced any more; the price is that one surviving value keeps
 * its slab alive, so only values up to 128 bytes use slabs (bounding what a
 * survivor can pin) and larger ones get buffers of their own.
 *
 * Stored values are never written in place (see `Database`), so sharing a
 * slab between unrelated values is safe.
 *
 * @module
 */

const SLAB_SIZE = 8192;
/** Largest value carved out of a slab. */
export const SMALL_VALUE = 128;

let slab = new Uint8Array(SLAB_SIZE);
let used = 0;

/** A fresh, zeroed byte array of length `n` (slab-backed when small). */
export function allocBytes(n: number): Uint8Array {
  if (n > SMALL_VALUE) return new Uint8Array(n);
  if (used + n > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE);
    used = 0;
  }
  const view = slab.subarray(used, used + n);
  used += n;
  return view;
}

/** A copy of `src` that stays valid after `src`'s buffer is reused. */
export function copyBytes(src: Uint8Array): Uint8Array {
  if (src.length > SMALL_VALUE) return src.slice();
  const out = allocBytes(src.length);
  out.set(src);
  return out;
}
