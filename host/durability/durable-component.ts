/**
 * One component's crash survival (durability `os` or `fsync`): the ComponentJournal the
 * component's dispatcher, host services and timers report to. It records each event with what
 * it observed (the tape), appends it to the journal (group commit), holds the event's outputs
 * until its record is durable (the output gate), keeps the module versions the journal names,
 * and on start replays the journal back into the component (recovery.ts).
 */
import { randomFillSync } from 'node:crypto';
import { truncateSync } from 'node:fs';
import { join } from 'node:path';
import type { HostCapabilities } from '../abi/capability-imports.js';
import type { Environment } from '../abi/imports.js';
import type { ComponentEvent } from '../component/events.js';
import type { ComponentJournal, OutputGate } from '../component/journal-port.js';
import type { Logger } from '../log.js';
import type { PreparedModule } from '../modules/prepared.js';
import { type LoadedCheckpoint, openCheckpoint } from './checkpoint/index.js';
import { type CheckpointState, CrashCheckpoints } from './crash-checkpoints.js';
import type { ByteSink } from './journal/byte-sink.js';
import { deleteSegmentsThrough, readJournal } from './journal/reader.js';
import { type JournalRecord, type RecordBody, RecordKind, type RecordToWrite } from './journal/record.js';
import { ObservationTape } from './journal/tape.js';
import { JournalWriter, type SyncMode } from './journal/writer.js';
import { ModuleBlobs } from './module-blobs.js';
import { HeldOutputs } from './output-gate.js';
import { recordedCapabilities } from './recorded-capabilities.js';
import { prepareNamed, type RecoveryTarget, replayRecords } from './recovery.js';

const NO_TAPE = Buffer.alloc(0);

export class DurableComponent implements ComponentJournal {
  readonly environment: Environment;
  readonly #name: string;
  readonly #log: Logger;
  readonly #tape = new ObservationTape();
  readonly #gate: HeldOutputs;
  readonly #writer: JournalWriter;
  readonly #blobs: ModuleBlobs;
  readonly #dir: string;
  readonly #journalDir: string;
  readonly #fsync: boolean;
  /** The newest crash checkpoint at open (null: none), until recover() restored it. */
  #checkpoint: LoadedCheckpoint | null;
  /** The records read at open (after the checkpoint), until recover() replayed them. */
  #records: JournalRecord[];
  /** Timer ids that expired and whose timer event was not handled yet (a checkpoint keeps them). */
  readonly #unhandledTimers = new Set<number>();
  #lastConfig: string | null = null;
  #checkpoints: CrashCheckpoints | null = null;
  /** The live monotonic clock continues the one the journal last recorded (timers' due times). */
  readonly #monoOffset: number;
  #replaying = false;

  /**
   * Reads the journal in `dir` (throws JournalCorruptError on damage before the tail, deleting
   * nothing), drops a torn last record with a log line, and opens the writer after it.
   */
  constructor(options: { dir: string; component: string; mode: SyncMode; log: Logger }) {
    const { dir, component, mode, log } = options;
    this.#name = component;
    this.#log = log;
    const journalDir = join(dir, 'journal');
    this.#dir = dir;
    this.#journalDir = journalDir;
    this.#fsync = mode === 'fsync';
    // The checkpoint first: the journal is read from the record after it. Its page blocks are
    // checked as recover() restores them, so each byte is read once.
    this.#checkpoint = openCheckpoint(join(dir, '..'), component, log);
    const meta = this.#checkpoint?.meta;
    const covered = meta?.journalSeq ?? 0;
    const contents = readJournal(journalDir, covered);
    if (contents.torn) {
      // Cutting the tail changes the disk: check the checkpoint's pages first, so a damaged one
      // still stops the start with nothing changed (a second read of it, only after a torn write).
      this.#checkpoint?.checkPages();
      const { file, offset, reason } = contents.torn;
      log.warn(`journal: dropped the torn last record of ${file} at byte offset ${offset} (${reason}); it was never acknowledged`);
      truncateSync(file, offset);
    }
    this.#records = contents.records;
    const last = contents.records.at(-1);
    const clock = last ?? (meta ? (meta.state as CheckpointState & { clock: { wallMs: number; monoMs: number } }).clock : null);
    this.#monoOffset = clock ? clock.monoMs + Math.max(0, Date.now() - clock.wallMs) - performance.now() : 0;
    // Records the checkpoint covers may be missing from the journal (never durable): go on after it.
    const nextSeq = Math.max(last?.seq ?? 0, covered) + 1;
    this.#gate = new HeldOutputs(log, nextSeq - 1);
    this.#writer = new JournalWriter({ dir: journalDir, mode, nextSeq, log, onDurable: (seq) => this.#gate.durable(seq) });
    this.#blobs = new ModuleBlobs(join(dir, 'modules'), mode === 'fsync');
    const tape = this.#tape;
    const mono = (): number => performance.now() + this.#monoOffset;
    this.environment = {
      nowMs: () => tape.number(Date.now),
      monotonicMs: () => tape.number(mono),
      randomFill: (target) => tape.fill(target, (t) => void randomFillSync(t)),
    };
  }

  get gate(): OutputGate {
    return this.#gate;
  }
  get replaying(): boolean {
    return this.#replaying;
  }
  /** Records read at start (0 on a fresh data directory). */
  get recordsToReplay(): number {
    return this.#records.length;
  }

  begin(_event: ComponentEvent): void {
    if (this.#replaying) return; // replayRecords handed the tape over already (observe)
    this.#tape.record();
    this.#gate.beginEvent();
  }

  end(event: ComponentEvent): void {
    const observed = this.#tape.stop();
    if (this.#replaying || observed === null) return;
    if (event.kind === 'timer') this.#unhandledTimers.delete(event.id);
    let seq: number;
    try {
      seq = this.#append(this.#bodyOf(event), observed);
    } catch (e) {
      // Not journaled, so its outputs must never leave: held behind a record that never comes.
      this.#log.error(`journal: ${event.kind} event not recorded (${(e as Error).message}); its outputs are held`);
      seq = Number.MAX_SAFE_INTEGER;
    }
    this.#gate.endEvent(seq);
  }

  timerExpired(id: number): void {
    if (this.#replaying) return;
    this.#unhandledTimers.add(id);
    this.#gate.appended(this.#append({ kind: RecordKind.tick, id }, NO_TAPE));
  }

  result(call: () => number): number {
    return this.#tape.number(call);
  }

  admitted(call: (n: number) => boolean, n: number): boolean {
    return this.#tape.flag(call, n);
  }

  watchHeld(listener: (held: boolean) => void): void {
    this.#gate.watch(listener);
  }

  capabilities(granted: HostCapabilities | undefined): HostCapabilities | undefined {
    return granted ? recordedCapabilities(granted, this.#tape) : undefined;
  }

  /** Module bytes an upgrade may name: durable before any record appended after this call. */
  keepModule(sha256: string, bytes: Uint8Array): void {
    this.#writer.before(this.#blobs.keep(sha256, bytes));
  }

  /** Appends a config record when `json` differs from the last one the journal holds. */
  noteConfig(json: string, previous: string | null): void {
    if (json !== previous) this.#append({ kind: RecordKind.config, json }, NO_TAPE);
    this.#lastConfig = json;
  }

  /**
   * Replays the records read at open into `target` (no-op on a fresh journal: returns null).
   * `prepare` turns module bytes into the PreparedModule an upgrade record names.
   */
  async recover(
    target: RecoveryTarget,
    prepare: (bytes: Uint8Array, version: string) => Promise<PreparedModule>,
  ): Promise<{ events: number; version: string | null; lastConfig: string | null; ms: number; prepareMs: number } | null> {
    const records = this.#records;
    const checkpoint = this.#checkpoint;
    this.#records = [];
    this.#checkpoint = null;
    if (records.length === 0 && !checkpoint) return null;
    const started = performance.now();
    const state = checkpoint ? (checkpoint.meta.state as CheckpointState) : null;
    // The pages first: reading them checks them, so a damaged checkpoint stops the start before
    // any module is prepared (nothing runs over the memory until the replay below).
    if (checkpoint && state) checkpoint.restoreInto(target.memory, target.pages ?? undefined);
    const restoreMs = performance.now() - started;
    const blob = (sha256: string, version: string) => prepare(this.#blobs.read(sha256), version);
    const first = state?.module ? await blob(state.module.sha256, state.module.version) : null;
    const modules = await prepareNamed(records, blob);
    const prepareMs = performance.now() - started - restoreMs;
    const tape = this.#tape;
    this.#replaying = true;
    let result: ReturnType<typeof replayRecords>;
    try {
      if (checkpoint && state) {
        // The module over the restored pages (RESTART: its memory is initialised), then the timers.
        if (first) target.replay({ kind: 'upgrade', module: first, reason: 'upgrade', done: () => {} });
        target.restoreTimers(state.timers);
        for (const id of state.unhandledTimers) this.#unhandledTimers.add(id);
      }
      result = replayRecords(
        records,
        modules,
        target,
        { observe: (observed) => tape.replay(observed), diverged: () => tape.diverged },
        this.#log,
        this.#unhandledTimers,
      );
    } finally {
      this.#replaying = false;
    }
    if (result.diverged > 0) this.#log.warn(`journal: ${result.diverged} replayed events differed from their records`);
    let lastConfig: string | null = state?.config ?? null;
    for (const r of records) if (r.body.kind === RecordKind.config) lastConfig = r.body.json;
    const version = result.version ?? first?.version ?? null;
    if (checkpoint) this.#log.info(`checkpoint at record ${checkpoint.meta.journalSeq} restored (${checkpoint.bytes} bytes read)`);
    return { events: result.events, version, lastConfig, ms: performance.now() - started - prepareMs, prepareMs };
  }

  /**
   * From now on, crash checkpoints of `target`'s memory (when its snapshot policy keeps the
   * dirty-page shadow they are written from); the journal behind each one is deleted.
   */
  startCheckpoints(target: RecoveryTarget): void {
    const pages = target.pages;
    if (!pages || this.#checkpoints) return;
    const writer = this.#writer;
    this.#checkpoints = new CrashCheckpoints({
      dir: join(this.#dir, '..'),
      component: this.#name,
      memory: target.memory,
      pages,
      fsync: this.#fsync,
      log: this.#log,
      fromSeq: writer.lastSeq,
      lastSeq: () => writer.lastSeq,
      state: () => this.#stateNow(target),
      truncate: (seq) => {
        writer.roll();
        const deleted = deleteSegmentsThrough(this.#journalDir, seq);
        if (deleted > 0) this.#log.debug(`journal: ${deleted} segments behind the checkpoint at record ${seq} deleted`);
      },
    });
  }

  #stateNow(target: RecoveryTarget): CheckpointState & { clock: { wallMs: number; monoMs: number } } {
    const m = target.module;
    return {
      module: m ? { sha256: m.sha256, version: m.version } : null,
      timers: target.timerSnapshot(),
      unhandledTimers: [...this.#unhandledTimers],
      config: this.#lastConfig,
      clock: { wallMs: Date.now(), monoMs: performance.now() + this.#monoOffset },
    };
  }

  /** Every record appended so far durable, outputs released, the segment closed. */
  async close(): Promise<void> {
    await this.#checkpoints?.close();
    await this.#writer.close();
  }

  #append(body: RecordBody, tape: Uint8Array | ByteSink): number {
    const r = this.#record;
    r.wallMs = Date.now();
    r.monoMs = performance.now() + this.#monoOffset;
    r.component = this.#name;
    r.body = body;
    r.tape = tape;
    try {
      return this.#writer.append(r);
    } finally {
      r.body = NO_BODY;
      r.tape = NO_TAPE;
      this.#messageBody.payload = NO_TAPE;
    }
  }

  /**
   * The record being appended, and the body of a message's: filled in per event and encoded at
   * once (the writer copies them into its batch), so journaling a message allocates no objects
   * for the collector (docs/SAFETY.md, "What a flood allocates").
   */
  readonly #record: RecordToWrite = { wallMs: 0, monoMs: 0, component: '', body: NO_BODY, tape: NO_TAPE };
  readonly #messageBody: MessageBody = { kind: RecordKind.message, channel: 0, iface: -1, peer: '', payload: NO_TAPE, repliable: false };

  #bodyOf(event: ComponentEvent): RecordBody {
    if (event.kind !== 'message') return bodyOf(event);
    const body = this.#messageBody;
    body.channel = event.channel;
    body.iface = event.iface ?? -1;
    body.peer = event.peer;
    body.payload = event.payload;
    body.repliable = event.replyTo !== undefined;
    return body;
  }
}

const NO_BODY: RecordBody = { kind: RecordKind.tick, id: 0 };
type MessageBody = Extract<RecordBody, { kind: RecordKind.message }>;

function bodyOf(event: ComponentEvent): RecordBody {
  switch (event.kind) {
    case 'message':
      return {
        kind: RecordKind.message,
        channel: event.channel,
        iface: event.iface ?? -1,
        peer: event.peer,
        payload: event.payload,
        repliable: event.replyTo !== undefined,
      };
    case 'timer':
      return { kind: RecordKind.timer, id: event.id };
    case 'signal':
      return { kind: RecordKind.signal, signo: event.signo, name: event.name };
    case 'upgrade':
      return {
        kind: RecordKind.upgrade,
        reason: event.reason,
        module: event.module.name,
        version: event.module.version,
        sha256: event.module.sha256,
      };
  }
}
