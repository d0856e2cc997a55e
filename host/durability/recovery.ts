/**
 * Recovery on start: the journal's records dispatched again, in order, over the component's
 * memory, each event with the observations its record holds (outputs suppressed: a reply or
 * send answers what it answered then, and nothing leaves). Upgrade records swap to the version
 * they name; timer expiries move the timer table as they did. Then the timers are re-armed at
 * their due times, and timer events that expired but were never handled are queued again.
 */
import type { DirtyPageCheckpoint } from '../abi/checkpoint.js';
import type { PersistentMemory } from '../abi/memory.js';
import type { ComponentEvent } from '../component/events.js';
import type { TimerSnapshot } from '../component/timers.js';
import type { Logger } from '../log.js';
import type { PreparedModule } from '../modules/prepared.js';
import { type JournalRecord, RecordKind } from './journal/record.js';

/** What recovery needs from the component (Component.recovery). */
export interface RecoveryTarget {
  /** Dispatches `event` now, with the journal in replay mode (the queue is empty). */
  replay(event: ComponentEvent): void;
  /** The timer table's change when timer `id` expired, without firing it. */
  replayTimerExpiry(id: number): void;
  /** Re-arms every timer at its due time on the live clock. */
  resumeTimers(): void;
  enqueue(event: ComponentEvent): boolean;
  readonly memory: PersistentMemory;
  /** The dirty-page checkpoint a crash checkpoint writes from (null: snapshot policy not incremental). */
  readonly pages: DirtyPageCheckpoint | null;
  /** The module running now. */
  readonly module: PreparedModule | null;
  timerSnapshot(): TimerSnapshot;
  /** Puts the timer table of a checkpoint back (due times on the journal's continuous clock). */
  restoreTimers(snapshot: TimerSnapshot): void;
}

/** What the journal does for each record replayed (the DurableComponent). */
export interface ReplayHooks {
  /** The observations of the record about to be dispatched. */
  observe(tape: Buffer): void;
  /** Why the last replayed event did not match its record, or null. */
  diverged(): string | null;
}

export interface ReplayResult {
  events: number;
  upgrades: number;
  diverged: number;
  version: string | null;
}

/** Modules the records name, prepared before the (synchronous) replay starts. */
export async function prepareNamed(
  records: readonly JournalRecord[],
  prepare: (sha256: string, version: string) => Promise<PreparedModule>,
): Promise<Map<string, PreparedModule>> {
  const modules = new Map<string, PreparedModule>();
  for (const r of records) {
    const b = r.body;
    if (b.kind === RecordKind.upgrade && !modules.has(b.sha256)) modules.set(b.sha256, await prepare(b.sha256, b.version));
  }
  return modules;
}

export function replayRecords(
  records: readonly JournalRecord[],
  modules: ReadonlyMap<string, PreparedModule>,
  target: RecoveryTarget,
  hooks: ReplayHooks,
  log: Logger,
  /** Timers that expired and whose event was not handled (from the checkpoint; updated here). */
  unhandled: Set<number>,
): ReplayResult {
  const result: ReplayResult = { events: 0, upgrades: 0, diverged: 0, version: null };
  for (const r of records) {
    const b = r.body;
    if (b.kind === RecordKind.tick) {
      target.replayTimerExpiry(b.id);
      unhandled.add(b.id);
      continue;
    }
    if (b.kind === RecordKind.config) continue;
    let event: ComponentEvent;
    switch (b.kind) {
      case RecordKind.message:
        event = {
          kind: 'message',
          channel: b.channel,
          peer: b.peer,
          payload: b.payload,
          ...(b.iface >= 0 ? { iface: b.iface } : {}),
        };
        break;
      case RecordKind.timer:
        unhandled.delete(b.id);
        event = { kind: 'timer', id: b.id };
        break;
      case RecordKind.signal:
        event = { kind: 'signal', signo: b.signo, name: b.name };
        break;
      case RecordKind.upgrade: {
        const module = modules.get(b.sha256)!;
        event = { kind: 'upgrade', module, reason: b.reason, done: () => {} };
        result.upgrades++;
        result.version = module.version;
        break;
      }
    }
    hooks.observe(r.tape);
    target.replay(event);
    result.events++;
    const why = hooks.diverged();
    if (why !== null) {
      if (result.diverged === 0) log.warn(`replay of record ${r.seq} (${RecordKind[b.kind]}) differed from its record: ${why}`);
      result.diverged++;
    }
  }
  target.resumeTimers();
  for (const id of unhandled) target.enqueue({ kind: 'timer', id });
  return result;
}
