// Unit tests of the fleet's pure parts: the stages and their targets, the --steps and --hold
// parsers, what a node runs for a desired state, the records' schema checks, and the `fleet`
// section of the configuration with its --fleet / --node overrides.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../host/config.js';
import { type DesiredState, desiredCodec, wantedBy } from '../host/fleet/model.js';
import { parseDuration, parseSteps, stagesOf, targetsOf } from '../host/fleet/plan.js';

test('stages: the canary, then each step; counts round up and stay within the fleet', () => {
  const stages = stagesOf(1, [50, 100]);
  assert.equal(
    stages.map((s) => s.label),
    ['canary 1', '50%', '100%'],
  );
  assert.equal(
    stages.map((s) => s.count(5)),
    [1, 3, 5],
  );
  assert.equal(
    stagesOf(3, [10]).map((s) => s.count(2)),
    [2, 1],
  );
});

test('targets: those that have the candidate stay, others are added in name order', () => {
  assert.equal(targetsOf(['n3', 'n1', 'n2'], [], 1), ['n1']);
  assert.equal(targetsOf(['n1', 'n2', 'n3', 'n4'], ['n3'], 3), ['n3', 'n1', 'n2']);
  // A target that is no longer live is dropped; the count is filled from the live ones.
  assert.equal(targetsOf(['n2', 'n3'], ['n1'], 2), ['n2', 'n3']);
});

test('--steps and --hold parse or say what they expected', () => {
  assert.equal(parseSteps('10,50,100'), [10, 50, 100]);
  assert.throws(() => parseSteps('50,10'), /increasing percentages/);
  assert.throws(() => parseSteps('0,100'), /increasing percentages/);
  assert.is(parseDuration('30s', '--hold'), 30_000);
  assert.is(parseDuration('250ms', '--hold'), 250);
  assert.is(parseDuration('2m', '--hold'), 120_000);
  assert.throws(() => parseDuration('soon', '--hold'), /--hold: expected a duration/);
});

const desired = (phase: DesiredState['phase']): DesiredState => ({
  component: 'kv',
  rolloutId: 'r1',
  phase,
  stable: { version: '1.0.0' },
  candidate: { version: '2.0.0', object: 'kv/2.0.0', sha256: 'a'.repeat(64) },
  stage: 0,
  stages: ['canary 1', '100%'],
  targets: ['n1'],
  updatedAt: '2026-01-01T00:00:00.000Z',
});

test('a node runs the candidate only as a target of an active stage', () => {
  assert.is(wantedBy(desired('canary'), 'n1').version, '2.0.0');
  assert.is(wantedBy(desired('canary'), 'n2').version, '1.0.0');
  for (const phase of ['reverting', 'reverted', 'aborted', 'done'] as const) assert.is(wantedBy(desired(phase), 'n1').version, '1.0.0');
});

test('records read from a bucket are checked, and the error names the key and field', () => {
  const codec = desiredCodec();
  const bytes = codec.encode(desired('step'));
  assert.is(codec.decode('kv', bytes).phase, 'step');
  const bad = Buffer.from(JSON.stringify({ ...desired('step'), phase: 'sideways' }));
  assert.throws(() => codec.decode('kv', bad), /hotswap_desired kv: .*phase/);
  assert.throws(() => codec.decode('kv', Buffer.from('{')), /hotswap_desired kv: not JSON/);
});

test('configuration: a fleet section, --fleet / --node overrides, and their mistakes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-config-'));
  const file = join(dir, 'engine.json');
  writeFileSync(file, JSON.stringify({ components: [{ name: 'kv', version: '1.0.0' }], fleet: { servers: ['nats://a:1'], node: 'n1' } }));
  assert.equal(loadConfig(file).fleet, { servers: ['nats://a:1'], node: 'n1' });
  assert.equal(loadConfig(file, { fleet: 'nats://b:2,nats://c:3', node: 'n9' }).fleet, {
    servers: ['nats://b:2', 'nats://c:3'],
    node: 'n9',
  });
  const plain = join(dir, 'plain.json');
  writeFileSync(plain, JSON.stringify({ components: [{ name: 'kv', version: '1.0.0' }] }));
  assert.is(loadConfig(plain).fleet, undefined);
  assert.throws(() => loadConfig(plain, { fleet: 'nats://b:2' }), /needs a node name too/);
  assert.throws(() => loadConfig(plain, { fleet: 'nats://b:2', node: 'Bad Name' }), /--node \/ HOTSWAP_NODE: must match/);
  writeFileSync(file, JSON.stringify({ components: [], fleet: { servers: [], node: 'n1' } }));
  assert.throws(() => loadConfig(file), /fleet\.servers/);
});

test.run();
