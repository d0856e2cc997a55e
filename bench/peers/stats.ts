/**
 * Tiny statistics helpers shared by the peer baselines, so that every peer
 * reports percentiles computed the same way (nearest-rank, no interpolation:
 * p99 of 200 samples is the 198th smallest, a value that was really observed).
 */

export interface Summary {
  count: number;
  p50: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of an ascending-sorted array (p in 0..100). */
export function percentileSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Rounds to `digits` decimals (JSON output should not carry float noise). */
export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** count/p50/p99/min/max/mean of `samples`, rounded to `digits` decimals. */
export function summarize(samples: readonly number[], digits = 1): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    p50: round(percentileSorted(sorted, 50), digits),
    p99: round(percentileSorted(sorted, 99), digits),
    min: round(sorted[0] ?? NaN, digits),
    max: round(sorted[sorted.length - 1] ?? NaN, digits),
    mean: round(sorted.length ? sum / sorted.length : NaN, digits),
  };
}

/** The median of `xs` (the mean of the two middle values when their number is even). */
export function middle(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

/**
 * A ratio taken round by round (subject and baseline measured in the same round, next to each
 * other): its median and its spread over the rounds. Pairing the rounds cancels the machine's
 * slow swings, which a ratio of two medians taken over different rounds does not.
 */
export interface Spread {
  median: number;
  min: number;
  max: number;
}
export function spread(xs: readonly number[], digits = 3): Spread {
  return { median: round(middle(xs), digits), min: round(Math.min(...xs), digits), max: round(Math.max(...xs), digits) };
}
