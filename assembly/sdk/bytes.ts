// Zero-copy views over byte strings in linear memory (the inbox, or persistent entries), so a
// request can be parsed and answered without building transient strings on the hot path.

/** A (ptr, len) window onto bytes in linear memory. */
export class Bytes {
  constructor(public ptr: usize, public len: usize) {}

  static ofString(s: string): Bytes {
    const b = String.UTF8.encode(s);
    return new Bytes(changetype<usize>(b), <usize>b.byteLength);
  }

  at(i: usize): u8 { return load<u8>(this.ptr + i); }

  /** True when the bytes equal an ASCII literal. */
  equals(ascii: string): bool {
    if (<usize>ascii.length != this.len) return false;
    for (let i: usize = 0; i < this.len; i++) {
      if (<u32>load<u8>(this.ptr + i) != <u32>ascii.charCodeAt(<i32>i)) return false;
    }
    return true;
  }

  /** The bytes with trailing CR/LF and spaces removed. */
  trimEnd(): Bytes {
    let n = this.len;
    while (n > 0) {
      const c = load<u8>(this.ptr + n - 1);
      if (c != 10 && c != 13 && c != 32) break;
      n--;
    }
    return new Bytes(this.ptr, n);
  }

  /** Index of the first occurrence of `c`, or -1. */
  indexOf(c: u8, from: usize = 0): isize {
    for (let i = from; i < this.len; i++) if (load<u8>(this.ptr + i) == c) return <isize>i;
    return -1;
  }

  /** Splits at the first space: [head, rest]; rest is empty when there is no space. */
  splitWord(): StaticArray<Bytes> {
    const i = this.indexOf(32);
    const out = new StaticArray<Bytes>(2);
    if (i < 0) {
      out[0] = this;
      out[1] = new Bytes(this.ptr + this.len, 0);
    } else {
      out[0] = new Bytes(this.ptr, <usize>i);
      out[1] = new Bytes(this.ptr + <usize>i + 1, this.len - <usize>i - 1);
    }
    return out;
  }

  toString(): string { return String.UTF8.decodeUnsafe(this.ptr, this.len); }
}

/**
 * An allocation-free tokenizer over a line: `next()` moves to the next space-separated word and
 * exposes it as (ptr, len); `rest()` gives everything after the current word. For hot paths,
 * where building Bytes objects per request would cost GC allocations.
 */
export class Words {
  ptr: usize = 0;
  len: usize = 0;
  private end: usize = 0;

  /** Starts over a new line, ignoring trailing CR/LF and spaces. */
  reset(ptr: usize, len: usize): Words {
    let n = len;
    while (n > 0) {
      const c = load<u8>(ptr + n - 1);
      if (c != 10 && c != 13 && c != 32) break;
      n--;
    }
    this.ptr = ptr;
    this.len = 0;
    this.end = ptr + n;
    return this;
  }

  /** Advances to the next word; false when there is none. */
  next(): bool {
    let p = this.ptr + this.len;
    while (p < this.end && load<u8>(p) == 32) p++;
    let q = p;
    while (q < this.end && load<u8>(q) != 32) q++;
    this.ptr = p;
    this.len = q - p;
    return q > p;
  }

  /** The bytes after the current word and one separating space (may be empty). */
  restPtr(): usize { const p = this.ptr + this.len; return p < this.end ? p + 1 : this.end; }
  restLen(): usize { const p = this.restPtr(); return this.end - p; }

  /** True when the current word equals an ASCII literal. */
  is(ascii: string): bool {
    if (<usize>ascii.length != this.len) return false;
    for (let i: usize = 0; i < this.len; i++) {
      if (<u32>load<u8>(this.ptr + i) != <u32>ascii.charCodeAt(<i32>i)) return false;
    }
    return true;
  }
}
