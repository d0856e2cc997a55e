/**
 * Waiting for a condition with a deadline, the one way tests wait for something to happen:
 * never a fixed sleep followed by an assertion, which is both slow and flaky.
 */

export interface WaitOptions {
  /** Give up after this long (default 5 s). */
  timeoutMs?: number;
  /** What is awaited, for the error message ("kv to answer PINGS 2"). */
  what: string;
  /** Time between checks (default 10 ms). */
  intervalMs?: number;
}

/**
 * Calls `condition` until it returns something other than false, null or undefined, and returns
 * that. Rejects after the deadline, naming what was awaited and the last value seen, so a
 * failing test says what did not happen instead of hanging.
 */
export async function waitFor<T>(
  condition: () => T | false | null | undefined | Promise<T | false | null | undefined>,
  options: WaitOptions,
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    last = await condition();
    if (last !== false && last !== null && last !== undefined) return last as T;
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what} (last: ${String(last)})`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 10));
  }
}
