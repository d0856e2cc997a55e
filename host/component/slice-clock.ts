/**
 * The time limit of one dispatch slice: the clock is read after the first event and then at an
 * interval fitted to the events' pace (at most CLOCK_EVERY events), so cheap events cost no
 * clock read each and one slow event still ends the slice. Shared by the dispatcher's loop and
 * a batch of messages inside it, which counts its events into the same slice.
 */

/** Check the clock after this many events at most (fewer when events are slow). */
const CLOCK_EVERY = 32;

export class SliceClock {
  #start = 0;
  #deadline = 0;
  #check = 1;

  /** A slice starts now and may run until `deadline` (performance.now()). */
  begin(deadline: number): void {
    this.#start = performance.now();
    this.#deadline = deadline;
    this.#check = 1;
  }

  /**
   * True when, `n` events into the slice, its time is up (the clock is read only at the
   * events chosen for it). After true, the next event reads the clock again.
   */
  over(n: number): boolean {
    if (n !== this.#check) return false;
    const now = performance.now();
    const left = this.#deadline - now;
    this.#check = n + clockInterval(n, now - this.#start, left);
    return left <= 0;
  }
}

/**
 * How many events until the next clock read: as many as fit in half the time left (`left` ms)
 * at the pace seen so far (`n` events in `elapsed` ms), between 1 and CLOCK_EVERY.
 */
function clockInterval(n: number, elapsed: number, left: number): number {
  if (left <= 0) return 1;
  const fit = elapsed > 0 ? Math.floor((left * n) / elapsed / 2) : CLOCK_EVERY;
  return Math.max(1, Math.min(CLOCK_EVERY, fit));
}
