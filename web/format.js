// How the dashboard writes numbers, sizes and times: one place, so every table and chart agrees.

/** @param {number | null | undefined} us */
export function micros(us) {
  return us === null || us === undefined ? '—' : `${Math.round(us).toLocaleString('en')} µs`;
}

/** @param {number | null | undefined} n */
export function rate(n) {
  if (n === null || n === undefined) return '—';
  return n >= 100 ? Math.round(n).toLocaleString('en') : n.toFixed(1);
}

/** @param {number} bytes */
export function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * Local time of day, with seconds: what an operator compares with the clock on the wall.
 * @param {string | number} at an ISO string or ms since the epoch
 */
export function clock(at) {
  return new Date(at).toLocaleTimeString('en-GB', { hour12: false });
}

/** @param {string | number} at */
export function dateTime(at) {
  const d = new Date(at);
  return `${d.toLocaleDateString('en-CA')} ${clock(at)}`;
}

/** `1.0.0 → 2.0.0`, or just the target for a first load. @param {string | null} from @param {string | null} to */
export function transition(from, to) {
  return from ? `${from} → ${to ?? '—'}` : (to ?? '—');
}
