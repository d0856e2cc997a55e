// Version rules and ordering: semver.org 2.0.0 precedence, as the repository sorts its versions
// (compareVersions, ModuleStore.list on a real SQLite file, BundledModules on a real directory),
// and the versions the repository refuses, with the rule named where a user sees the refusal.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, loadConfig } from '../host/config.js';
import { BundledModules } from '../host/repository/bundled.js';
import { openDatabase } from '../host/repository/database.js';
import { compareVersions, isValidVersion, VERSION_RULE } from '../host/repository/repository.js';
import { ModuleStore } from '../host/repository/store.js';

const sorted = (versions: string[]): string[] => [...versions].sort(compareVersions);
/** A shuffle that is the same on every run, so a failure can be reproduced. */
const shuffled = (versions: string[]): string[] =>
  versions
    .map((v, i) => [v, (i * 7919) % 101] as const)
    .sort((a, b) => a[1] - b[1])
    .map(([v]) => v);

test('release order: 1.0.0-rc.1 < 1.0.0 < 1.0.1 < 1.2.9 < 1.2.10 < 2.0.0 < 10.0.0', () => {
  const order = ['1.0.0-rc.1', '1.0.0', '1.0.1', '1.2.9', '1.2.10', '2.0.0', '10.0.0'];
  assert.equal(sorted(shuffled(order)), order);
  assert.ok(compareVersions('1.0.0-rc.1', '1.0.0') < 0, 'a prerelease comes before its release');
  assert.ok(compareVersions('1.0.0', '1.0.0-rc.1') > 0);
  assert.ok(compareVersions('0.9.99', '1.0.0-alpha') < 0, 'but after the release before it');
});

test('prerelease precedence (semver.org item 11): numeric identifiers numerically, the rest as text', () => {
  const order = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0'];
  assert.equal(sorted(shuffled(order)), order);
  assert.ok(compareVersions('1.0.0-2', '1.0.0-10') < 0, 'numeric identifiers compare as numbers');
  assert.ok(compareVersions('1.0.0-10', '1.0.0-a') < 0, 'numeric identifiers come before alphanumeric ones');
});

test('build metadata does not change precedence, but orders equal versions deterministically', () => {
  assert.ok(compareVersions('1.0.0+build.2', '1.0.1') < 0);
  assert.ok(compareVersions('1.0.0-rc.1+zzz', '1.0.0') < 0);
  assert.ok(compareVersions('1.0.0', '1.0.0+build') < 0, 'no metadata first');
  assert.ok(compareVersions('1.0.0+build.1', '1.0.0+build.2') < 0);
  assert.is(compareVersions('1.0.0+b', '1.0.0+b'), 0);
  assert.equal(sorted(['1.0.0+b', '1.0.0', '1.0.0+a']), ['1.0.0', '1.0.0+a', '1.0.0+b']);
});

test('invalid versions are refused; anything invalid that reaches a sort goes last', () => {
  for (const bad of [
    '1.0',
    '1',
    'v1.0.0',
    '01.0.0',
    '1.00.0',
    '1.0.0-',
    '1.0.0-01',
    '1.0.0+',
    '1.0.0-rc..1',
    '../1.0.0',
    '1.0.0/..',
    '1.0.0 ',
    '',
    '1234567890.0.0',
    `1.0.0-${'a'.repeat(59)}`,
  ]) {
    assert.not.ok(isValidVersion(bad), `"${bad}" is refused`);
  }
  for (const good of ['0.0.0', '1.2.3', '1.2.3-rc.1', '1.2.3-0.3.7', '1.2.3-x-y-z.--', '1.2.3+build.5', `1.0.0-${'a'.repeat(58)}`]) {
    assert.ok(isValidVersion(good), `"${good}" is accepted`);
  }
  assert.equal(sorted(['zzz', '2.0.0', '1.0', '1.0.0']), ['1.0.0', '2.0.0', '1.0', 'zzz']);
});

test('an invalid version in a configuration is refused with the rule named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotswap-versions-'));
  try {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ components: [{ name: 'kv', version: '1.0' }] }));
    const error = (() => {
      try {
        loadConfig(file);
      } catch (e) {
        return e;
      }
      return null;
    })();
    assert.instance(error, ConfigError);
    assert.is((error as ConfigError).message, `${file}: components[0].version must be ${VERSION_RULE} (got "1.0")`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the store lists versions and the bundled modules register them in semantic-version order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotswap-versions-'));
  const db = openDatabase(join(dir, 'data'));
  try {
    const store = new ModuleStore(db, join(dir, 'data'));
    const order = ['1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.2.9', '1.2.10'];
    for (const [i, version] of shuffled(order).entries()) {
      store.put({ module: 'kv', version, bytes: Buffer.from([i]), abiVersion: 1, layoutVersion: 1, uploadedBy: 'test' });
    }
    assert.equal(
      store.list('kv').map((v) => v.version),
      order,
    );

    const bundledDir = join(dir, 'bundled');
    mkdirSync(join(bundledDir, 'kv'), { recursive: true });
    for (const version of [...shuffled(order), 'not-a-version']) writeFileSync(join(bundledDir, 'kv', `${version}.wasm`), version);
    const bundled = new BundledModules(bundledDir);
    assert.equal(bundled.versions('kv'), order, 'files that are not versions are left out');
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
