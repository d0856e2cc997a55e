/**
 * A journaled component's checkpoints: what a checkpoint records besides the pages (the module
 * version, the timer table, the clock), taking them by the policy's rule and cutting the journal
 * behind them, and putting that state back before the journal after it is replayed.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DirtyPageCheckpoint } from '../abi/checkpoint.js';
import type { PersistentMemory } from '../abi/memory.js';
import type { ComponentEvent } from '../component/events.js';
import type { TimerSnapshot } from '../component/timers.js';
import type { Logger } from '../log.js';
import type { PreparedModule } from '../modules/prepared.js';
import { CheckpointPolicy, CheckpointWriter, type LoadedCheckpoint } from './checkpoint/index.js';
import { listSegments, SEGMENT_PATTERN } from './journal/reader.js';

/** The `state` of a journaled component's checkpoint (CheckpointMeta.state). */
export interface CheckpointState {
  module: { name: string; version: string; sha256: string };
  timers: TimerSnapshot;
  /** Timers whose expiry is in the journal but whose event was not dispatched yet. */
  pendingTimers: number[];
  /** Wall and monotonic clock at the checkpoint, so the monotonic clock goes on from there. */
  clock: { wallMs: number; monoMs: number };
  /** The configuration the journal last recorded. */
  lastConfig: string | null;
}

/** What a checkpoint needs from the component (Component.recovery). */
export interface CheckpointTarget {
  memory: PersistentMemory;
  pages: DirtyPageCheckpoint | null;
  module(): PreparedModule | null;
  timerSnapshot(): TimerSnapshot;
  restoreTimers(snapshot: TimerSnapshot): void;
  replay(event: ComponentEvent): void;
}

/** What a checkpoint needs from the journal (DurableComponent). */
export interface CheckpointJournal {
  readonly journalDir: string;
  lastSeq(): number;
  /** The next record starts a new segment, so the ones before can go once the checkpoint is durable. */
  rotate(): void;
  pendingTimers(): number[];
  monoMs(): number;
  lastConfig(): string | null;
}

export interface CheckpointSettings {
  everyRecords?: number;
  everyMs?: number;
}

/**
 * Puts a checkpoint's state back into a component whose memory is fresh: the pages, then the
 * recorded module version (`module`, prepared from the bytes the journal keeps) restarted over
 * them as after an upgrade, then the timer table. Runs while the journal replays (nothing recorded).
 */
export function restoreCheckpoint(loaded: LoadedCheckpoint, target: CheckpointTarget, module: PreparedModule): void {
  const state = loaded.meta.state as CheckpointState;
  loaded.restoreInto(target.memory, target.pages ?? undefined);
  target.replay({ kind: 'upgrade', module, reason: 'upgrade', done: () => {} });
  if (target.module()?.sha256 !== state.module.sha256) {
    throw new Error(
      `checkpoint ${loaded.files.at(-1)}: ${state.module.name}@${state.module.version} did not restart over the restored memory`,
    );
  }
  target.restoreTimers(state.timers);
}

/** Takes checkpoints of one running component by the policy's rule and cuts its journal behind them. */
export class ComponentCheckpoints {
  readonly #writer: CheckpointWriter;
  readonly #policy: CheckpointPolicy;

  constructor(opts: {
    durableDir: string;
    component: string;
    fsync: boolean;
    target: CheckpointTarget;
    journal: CheckpointJournal;
    settings: CheckpointSettings;
    log: Logger;
  }) {
    const { target, journal, log } = opts;
    const pages = target.pages;
    if (!pages) throw new Error(`${opts.component}: checkpoints need the dirty-page checkpoint (snapshot policy 'incremental')`);
    this.#writer = new CheckpointWriter({
      dir: opts.durableDir,
      component: opts.component,
      memory: target.memory,
      pages,
      fsync: opts.fsync,
      log,
    });
    this.#policy = new CheckpointPolicy({
      writer: this.#writer,
      startSeq: journal.lastSeq(),
      ...(opts.settings.everyRecords !== undefined ? { everyRecords: opts.settings.everyRecords } : {}),
      ...(opts.settings.everyMs !== undefined ? { everyMs: opts.settings.everyMs } : {}),
      log,
      meta: () => {
        const module = target.module();
        if (!module) throw new Error(`${opts.component}: no module runs, nothing to checkpoint`);
        journal.rotate();
        const state: CheckpointState = {
          module: { name: module.name, version: module.version, sha256: module.sha256 },
          timers: target.timerSnapshot(),
          pendingTimers: journal.pendingTimers(),
          clock: { wallMs: Date.now(), monoMs: journal.monoMs() },
          lastConfig: journal.lastConfig(),
        };
        return { journalSeq: journal.lastSeq(), state };
      },
      truncate: (seq) => dropSegmentsThrough(journal.journalDir, seq, log),
    });
  }

  /** The journal appended record `seq`. */
  recorded(seq: number): void {
    this.#policy.recorded(seq);
  }

  async close(): Promise<void> {
    await this.#policy.stop();
    await this.#writer.close();
  }
}

/**
 * Deletes the journal segments whose every record has seq <= `seq`: each one followed by a
 * segment that starts at or before seq + 1. The newest segment always stays (it is being written).
 */
export function dropSegmentsThrough(journalDir: string, seq: number, log?: Logger): void {
  const segments = listSegments(journalDir);
  const firstSeqs = segments.map((name) => Number(SEGMENT_PATTERN.exec(name)![1]));
  let dropped = 0;
  for (let i = 0; i + 1 < segments.length && firstSeqs[i + 1]! <= seq + 1; i++) {
    rmSync(join(journalDir, segments[i]!), { force: true });
    dropped++;
  }
  if (dropped > 0) log?.debug(`journal: ${dropped} segments behind the checkpoint at record ${seq} removed`);
}
