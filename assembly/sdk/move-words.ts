// Moving the few tens of bytes of a record in whole words, for in-place layout migrations.
/**
 * Moves `n` bytes (the regions may overlap) in 8-byte words, rounding `n` up to a whole word: the
 * caller guarantees the bytes up to the rounded end are its own to overwrite (slack in the same
 * block) and to read. For the few tens of bytes of one entry this beats `memory.copy`, which V8
 * runs as a call out of the Wasm code; long runs still go to `memory.copy`.
 */
// @ts-ignore: decorator
@inline export function moveWords(dst: usize, src: usize, n: usize): void {
  if (n > 64) {
    memory.copy(dst, src, n);
  } else if (dst > src) {
    // Backwards, so an overlapping source is read before it is overwritten.
    for (let i = (n + 7) & ~<usize>7; i > 0; i -= 8) store<u64>(dst + i - 8, load<u64>(src + i - 8));
  } else {
    for (let i: usize = 0; i < n; i += 8) store<u64>(dst + i, load<u64>(src + i));
  }
}
