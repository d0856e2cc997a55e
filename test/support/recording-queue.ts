// A stand-in for a component's dispatcher that records what the DispatchScheduler granted it.

/**
 * A queue of `slices` slices of work standing in for a component's dispatcher, so the
 * scheduler's choices can be read: the time each slice was given (its deadline less the time it
 * started, a little less than the scheduler's grant) and the order of slices and their microtasks.
 */
export class RecordingQueue {
  readonly budgets: number[] = [];
  constructor(
    readonly name: string,
    public slices: number,
    readonly order: string[],
  ) {}
  runSlice(_maxEvents: number, deadline: number): boolean {
    this.budgets.push(deadline - performance.now());
    this.order.push(`${this.name} slice`);
    queueMicrotask(() => this.order.push(`${this.name} microtask`));
    return --this.slices > 0;
  }
}
