// The journal's damage rules, on a journal a real engine wrote: its last record cut at every
// byte offset is dropped with a log line and costs only that record (never acknowledged);
// a flipped byte inside an earlier record stops recovery with an error naming the file and the
// offset, and leaves every file as it was. Each case is then run through the real engine too.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DurableComponent } from '../host/durability/durable-component.js';
import { JournalCorruptError, listSegments, readJournal } from '../host/durability/journal/reader.js';
import { Logger } from '../host/log.js';
import { UdpClient } from './support/clients.js';
import { CrashSite } from './support/crash.js';

const site = new CrashSite();
const scratch = mkdtempSync(join(tmpdir(), 'hotswap-journal-'));
test.after(() => {
  site.remove();
  rmSync(scratch, { recursive: true, force: true });
});

const KEYS = 20;
const kvDir = (dataDir: string): string => join(dataDir, 'durable', 'kv');
const lastSegment = (dir: string): string => {
  const segments = listSegments(join(dir, 'journal'));
  return join(dir, 'journal', segments.at(-1)!);
};

/** A DurableComponent opened on `dir`, with its log lines. */
function open(dir: string): { journal: DurableComponent; lines: string[] } {
  const lines: string[] = [];
  const log = new Logger('kv', 'debug', { write: (line) => void lines.push(line) });
  return { journal: new DurableComponent({ dir, component: 'kv', mode: 'os', log }), lines };
}

/** Every file under `dir` with its bytes, to show nothing changed. */
function snapshot(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else files.set(p, readFileSync(p));
    }
  };
  walk(dir);
  return files;
}

let records = 0;
let lastStart = 0;
let lastLength = 0;

test('a real engine writes the journal: KEYS SETs and a last one, then it is stopped', async () => {
  const engine = await site.start([{ name: 'kv', version: '1.0.0', tcp: false }]);
  const client = new UdpClient(engine.ports.get('kv')!.udp!);
  const replies = await client.pipeline(Array.from({ length: KEYS }, (_, i) => `SET k${i} v${i}`));
  assert.ok(replies.every((r) => r === 'OK'));
  assert.is(await client.request('SET last one'), 'OK');
  client.close();
  await site.kill(engine);
  const contents = readJournal(join(kvDir(site.dataDir), 'journal'));
  records = contents.records.length;
  const last = contents.records.at(-1)!;
  assert.is(last.body.kind, 1, 'the last record is the message SET last one');
  // The last record starts where the journal without it would end; preallocated zeros (mode
  // fsync) may follow it.
  const data = readFileSync(lastSegment(kvDir(site.dataDir)));
  for (let at = 0; at < data.length && data.readUInt32LE(at) > 0; at += data.readUInt32LE(at)) lastStart = at;
  lastLength = data.readUInt32LE(lastStart);
  assert.ok(lastLength > 33, `last record of ${lastLength} bytes`);
});

test('the last record cut at every byte offset: recovery drops it (and only it) with a log line', () => {
  for (let cut = 0; cut < lastLength; cut++) {
    const dir = join(scratch, `cut-${cut}`);
    cpSync(kvDir(site.dataDir), dir, { recursive: true });
    const file = lastSegment(dir);
    truncateSync(file, lastStart + cut);
    const { journal, lines } = open(dir);
    assert.is(journal.recordsToReplay, records - 1, `cut at ${cut}: all records but the last`);
    assert.is(statSync(file).size, lastStart, `cut at ${cut}: the torn bytes are dropped`);
    if (cut > 0)
      assert.ok(
        lines.some((l) => l.includes('dropped the torn last record') && l.includes(`offset ${lastStart}`)),
        lines.join('\n'),
      );
    rmSync(dir, { recursive: true });
  }
});

test('the last record cut at every byte offset with preallocated zeros after the cut: dropped the same way', () => {
  for (let cut = 0; cut < lastLength; cut++) {
    const dir = join(scratch, `zero-${cut}`);
    cpSync(kvDir(site.dataDir), dir, { recursive: true });
    const file = lastSegment(dir);
    const data = readFileSync(file);
    // A crash in the middle of the write into preallocated space: the rest of the record is zeros.
    const zeroed = Buffer.concat([data.subarray(0, lastStart + cut), Buffer.alloc(lastLength - cut + 4096)]);
    writeFileSync(file, zeroed);
    // Zeros where the record had zeros anyway leave it whole.
    const whole = data.subarray(lastStart + cut, lastStart + lastLength).every((b) => b === 0);
    const { journal } = open(dir);
    assert.is(journal.recordsToReplay, whole ? records : records - 1, `zeros from ${cut}: all records but the last`);
    rmSync(dir, { recursive: true });
  }
});

test('a real engine restarted on a journal cut inside its last record has every other key', async () => {
  truncateSync(lastSegment(kvDir(site.dataDir)), lastStart + Math.floor(lastLength / 2));
  const engine = await site.start([{ name: 'kv', version: '1.0.0', tcp: false }]);
  assert.match(engine.output(), /dropped the torn last record/);
  const client = new UdpClient(engine.ports.get('kv')!.udp!);
  const replies = await client.pipeline(Array.from({ length: KEYS }, (_, i) => `GET k${i}`));
  assert.equal(
    replies,
    Array.from({ length: KEYS }, (_, i) => `VALUE v${i}`),
  );
  assert.is(await client.request('GET last'), 'NOT_FOUND');
  client.close();
  await engine.stop();
});

test('a flipped byte inside an earlier record stops recovery, naming the file and offset, deleting nothing', async () => {
  const file = lastSegment(kvDir(site.dataDir));
  const data = readFileSync(file);
  // The third record: inside its body, well before the tail.
  let at = 0;
  for (let n = 0; n < 2; n++) at += data.readUInt32LE(at);
  const flipAt = at + 40;
  data[flipAt] = data[flipAt]! ^ 0x5a;
  writeFileSync(file, data);
  const before = snapshot(kvDir(site.dataDir));
  try {
    open(kvDir(site.dataDir));
    assert.unreachable('recovery must stop');
  } catch (e) {
    assert.instance(e, JournalCorruptError);
    const err = e as JournalCorruptError;
    assert.is(err.file, file);
    assert.is(err.offset, at);
    assert.match(err.message, /CRC mismatch/);
  }
  // The real engine refuses to start, with the same message, and leaves the data as it was.
  let message = '';
  try {
    const engine = await site.start([{ name: 'kv', version: '1.0.0', tcp: false }]);
    await engine.stop();
  } catch (e) {
    message = (e as Error).message;
  }
  assert.ok(message.includes(`journal ${file} is damaged at byte offset ${at}`), message);
  assert.equal(snapshot(kvDir(site.dataDir)), before, 'no file was changed or deleted');
});

test.run();
