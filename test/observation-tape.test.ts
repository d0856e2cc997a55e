// The observation tape's runs of flags: a flood of refused calls is a few bytes on the tape, and
// a replay hands back every admission in order, with a mismatch past a run reported as divergence.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ObservationTape } from '../host/durability/journal/tape.js';

const admitFirst = (limit: number) => {
  let calls = 0;
  return (_n: number): boolean => ++calls <= limit;
};

test('a million refusals after 256 admissions record as two runs and replay exactly', () => {
  const tape = new ObservationTape();
  tape.record();
  const live = admitFirst(256);
  const recorded: boolean[] = [];
  for (let i = 0; i < 1_000_000; i++) recorded.push(tape.flag(live, 64));
  tape.number(() => 42);
  recorded.push(tape.flag(() => true, 1));
  const bytes = Buffer.from(tape.stop()!.view());
  assert.ok(bytes.length < 40, `the tape holds ${bytes.length} bytes`);

  tape.replay(bytes);
  const never = (): boolean => {
    throw new Error('a replay must not ask the quota');
  };
  for (let i = 0; i < 1_000_000; i++) if (tape.flag(never, 64) !== recorded[i]) assert.unreachable(`flag ${i} differs`);
  assert.is(
    tape.number(() => -1),
    42,
  );
  assert.is(tape.flag(never, 1), true);
  assert.is(tape.stop(), null);
  assert.is(tape.diverged, null);
});

test('a replay that asks for a number inside a run of flags diverges and names the place', () => {
  const tape = new ObservationTape();
  tape.record();
  for (let i = 0; i < 10; i++) tape.flag(() => false, 1);
  const bytes = Buffer.from(tape.stop()!.view());
  tape.replay(bytes);
  tape.flag(() => true, 1);
  assert.is(
    tape.number(() => 7),
    7,
  );
  tape.stop();
  assert.match(tape.diverged ?? '', /within a run of 9 more flags/);
});

test('a replay that stops inside a run reports the unused flags', () => {
  const tape = new ObservationTape();
  tape.record();
  for (let i = 0; i < 3; i++) tape.flag(() => true, 1);
  const bytes = Buffer.from(tape.stop()!.view());
  tape.replay(bytes);
  tape.flag(() => false, 1);
  tape.stop();
  assert.match(tape.diverged ?? '', /observed bytes/);
});

test.run();
