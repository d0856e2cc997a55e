// The ABI's single source (host/abi/abi.ts) against what is derived from it: the generated SDK
// files, the memory layout's derived numbers, the SDK's exports and the modules actually built.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as abi from '../host/abi/abi.js';
import { EXPORT_FUEL_KIND } from '../host/modules/fuel-budgets.js';
import { inspectModule } from '../host/modules/inspect.js';
import { exportProblems } from '../scripts/gen-abi.js';
import { repoRoot } from './support/engine-process.js';

const generated = (file: string): string => readFileSync(join(repoRoot, 'assembly/sdk/generated', file), 'utf8');
const wasmType = (asType: string): string => {
  assert.ok(asType in abi.AS_TYPES, `unknown AssemblyScript type ${asType}`);
  return abi.AS_TYPES[asType as abi.AsType];
};

test('the generated hs declarations are exactly HOST_IMPORTS', () => {
  const pattern = /^@external\("(\w+)", "(\w+)"\) export declare function (\w+)\(([^)]*)\): (\w+);$/gm;
  const declared = [...generated('imports.ts').matchAll(pattern)];
  assert.equal(
    declared.map((m) => m[2]),
    Object.keys(abi.HOST_IMPORTS),
  );
  for (const [, namespace, name, fn, params, result] of declared) {
    const expected = abi.HOST_IMPORTS[name as abi.HostImportName];
    assert.is(namespace, abi.HOST_NAMESPACE);
    assert.is(fn, `hs_${name}`);
    const args = params!
      .split(', ')
      .filter((p) => p.length > 0)
      .map((p) => p.split(': ') as [string, string]);
    assert.equal(
      args,
      expected.args.map(([n, t]) => [n, t]),
      `parameters of hs.${name}`,
    );
    assert.equal(
      args.map(([, t]) => wasmType(t)),
      [...expected.params],
      `Wasm parameters of hs.${name}`,
    );
    assert.equal(result === 'void' ? [] : [wasmType(result!)], [...expected.results], `Wasm result of hs.${name}`);
  }
});

test('the generated constants carry the ABI numbers, derived ones included', () => {
  const constants = new Map(
    [...generated('abi.ts').matchAll(/^@inline export const (\w+): [iu]32 = (-?\d+);$/gm)].map((m) => [m[1]!, Number(m[2])]),
  );
  for (const [name, value] of Object.entries(abi)) {
    if (typeof value === 'number') assert.is(constants.get(name), value, name);
  }
  assert.is(constants.get('START_LAYOUT_MISMATCH'), abi.StartResult.layoutMismatch);
  assert.is(constants.get('MIGRATE_REFUSED'), abi.MigrateResult.refused);
  assert.is(constants.get('HOST_DENIED'), abi.HostResult.denied);
  assert.is(constants.get('HDR_FREE_LISTS'), abi.HeaderField.freeLists);
});

test('the derived layout is version 1 unchanged', () => {
  assert.is(abi.ABI_VERSION, 1);
  assert.is(abi.DIRTY_MAP_SIZE, 65536 + 4096);
  assert.is(abi.ARENA_OFFSET, 143360);
  assert.is(abi.NO_IFACE, 0xffffffff);
  assert.is(abi.PALLOC_BLOCK_HEADER, 8);
  assert.is(abi.PALLOC_MIN_CLASS, 4);
  assert.is(abi.FREE_LIST_CLASSES, 28);
});

test('the memory regions are in order, do not overlap, and the dirty map covers MEMORY_BASE', () => {
  const regions: [string, number, number][] = [
    ['null guard', 0, abi.NULL_GUARD_END],
    ['header', abi.HEADER_OFFSET, abi.HEADER_OFFSET + abi.HEADER_SIZE],
    ['inbox metadata', abi.INBOX_OFFSET, abi.INBOX_PEER],
    ['inbox peer', abi.INBOX_PEER, abi.INBOX_PEER + abi.INBOX_PEER_CAPACITY],
    ['inbox data', abi.INBOX_DATA, abi.INBOX_DATA + abi.INBOX_CAPACITY],
    ['dirty map', abi.DIRTY_MAP_OFFSET, abi.DIRTY_MAP_OFFSET + abi.DIRTY_MAP_SIZE],
    ['arena', abi.ARENA_OFFSET, abi.MEMORY_BASE],
  ];
  for (const [name, start, end] of regions) assert.ok(start < end, `${name} is empty`);
  for (let i = 1; i < regions.length; i++) {
    const [before, , beforeEnd] = regions[i - 1]!;
    const [name, start] = regions[i]!;
    assert.ok(beforeEnd <= start, `${before} (to ${beforeEnd}) overlaps ${name} (from ${start})`);
  }
  const inboxFieldsEnd = Math.max(...Object.values(abi.InboxField)) + 4;
  assert.ok(abi.INBOX_OFFSET + inboxFieldsEnd <= abi.INBOX_PEER, 'inbox fields run into the peer');
  const freeListsEnd = abi.HeaderField.freeLists + 4 * abi.FREE_LIST_CLASSES;
  assert.ok(freeListsEnd <= abi.HEADER_SIZE, `free lists end at ${freeListsEnd}, past the header`);
  // One map byte per page below MEMORY_BASE, plus the sink byte for stores that straddle it.
  assert.ok(abi.DIRTY_MAP_SIZE >= (abi.MEMORY_BASE >>> abi.DIRTY_PAGE_SHIFT) + 1);
  assert.is(abi.ARENA_OFFSET % abi.DIRTY_PAGE_SIZE, 0, 'the arena starts on a page');
  assert.is(abi.MEMORY_BASE % abi.DIRTY_PAGE_SIZE, 0);
  // The batch inbox's records lie between the peer and the data, and hold a slice's worth and more.
  assert.is(abi.BATCH_TABLE_OFFSET, abi.INBOX_PEER + abi.INBOX_PEER_CAPACITY);
  assert.ok(abi.BATCH_TABLE_OFFSET + abi.BATCH_MAX_EVENTS * abi.BATCH_RECORD_SIZE <= abi.INBOX_DATA);
  assert.is(abi.BATCH_RECORD_SIZE, Object.keys(abi.BatchField).length * 4);
  assert.ok(abi.BATCH_MAX_EVENTS >= 128);
  // The largest size class still fits a u32 offset.
  assert.is(abi.PALLOC_MIN_CLASS + abi.FREE_LIST_CLASSES - 1, 31);
});

test('every export has a fuel kind, and the required/optional split covers the table', () => {
  assert.equal(Object.keys(EXPORT_FUEL_KIND), [...abi.EXPORT_NAMES]);
  assert.equal([...Object.keys(abi.REQUIRED_EXPORTS), ...Object.keys(abi.OPTIONAL_EXPORTS)].sort(), [...abi.EXPORT_NAMES].sort());
  assert.equal(Object.keys(abi.OPTIONAL_EXPORTS), ['on_messages', 'migrate', 'migrate_down']);
});

test("the SDK's exports.ts matches the table, and a mismatch is named", () => {
  const source = readFileSync(join(repoRoot, 'assembly/sdk/exports.ts'), 'utf8');
  assert.equal(exportProblems(source), []);
  const broken = source
    .replace('export function init(header: u32): i32', 'export function init(header: i32): i32')
    .replace(/^export function on_timer.*$/m, '')
    .concat('\nexport function extra(): void {}\n');
  const problems = exportProblems(broken);
  assert.is(problems.length, 3, problems.join('\n'));
  assert.ok(
    problems.some((p) => p.startsWith('export init: declared init(header: i32): i32')),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p.startsWith('export on_timer: missing')),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p.startsWith('export extra: not an export of the ABI')),
    problems.join('\n'),
  );
});

const builtModules = (): string[] => {
  const dir = join(repoRoot, 'build/modules');
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.wasm'))
    .map((f) => join(dir, f))
    .sort();
};

test('every built module exports the table with its signatures and imports only what the host offers', () => {
  const modules = builtModules();
  assert.ok(modules.length >= 10, `only ${modules.length} modules under build/modules`);
  for (const file of modules) {
    const bytes = readFileSync(file);
    const functions = WebAssembly.Module.exports(new WebAssembly.Module(bytes))
      .filter((e) => e.kind === 'function')
      .map((e) => e.name);
    for (const name of Object.keys(abi.REQUIRED_EXPORTS)) assert.ok(functions.includes(name), `${file}: no export ${name}`);
    for (const name of functions) assert.ok(name in abi.EXPORTS, `${file}: exports ${name}, which is not in the ABI`);
    const info = inspectModule(bytes);
    for (const name of functions) {
      const expected = abi.EXPORTS[name as abi.ExportName];
      const actual = info.exports.get(name)?.signature;
      assert.equal(actual, { params: [...expected.params], results: [...expected.results] }, `${file}: signature of ${name}`);
    }
    for (const imp of info.functionImports.filter((i) => i.module === abi.HOST_NAMESPACE)) {
      const expected = abi.HOST_IMPORTS[imp.name as abi.HostImportName];
      assert.ok(expected, `${file}: imports hs.${imp.name}, which the host does not offer`);
      assert.equal([imp.params, imp.results], [[...expected.params], [...expected.results]], `${file}: signature of hs.${imp.name}`);
    }
  }
});

test.run();
