// MD5 (RFC 1321) over bytes in linear memory: the digest RFC 2082 keyed-MD5 authentication
// needs. Transient scratch only; nothing here is kept across calls.

const S: StaticArray<u32> = [7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
  5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
  4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
  6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21];

/** K[i] = floor(abs(sin(i + 1)) * 2^32), computed once. */
const K = new StaticArray<u32>(64);
for (let i = 0; i < 64; i++) K[i] = <u32>(<u64>Math.floor(Math.abs(Math.sin(<f64>(i + 1))) * 4294967296.0));

const BLOCK = memory.data(64);

/** Writes the 16-byte MD5 digest of (ptr, len) to `out`. */
export function md5(ptr: usize, len: usize, out: usize): void {
  let a0: u32 = 0x67452301, b0: u32 = 0xefcdab89, c0: u32 = 0x98badcfe, d0: u32 = 0x10325476;
  // Whole blocks straight from the input, then the padded tail (one or two blocks) from BLOCK.
  const whole = len & ~(<usize>63);
  for (let off: usize = 0; off < whole; off += 64) {
    const r = round(ptr + off, a0, b0, c0, d0);
    a0 += r[0]; b0 += r[1]; c0 += r[2]; d0 += r[3];
  }
  const rest = len - whole;
  memory.fill(BLOCK, 0, 64);
  memory.copy(BLOCK, ptr + whole, rest);
  store<u8>(BLOCK + rest, 0x80);
  if (rest >= 56) {
    const r = round(BLOCK, a0, b0, c0, d0);
    a0 += r[0]; b0 += r[1]; c0 += r[2]; d0 += r[3];
    memory.fill(BLOCK, 0, 64);
  }
  store<u64>(BLOCK + 56, <u64>len * 8);
  const r = round(BLOCK, a0, b0, c0, d0);
  store<u32>(out, a0 + r[0]);
  store<u32>(out + 4, b0 + r[1]);
  store<u32>(out + 8, c0 + r[2]);
  store<u32>(out + 12, d0 + r[3]);
}

const STATE = new StaticArray<u32>(4);

/** One 64-byte block: returns the round's a, b, c, d (to be added to the state). */
function round(p: usize, a0: u32, b0: u32, c0: u32, d0: u32): StaticArray<u32> {
  let a = a0, b = b0, c = c0, d = d0;
  for (let i = 0; i < 64; i++) {
    let f: u32;
    let g: i32;
    if (i < 16) { f = (b & c) | (~b & d); g = i; }
    else if (i < 32) { f = (d & b) | (~d & c); g = (5 * i + 1) & 15; }
    else if (i < 48) { f = b ^ c ^ d; g = (3 * i + 5) & 15; }
    else { f = c ^ (b | ~d); g = (7 * i) & 15; }
    f = f + a + K[i] + load<u32>(p + (<usize>g << 2));
    a = d; d = c; c = b;
    b = b + rotl<u32>(f, S[i]);
  }
  STATE[0] = a; STATE[1] = b; STATE[2] = c; STATE[3] = d;
  return STATE;
}
