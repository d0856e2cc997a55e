/**
 * The host's layers, lowest first; a file may import from its own layer or any layer below,
 * never from one above (docs/ARCHITECTURE.md, "Layers"):
 *   abi → modules → component → capabilities, sources → repository → durability → engine (+ config) → control, fleet → cli
 * (control and fleet are siblings: neither imports the other.)
 * host/log.ts, host/paths.ts and host/schema.ts are leaf utilities anyone may import; host/index.ts
 * is the package's public API and no host file imports it. host/testing/ (wasm-hotswap/testing)
 * may import component/ and below, and nothing imports it. `npm run check:deps`.
 */
const layers = [
  ['abi', '^host/abi/'],
  ['modules', '^host/modules/'],
  ['component', '^host/component/'],
  ['capabilities and sources', '^host/(capabilities|sources)/'],
  ['repository', '^host/repository/'],
  ['durability', '^host/durability/'],
  ['engine', '^host/(engine\\.ts|engine/|config)'],
  ['fleet', '^host/fleet/'],
  ['control', '^host/control/'],
  ['cli', '^host/cli/'],
];

const upward = layers.slice(0, -1).map(([name, path], i) => ({
  name: `no-upward-from-${name.replace(/\W+/g, '-')}`,
  comment: `the ${name} layer must not import from a layer above it`,
  severity: 'error',
  from: { path },
  to: { path: layers.slice(i + 1).map(([, p]) => `(${p})`).join('|') },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'import cycles make the layers meaningless: every file in a cycle depends on every other',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...upward,
    {
      name: 'control-and-fleet-are-siblings',
      comment: 'the control API and the fleet agent both sit on the engine; the CLI wires them together',
      severity: 'error',
      from: { path: '^host/control/' },
      to: { path: '^host/fleet/' },
    },
    {
      name: 'leaf-utilities-import-nothing',
      comment: 'host/log.ts, paths.ts and schema.ts are importable from every layer, so they import no host file',
      severity: 'error',
      from: { path: '^host/(log|paths|schema)\\.ts$' },
      to: { path: '^host/' },
    },
    {
      name: 'public-api-is-imported-by-nobody',
      comment: 'host/index.ts only re-exports for users of the package; inside host/ import the real module',
      severity: 'error',
      from: { path: '^host/' },
      to: { path: '^host/index\\.ts$' },
    },
    {
      name: 'testing-imports-component-and-below',
      comment: 'host/testing/ (wasm-hotswap/testing) runs one module in process: it needs the component and below, never the engine',
      severity: 'error',
      from: { path: '^host/testing/' },
      to: { path: '^host/(capabilities|sources|repository|engine|config|control|cli)' },
    },
    {
      name: 'nobody-imports-testing',
      comment: 'host/testing/ is for module authors\' tests; nothing in the host depends on it',
      severity: 'error',
      from: { path: '^host/(?!testing/)' },
      to: { path: '^host/testing/' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'an import that does not resolve is a typo or a missing file',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count too: a type import upwards still ties a lower layer to a higher one.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // `exports` too: the @nats-io packages name their entry points only there.
    enhancedResolveOptions: { extensions: ['.ts', '.js'], exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
