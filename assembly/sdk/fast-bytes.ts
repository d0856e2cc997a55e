// The byte loops of a request's hot path (hash, compare, short copy), a word at a time where
// the result is the same as byte by byte: they were most of kv's time per request.
//
// The hash is FNV-1a, 32 bit, exactly as every earlier SDK computed it: entries store it and
// the table is probed by it, so a different function would be a new data layout. FNV-1a is a
// chain of one xor and one multiply per byte that cannot be split; what can go is everything
// around the chain (a load, a loop test and a fuel check per byte), by reading 4 bytes at once.

export const FNV_OFFSET: u32 = 0x811c9dc5;
export const FNV_PRIME: u32 = 0x01000193;

// @ts-ignore: decorator
@inline function fnv4(h: u32, w: u32): u32 {
  h = (h ^ (w & 0xff)) * FNV_PRIME;
  h = (h ^ ((w >> 8) & 0xff)) * FNV_PRIME;
  h = (h ^ ((w >> 16) & 0xff)) * FNV_PRIME;
  return (h ^ (w >> 24)) * FNV_PRIME;
}

/** FNV-1a, 32 bit, of `len` bytes at `ptr`. */
export function hashBytes(ptr: usize, len: usize): u32 {
  let h = FNV_OFFSET;
  let i: usize = 0;
  for (; i + 4 <= len; i += 4) h = fnv4(h, load<u32>(ptr + i));
  for (; i < len; i++) h = (h ^ <u32>load<u8>(ptr + i)) * FNV_PRIME;
  return h;
}

/**
 * One word of a line, found and hashed in the same pass: `scan(ptr, end)` reads from `ptr` up to
 * the first space or `end`, leaving its length in `len` and its FNV-1a hash (hashBytes) in
 * `hash`. The search costs nothing extra: it runs beside the hash's multiply chain.
 *
 * Unmanaged (numbers only, never collected): make one per instance and keep it, as kv does. A
 * managed one would be spilled to the shadow stack at each use, and the spills of kv's handler
 * then outgrew the 16 bytes the runtime clears with stores: it cleared its frame with a
 * `memory.fill`, which V8 runs as a call out of the Wasm code, once per message.
 */
@unmanaged
export class WordHash {
  len: usize = 0;
  hash: u32 = 0;

  scan(ptr: usize, end: usize): void {
    let h = FNV_OFFSET;
    let p = ptr;
    // Whole words while none of their 4 bytes is a space (the classic "has a zero byte" test on w ^ "    ").
    while (p + 4 <= end) {
      const w = load<u32>(p);
      const x = w ^ 0x20202020;
      if (((x - 0x01010101) & ~x & 0x80808080) != 0) break;
      h = fnv4(h, w);
      p += 4;
    }
    while (p < end) {
      const c = <u32>load<u8>(p);
      if (c == 32) break;
      h = (h ^ c) * FNV_PRIME;
      p++;
    }
    this.len = p - ptr;
    this.hash = h;
  }
}

/** True when the `n` bytes at `a` and at `b` are equal (memory.compare goes byte by byte when the two are not aligned alike). */
export function bytesEqual(a: usize, b: usize, n: usize): bool {
  let i: usize = 0;
  for (; i + 8 <= n; i += 8) if (load<u64>(a + i) != load<u64>(b + i)) return false;
  if (i + 4 <= n) {
    if (load<u32>(a + i) != load<u32>(b + i)) return false;
    i += 4;
  }
  for (; i < n; i++) if (load<u8>(a + i) != load<u8>(b + i)) return false;
  return true;
}

/**
 * Copies `n` bytes from `src` to `dst` (regions must not overlap), without writing past
 * `dst + n`. Short runs in words: V8 runs `memory.copy` as a call out of the Wasm code, which
 * costs more than the copy of a key or a value.
 */
export function copyBytes(dst: usize, src: usize, n: usize): void {
  if (n > 128) {
    memory.copy(dst, src, n);
    return;
  }
  let i: usize = 0;
  for (; i + 8 <= n; i += 8) store<u64>(dst + i, load<u64>(src + i));
  if (i + 4 <= n) {
    store<u32>(dst + i, load<u32>(src + i));
    i += 4;
  }
  for (; i < n; i++) store<u8>(dst + i, load<u8>(src + i));
}
