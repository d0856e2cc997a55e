/**
 * Crash checkpoints (docs/CHECKPOINTS.md): the main-thread pause of a checkpoint with 1M kv keys
 * under load, and the recovery time of about 256 MiB of state.
 *
 *   node --import tsx bench/cases/checkpoint.ts [--quick]
 *
 * Pause: a real Engine's kv component holds 1M keys; a closed loop keeps SETting random keys in
 * batches of 256 (through the component's queue and dispatcher, as the UDP source feeds it).
 * ROUNDS times, 5 s without checkpoints, then 5 s with one requested every INTERVAL_MS (fsync
 * on; `presync()` first, then `request()`), we record each batch's round trip and, for each checkpoint, the pause of
 * `request()` (sync of the shadow + capture) and the longest write slice (copy + CRC of one block).
 *
 * Recovery: one component is filled to about 240 MiB (1 KiB values), checkpointed as a base plus
 * increments, then what recovery runs is timed (page cache warm: the files were just written):
 * `openCheckpoint` (structure), `restoreInto` a fresh memory with its shadow (every page block
 * read once and checked there; the shadow adopts the pages lazily), the shadow sync a swap does
 * first; then 100k journal records written after the checkpoint (SETs, by the journal's own
 * writer) are read back and dispatched over the restored memory with replies dropped. The copy
 * of the restored pages into the shadow, done later in steps by the first checkpoint's presync,
 * is timed apart (not part of the recovery).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { DirtyPageCheckpoint } from '../../host/abi/checkpoint.js';
import { PersistentMemory } from '../../host/abi/memory.js';
import type { Component } from '../../host/component/component.js';
import { type CheckpointResult, CheckpointWriter, openCheckpoint, presyncTurn } from '../../host/durability/checkpoint/index.js';
import { readJournal } from '../../host/durability/journal/reader.js';
import { RecordKind } from '../../host/durability/journal/record.js';
import { JournalWriter } from '../../host/durability/journal/writer.js';
import { Logger } from '../../host/log.js';
import { KvOnMemory, persistentHash, trackedKvModule } from '../../test/support/kv-memory.js';
import { progress, runCase } from '../lib/case.js';
import { fillKeys, keyOf, MEMORY_BYTES, messageEvent, ReplyCounter, startKvEngine } from '../lib/kv-engine.js';
import { round, summarize } from '../peers/stats.js';

const MiB = 1024 * 1024;
const BATCH = 256;
const INTERVAL_MS = 1000;
const ROUNDS = 3;
/** Journal records replayed after the checkpoint in the recovery measurement. */
const REPLAYED = 100_000;
const NO_TAPE = Buffer.alloc(0);

interface Loop {
  batchMs: number[];
  sent: number;
  seconds: number;
}

/** A closed loop of SET batches on random keys, for `seconds`. */
async function closedLoop(c: Component, keys: number, seconds: number, tag: string): Promise<Loop> {
  const batchMs: number[] = [];
  const replies = new ReplyCounter();
  const until = performance.now() + seconds * 1000;
  let sent = 0;
  let round = 0;
  const started = performance.now();
  while (performance.now() < until) {
    const t = performance.now();
    for (let i = 0; i < BATCH; i++) {
      const k = Math.floor(Math.random() * keys);
      c.enqueue(messageEvent(Buffer.from(`SET ${keyOf(k)} ${tag}${round}`), replies));
    }
    sent += BATCH;
    await replies.until(sent);
    batchMs.push(performance.now() - t);
    round++;
  }
  return { batchMs, sent, seconds: (performance.now() - started) / 1000 };
}

async function measurePause(quick: boolean): Promise<unknown> {
  const keys = quick ? 200_000 : 1_000_000;
  const seconds = quick ? 3 : 5;
  const engine = await startKvEngine([{ name: 'kv' }]);
  const dir = mkdtempSync(join(tmpdir(), 'hotswap-bench-ckpt-'));
  try {
    const c = engine.component('kv');
    await fillKeys(c, 0, keys);
    const writer = new CheckpointWriter({ dir, component: 'kv', memory: c.memory, pages: c.pageCheckpoint!, fsync: true });
    const presynced = await writer.presync();
    const base = await writer.request({ journalSeq: 0, state: null });
    progress(
      'checkpoint',
      `presync copied ${presynced} pages in steps first; ` +
        `${keys} keys: base of ${round(base.bytes / MiB)} MiB in ${round(base.totalMs)} ms, pause ${round(base.pauseMs, 2)} ms`,
    );
    const results: CheckpointResult[] = [];
    const without: Loop[] = [];
    const withCkpt: Loop[] = [];
    let seq = 0;
    let busy = false;
    const requestCpuMs: number[] = [];
    // Rounds alternate, so load from the rest of the machine falls on both sides alike.
    for (let r = 0; r < (quick ? 1 : ROUNDS); r++) {
      without.push(await closedLoop(c, keys, seconds, `a${r}`));
      const timer = setInterval(() => {
        if (busy) return;
        busy = true;
        writer
          .presync()
          .then(() => {
            // CPU time of the process across the synchronous part of request(): unlike the wall
            // time it is not stretched by preemption on a loaded machine (it does count other
            // threads: GC helpers, libuv's pool).
            const cpu = process.cpuUsage();
            const pending = writer.request({ journalSeq: ++seq, state: null });
            const used = process.cpuUsage(cpu);
            requestCpuMs.push((used.user + used.system) / 1000);
            return pending;
          })
          .then(
            (result) => void results.push(result),
            (e: unknown) => progress('checkpoint', `failed: ${(e as Error).message}`),
          )
          .finally(() => {
            busy = false;
          });
      }, INTERVAL_MS);
      withCkpt.push(await closedLoop(c, keys, seconds, `b${r}`));
      clearInterval(timer);
    }
    await writer.close();
    const pause = summarize(
      results.map((r) => r.pauseMs),
      3,
    );
    const slice = summarize(
      results.map((r) => r.maxSliceMs),
      3,
    );
    const batchWithout = summarize(
      without.flatMap((l) => l.batchMs),
      2,
    );
    const batchWith = summarize(
      withCkpt.flatMap((l) => l.batchMs),
      2,
    );
    const rate = (loops: Loop[]): number => loops.reduce((n, l) => n + l.sent, 0) / loops.reduce((n, l) => n + l.seconds, 0);
    progress(
      'checkpoint',
      `pause p50 ${pause.p50} p99 ${pause.p99} max ${pause.max} ms; slice p99 ${slice.p99} ms; ${results.length} checkpoints`,
    );
    return {
      keys,
      persistent_mib: round(c.memory.persistentBytesInUse() / MiB),
      base: {
        mib: round(base.bytes / MiB),
        total_ms: round(base.totalMs),
        pause_ms: round(base.pauseMs, 3),
        max_slice_ms: round(base.maxSliceMs, 3),
      },
      checkpoints: results.length,
      interval_ms: INTERVAL_MS,
      pause_ms: pause,
      pause_cpu_ms: summarize(requestCpuMs, 3),
      max_slice_ms: slice,
      pages_per_checkpoint: summarize(
        results.map((r) => r.pages),
        0,
      ),
      kinds: { base: results.filter((r) => r.kind === 'base').length, increment: results.filter((r) => r.kind === 'increment').length },
      write_ms: summarize(
        results.map((r) => r.totalMs),
        1,
      ),
      preserved_pages_max: Math.max(0, ...results.map((r) => r.preservedPages)),
      load: {
        batch: BATCH,
        rounds: without.length,
        seconds_each: seconds,
        sets_per_s: {
          without: Math.round(rate(without)),
          with: Math.round(rate(withCkpt)),
          ratio: round(rate(withCkpt) / rate(without), 3),
        },
        batch_ms: { without: batchWithout, with: batchWith },
      },
    };
  } finally {
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measureRecovery(quick: boolean): Promise<unknown> {
  const target = (quick ? 64 : 240) * MiB;
  const module = trackedKvModule();
  const memory = new PersistentMemory({ maxBytes: MEMORY_BYTES });
  const pages = new DirtyPageCheckpoint(memory);
  const kv = new KvOnMemory(module, memory, 'init');
  const value = 'x'.repeat(1000);
  let keys = 0;
  while (memory.persistentBytesInUse() < target) kv.send(`SET ${keyOf(keys++)} ${value}`);
  const dir = mkdtempSync(join(tmpdir(), 'hotswap-bench-recovery-'));
  try {
    const writer = new CheckpointWriter({ dir, component: 'big', memory, pages, fsync: true });
    const base = await writer.request({ journalSeq: 0, state: null });
    for (let round = 1; round <= 4; round++) {
      for (let i = 0; i < 5_000; i++) kv.send(`SET ${keyOf(Math.floor(Math.random() * keys))} r${round}`);
      await writer.request({ journalSeq: round, state: null });
    }
    await writer.close();
    // 100k journal records after the checkpoint: the SETs replayed below, as the journal holds them.
    const journalDir = join(dir, 'journal');
    const journal = new JournalWriter({ dir: journalDir, mode: 'os', nextSeq: 5, log: new Logger('bench', 'warn'), onDurable: () => {} });
    for (let i = 0; i < REPLAYED; i++) {
      const payload = Buffer.from(`SET ${keyOf(i % keys)} replayed${i}`);
      const body = { kind: RecordKind.message, channel: 0, iface: -1, peer: '127.0.0.1:40000', payload, repliable: true } as const;
      journal.append({ wallMs: Date.now(), monoMs: performance.now(), component: 'big', body, tape: NO_TAPE });
      if (i % 10_000 === 0) await journal.flush();
    }
    await journal.close();
    const expected = persistentHash(memory);
    progress(
      'recovery',
      `${keys} keys, ${round(memory.persistentBytesInUse() / MiB)} MiB in use; base ${round(base.bytes / MiB)} MiB + 4 increments`,
    );
    const samples: { scan: number; restore: number; sync: number; journal: number; replay: number; total: number; later: number }[] = [];
    let longestTurn = 0;
    for (let run = 0; run < (quick ? 1 : 3); run++) {
      const t0 = performance.now();
      const loaded = openCheckpoint(dir, 'big');
      const t1 = performance.now();
      const fresh = new PersistentMemory({ maxBytes: MEMORY_BYTES });
      const shadow = new DirtyPageCheckpoint(fresh);
      loaded!.restoreInto(fresh, shadow);
      const t2 = performance.now();
      shadow.sync();
      const t3 = performance.now();
      if (persistentHash(fresh) !== expected) throw new Error('restored memory differs from the checkpointed one');
      const replayer = new KvOnMemory(module, fresh, 'restart');
      const t4 = performance.now();
      const { records } = readJournal(journalDir, 4);
      const t5 = performance.now();
      for (const r of records) if (r.body.kind === RecordKind.message) replayer.send(r.body.payload.toString('latin1'));
      const t6 = performance.now();
      if (records.length !== REPLAYED) throw new Error(`read ${records.length} journal records, wrote ${REPLAYED}`);
      // After recovery, off its path: the presync of the first checkpoint copies the restored
      // pages into the shadow one budgeted event-loop turn at a time (summed here, without the
      // turns between; the longest turn is what a request arriving then waits for).
      let later = 0;
      for (let done = false; !done; ) {
        const t7 = performance.now();
        done = presyncTurn(shadow).done;
        const turn = performance.now() - t7;
        later += turn;
        longestTurn = Math.max(longestTurn, turn);
      }
      if (shadow.restoredPending() !== 0) throw new Error('restored pages left uncopied');
      samples.push({
        scan: t1 - t0,
        restore: t2 - t1,
        sync: t3 - t2,
        journal: t5 - t4,
        replay: t6 - t5,
        total: t3 - t0 + (t6 - t4),
        later,
      });
    }
    // Same-run baselines: a plain copy and a CRC32 of the bytes in use.
    const bytes = Buffer.from(memory.memory.buffer, 0, memory.persistentBytesInUse());
    const copy = Buffer.allocUnsafeSlow(bytes.length);
    const tc = performance.now();
    bytes.copy(copy);
    const copyMs = performance.now() - tc;
    const tcrc = performance.now();
    crc32(bytes);
    const crcMs = performance.now() - tcrc;
    const pick = (k: keyof (typeof samples)[number]) =>
      summarize(
        samples.map((s) => s[k]),
        1,
      );
    const loaded = openCheckpoint(dir, 'big')!;
    return {
      keys,
      persistent_mib: round(memory.persistentBytesInUse() / MiB),
      chain_mib: round(loaded.bytes / MiB),
      files: loaded.files.length,
      runs: samples.length,
      page_cache: 'warm (files just written)',
      baseline_ms: { memcpy_state: round(copyMs, 1), crc32_state: round(crcMs, 1) },
      ms: {
        scan_and_check: pick('scan'),
        restore: pick('restore'),
        shadow_sync: pick('sync'),
        read_100k_journal_records: pick('journal'),
        replay_100k_sets: pick('replay'),
        total: pick('total'),
        after_recovery_shadow_copy_in_steps: pick('later'),
      },
      after_recovery_longest_turn_ms: Math.round(longestTurn * 100) / 100,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

runCase(import.meta.url, async (o) => ({
  mode: o.quick ? 'quick' : 'full',
  pause: await measurePause(o.quick),
  recovery: await measureRecovery(o.quick),
}));
