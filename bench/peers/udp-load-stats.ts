/**
 * What bench/peers/udp-load.ts records while it runs: the latency histogram (exact percentiles
 * at 1 µs resolution, constant memory), the optional per-reply trace on the machine-wide
 * monotonic clock, and the shape of one phase's result.
 */
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { round } from './stats.js';

/** Microseconds on the machine-wide monotonic clock, shared by every process (uv_hrtime). */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** Growable (send µs, latency µs) pairs. */
export class Trace {
  private data = new Float64Array(1 << 16);
  private n = 0;
  // performance.now() and process.hrtime share one clock: the offset between them is fixed.
  private readonly offsetUs = monotonicUs() - performance.now() * 1000;
  add(sentMs: number, latencyUs: number): void {
    if (this.n + 2 > this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.n++] = sentMs * 1000 + this.offsetUs;
    this.data[this.n++] = latencyUs;
  }
  write(file: string): void {
    writeFileSync(file, new Uint8Array(this.data.buffer, 0, this.n * 8));
  }
}

export interface PhaseResult {
  sent: number;
  received: number;
  lost: number;
  duplicated: number;
  reordered: number;
  late: number;
  unexpected: number;
  send_errors: number;
  seconds: number;
  rps: number;
  latency_us: { p50: number; p99: number; p999: number; max: number; mean: number };
}

/**
 * Latency histogram at 1 µs resolution up to the timeout (a reply can never
 * be slower than that, it would be lost): exact percentiles, constant memory.
 */
export class Histogram {
  private readonly buckets: Uint32Array;
  private n = 0;
  private sum = 0;
  private maxSeen = 0;
  constructor(maxUs: number) {
    this.buckets = new Uint32Array(Math.ceil(maxUs) + 1);
  }
  add(us: number): void {
    const i = Math.min(this.buckets.length - 1, Math.max(0, Math.round(us)));
    this.buckets[i]!++;
    this.n++;
    this.sum += us;
    if (us > this.maxSeen) this.maxSeen = us;
  }
  percentile(p: number): number {
    if (this.n === 0) return NaN;
    const rank = Math.ceil((p / 100) * this.n); // nearest rank, as in stats.ts
    let acc = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      acc += this.buckets[i]!;
      if (acc >= rank) return i;
    }
    return this.buckets.length - 1;
  }
  summary(): PhaseResult['latency_us'] {
    return {
      p50: this.percentile(50),
      p99: this.percentile(99),
      p999: this.percentile(99.9),
      max: round(this.maxSeen, 1),
      mean: round(this.n ? this.sum / this.n : NaN, 1),
    };
  }
}
