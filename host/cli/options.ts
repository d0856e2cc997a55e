// The `hotswap` command's help text and the options it parses, in one place: main.ts dispatches
// on them and start.ts reads the engine's overrides from them.

export const HELP = `hotswap: run and upgrade hot-swappable WebAssembly components

Usage:
  hotswap start [--config FILE] [--listen HOST:PORT] [--control HOST:PORT] [--data-dir DIR]
                [--log-level debug|info|warn|error] [--log-format text|json] [--fleet URL[,…] --node NAME]
      Runs the engine (default config: config/default.json, component kv on 127.0.0.1:7400).
      Modules and history are kept in the data directory (default .hotswap); the bundled
      example modules are registered there at first start.
  hotswap status [component]
      Version, state, queue depth, events handled and the last upgrade.
  hotswap show <component>
      The status text the module itself produces.
  hotswap push <component> <file.wasm> --version V [--sign KEY.pem | --signature FILE]
      Uploads a module version to the repository after the engine's checks, with progress.
      --sign signs it with an Ed25519 private key; --signature sends a detached signature.
  hotswap upgrade <component> <version | path/to/module.wasm> [--version V]
      Swaps in another module version while the component keeps running. Prints from, to,
      the pause in microseconds, the events that queued during the swap and every phase.
      A .wasm path is pushed and swapped in at once.
  hotswap rollback <component> [version]
      Goes back to the version the running one replaced (or to the named one).
  hotswap versions <component>
      The stored versions: sha256, size, ABI and layout versions, upload time and uploader.
  hotswap history <component> [--limit N]
      Every upgrade, rollback and failure, newest first, with its cause.
  hotswap deploy <name> <version | file.wasm> --listen udp://HOST:PORT [--listen tcp://HOST:PORT]
                 [--module M] [--capabilities JSON] [--limits JSON] [--signal NAME] [--version V]
      Creates and starts a component on the running engine; kept across restarts.
  hotswap remove <name> [--drop-data]
      Stops a component (its module's final TERM) and frees its ports; --drop-data forgets its history.
  hotswap new <name> [--dir DIR] [--engine SPEC]
      Scaffolds a module project: package.json, asconfig.json, assembly/index.ts (a counter), a test.
  hotswap build [entry.ts] [--out FILE] [--version V]
      Compiles a module project with the engine's asc flags, then runs the engine's checks on it.
  hotswap rollout <component> <version | file.wasm> [--version V] [--canary N] [--steps 10,50,100]
                  [--hold 30s] [--max-faults N] [--timeout 120s] [--sign KEY.pem]
      Rolls a version out to every engine of the fleet (docs/FLEET.md): the canary nodes, then
      each step's share, each gated on probation and the hold; any failure reverts them all.
      Exit status: 0 done, 3 halted and reverted, 4 aborted, 5 refused (another rollout).
  hotswap rollout status <component> | hotswap rollout abort <component>

Options:
  --control HOST:PORT   control endpoint (env HOTSWAP_CONTROL; default 127.0.0.1:7070)
  --token TOKEN         bearer token (env HOTSWAP_TOKEN; default: read from the data
                        directory, which the engine on this machine tells the CLI about)
  --data-dir DIR        data directory (env HOTSWAP_DATA_DIR; default .hotswap)
  --config FILE         configuration file (start; also where the CLI finds the data directory)
  --fleet URL[,…]       NATS servers of the fleet (start, rollout; env HOTSWAP_FLEET)
  --node NAME           start: this engine's name in the fleet (env HOTSWAP_NODE)
  --log-level LEVEL     start: debug, info, warn or error (env HOTSWAP_LOG_LEVEL; default info)
  --log-format FORMAT   start: text, or json for one JSON object per line (env HOTSWAP_LOG_FORMAT)
  --json                machine-readable output on stdout
  -h, --help            this help

Errors go to stderr, and the exit status is 1 (2 for a usage error).
`;

export const options = {
  config: { type: 'string' },
  listen: { type: 'string', multiple: true },
  control: { type: 'string' },
  'data-dir': { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  token: { type: 'string' },
  version: { type: 'string' },
  sign: { type: 'string' },
  signature: { type: 'string' },
  limit: { type: 'string' },
  module: { type: 'string' },
  capabilities: { type: 'string' },
  limits: { type: 'string' },
  signal: { type: 'string', multiple: true },
  'drop-data': { type: 'boolean', default: false },
  dir: { type: 'string' },
  engine: { type: 'string' },
  out: { type: 'string' },
  fleet: { type: 'string' },
  node: { type: 'string' },
  canary: { type: 'string' },
  steps: { type: 'string' },
  hold: { type: 'string' },
  'max-faults': { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** The parsed options, typed from \`options\`. */
export type Values = {
  [K in keyof typeof options]?: (typeof options)[K] extends { multiple: true }
    ? string[]
    : (typeof options)[K]['type'] extends 'string'
      ? string
      : boolean;
};
