/**
 * Seeds build/prepared/ (`npm run build:prepared`, part of `npm run build`): the checked bytes of
 * every bundled module under the policies an engine gives them by default (a component with the
 * schema's defaults, with and without WASI, and each component of config/*.json). An engine
 * reads them before asking its prepare worker, so even its first start skips binaryen for those
 * (docs/DURABILITY.md, "Restart time"): 1.3 s of a 3.6 s start on the 2-core development machine.
 *
 * It runs the compiled host (build/host), because an entry is only valid for the exact code that
 * prepares modules, and that is the code `hotswap start` runs. Entries already there and valid
 * are kept without starting the worker; files that no current entry names are removed.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(import.meta.dirname, '..');
const host = (path: string): string => pathToFileURL(join(root, 'build', 'host', path)).href;

type ConfigModule = typeof import('../host/config.js');
type PolicyModule = typeof import('../host/engine/policy.js');
type StoreModule = typeof import('../host/modules/checked-store.js');
type PreparerModule = typeof import('../host/modules/preparer.js');
type PathsModule = typeof import('../host/paths.js');
type ClaimedModule = typeof import('../host/modules/claimed.js');

const { loadConfig } = (await import(host('config.js'))) as ConfigModule;
const { policyOf } = (await import(host('engine/policy.js'))) as PolicyModule;
const { CheckedModuleStore } = (await import(host('modules/checked-store.js'))) as StoreModule;
const { ModulePreparer } = (await import(host('modules/preparer.js'))) as PreparerModule;
const { bundledModulesDir, seededPreparedDir } = (await import(host('paths.js'))) as PathsModule;
const { preparationKey } = (await import(host('modules/claimed.js'))) as ClaimedModule;

const modules = readdirSync(bundledModulesDir, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.wasm'))
  .sort()
  .map((f) => ({ name: f.split('/')[0]!, bytes: readFileSync(join(bundledModulesDir, f)) }));

// The policies: a component with nothing but the required fields (what tests and embedders
// write), the same with WASI, and every component of the shipped configuration files.
const scratch = mkdtempSync(join(tmpdir(), 'hotswap-seed-'));
const minimal = join(scratch, 'minimal.json');
writeFileSync(
  minimal,
  JSON.stringify({
    components: [
      { name: 'plain', module: 'kv', version: '1.0.0', listen: [] },
      { name: 'wasi', module: 'kv', version: '1.0.0', listen: [], wasi: true },
    ],
  }),
);
const configs = [minimal, ...readdirSync(join(root, 'config')).map((f) => join(root, 'config', f))];
const policies = new Map<string, ReturnType<typeof policyOf>>();
for (const file of configs) {
  for (const component of loadConfig(file).components) {
    const policy = policyOf(component);
    policies.set(JSON.stringify(policy), policy);
  }
}
rmSync(scratch, { recursive: true, force: true });

const store = new CheckedModuleStore(seededPreparedDir);
const preparer = new ModulePreparer({ store });
const kept = new Set<string>();
let made = 0;
try {
  for (const m of modules) {
    for (const policy of policies.values()) {
      const bytes = new Uint8Array(m.bytes); // a copy per check: the worker takes the one it is given
      const file = store.fileOf(preparationKey(bytes, { name: m.name }, policy));
      try {
        const checked = await preparer.check(bytes, { name: m.name }, policy);
        if (!checked.stored) made++;
        kept.add(file);
      } catch {
        // refused under this policy (a WASI module without WASI, say): nothing to seed
      }
    }
  }
} finally {
  await preparer.close();
}
let removed = 0;
for (const f of safeList(seededPreparedDir)) {
  if (kept.has(f)) continue;
  rmSync(join(seededPreparedDir, f), { force: true });
  removed++;
}
console.log(`build/prepared: ${kept.size} checked modules (${made} made now, ${removed} stale removed)`);

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
