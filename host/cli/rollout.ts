// `hotswap rollout …`: starts a fleet rollout and waits for its outcome, shows its status, or
// aborts it, over NATS (--fleet or HOTSWAP_FLEET). The exit status says how it ended.
import { SIGNATURE_HEADER } from '../control/signatures.js';
import { FleetStore, sha256Hex } from '../fleet/fleet-store.js';
import { type ModuleRef, objectName } from '../fleet/model.js';
import { abortRollout, type RolloutStatus, rolloutStatus } from '../fleet/operations.js';
import { parseDuration, parseSteps, stagesOf } from '../fleet/plan.js';
import { type Outcome, Rollout } from '../fleet/rollout.js';
import { CliError, UsageError } from './client.js';
import { readFile, uploadHeaders } from './upload.js';

/** Exit status per outcome: 0 done; 3 halted and reverted; 4 aborted; 5 refused (conflict). */
export const ROLLOUT_EXIT: Record<Outcome['result'], number> = { done: 0, reverted: 3, aborted: 4, conflict: 5 };

export interface RolloutValues {
  fleet?: string;
  version?: string;
  canary?: string;
  steps?: string;
  hold?: string;
  'max-faults'?: string;
  timeout?: string;
  sign?: string;
  signature?: string;
  json?: boolean;
}

const USAGE =
  'usage: hotswap rollout <component> <version | file.wasm> [--version V] [--canary N] [--steps 10,50,100] [--hold 30s] ' +
  '[--max-faults N] [--timeout 120s] [--sign KEY.pem]\n       hotswap rollout status <component>\n       hotswap rollout abort <component>';

export async function rollout(args: string[], values: RolloutValues): Promise<number> {
  const [first, second] = args;
  if (!first || !second) throw new UsageError(USAGE);
  const servers = (values.fleet ?? process.env.HOTSWAP_FLEET ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (servers.length === 0) throw new UsageError('rollout: no fleet given: --fleet nats://HOST:PORT[,…] or HOTSWAP_FLEET');
  const timeoutMs = values.timeout ? duration(values.timeout, '--timeout') : 120_000;
  let store: FleetStore;
  try {
    const domain = process.env.HOTSWAP_FLEET_DOMAIN || undefined;
    store = await FleetStore.connect({ servers, name: 'hotswap rollout', ...(domain ? { domain } : {}) });
  } catch (e) {
    throw new CliError(`rollout: cannot reach the fleet at ${servers.join(',')}: ${(e as Error).message}`);
  }
  try {
    if (first === 'status') return print(values, await rolloutStatus(store, second, 5000, 1200));
    if (first === 'abort') return finish(values, await abortRollout(store, second, timeoutMs));
    const candidate = await candidateOf(store, first, second, values);
    const log = (line: string): boolean => process.stderr.write(`${line}\n`);
    log(`rollout ${first} ${candidate.version}${candidate.object ? ` (object ${candidate.object}, sha256 ${candidate.sha256})` : ''}`);
    const outcome = await new Rollout(store, {
      component: first,
      candidate,
      stages: stagesOf(count(values.canary ?? '1', '--canary'), withFull(parseOr(values.steps ?? '100'))),
      holdMs: values.hold ? duration(values.hold, '--hold') : 0,
      maxFaults: count(values['max-faults'] ?? '0', '--max-faults'),
      stageTimeoutMs: timeoutMs,
      onProgress: log,
    }).run();
    return finish(values, outcome);
  } finally {
    await store.close().catch(() => undefined);
  }
}

/** A .wasm file goes into the Object Store; a version is taken from there, else from each node. */
async function candidateOf(store: FleetStore, component: string, target: string, values: RolloutValues): Promise<ModuleRef> {
  if (target.endsWith('.wasm')) {
    if (!values.version) throw new UsageError('rollout: a .wasm file needs --version V (the version the module reports)');
    const bytes = readFile(target);
    const signature = values.sign || values.signature ? uploadHeaders(bytes, values)[SIGNATURE_HEADER] : undefined;
    const { object, sha256 } = await store.putModule(component, values.version, bytes, signature);
    return { version: values.version, object, sha256, ...(signature ? { signature } : {}) };
  }
  const object = objectName(component, target);
  const info = await store.moduleInfo(object);
  if (!info) return { version: target };
  const bytes = await store.getModule(object);
  // A new --sign or --signature wins; else the signature stored with the object, if any.
  const signature = values.sign || values.signature ? uploadHeaders(bytes, values)[SIGNATURE_HEADER] : info.signature;
  return { version: target, object, sha256: sha256Hex(bytes), ...(signature ? { signature } : {}) };
}

function finish(values: RolloutValues, outcome: Outcome): number {
  const where = `${outcome.stage ? ` at stage ${outcome.stage}` : ''}${outcome.node ? ` on node ${outcome.node}` : ''}`;
  const behind = outcome.notReverted?.length ? `; not yet back on the stable version: ${outcome.notReverted.join(', ')}` : '';
  const text: Record<Outcome['result'], string> = {
    done: `rollout of ${outcome.component} done: every node runs the new version\n`,
    reverted: `rollout of ${outcome.component} halted${where}: ${outcome.reason}; reverted${behind}\n`,
    aborted: `rollout of ${outcome.component} aborted${where}; reverted${behind}\n`,
    conflict: `rollout of ${outcome.component} refused: ${outcome.reason}\n`,
  };
  if (values.json) process.stdout.write(`${JSON.stringify(outcome, null, 2)}\n`);
  if (outcome.result !== 'done') process.stderr.write(`hotswap: ${text[outcome.result]}`);
  else if (!values.json) process.stdout.write(text.done);
  return ROLLOUT_EXIT[outcome.result];
}

function print(values: RolloutValues, status: RolloutStatus): number {
  process.stdout.write(values.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
  return 0;
}

function formatStatus(status: RolloutStatus): string {
  const d = status.desired;
  const head = d
    ? `${d.component}: rollout ${d.rolloutId} ${d.phase}${d.candidate ? ` ${d.stable.version} -> ${d.candidate.version}` : `, stable ${d.stable.version}`}` +
      ` (stage ${d.stages[d.stage] ?? '-'} of ${d.stages.join(', ')})${d.reason ? `\n  why: ${d.reason}${d.node ? ` (node ${d.node})` : ''}` : ''}\n`
    : 'no rollout yet\n';
  const rows = status.nodes.map(
    (n) =>
      `  ${n.node.padEnd(16)} ${(n.version ?? '-').padEnd(14)} ${n.state.padEnd(10)} faults ${n.faults}` +
      `${n.stage !== null && d?.stages[n.stage] ? `  took it at ${d.stages[n.stage]}` : ''}${n.alive ? '' : '  (not reporting)'}${n.cause ? `  ${n.cause}` : ''}`,
  );
  return `${head}${rows.join('\n')}${rows.length ? '\n' : ''}`;
}

/** The last stage is always the whole fleet: `done` makes the candidate every node's version. */
const withFull = (steps: number[]): number[] => (steps.at(-1) === 100 ? steps : [...steps, 100]);

function parseOr(text: string): number[] {
  try {
    return parseSteps(text);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function duration(text: string, what: string): number {
  try {
    return parseDuration(text, what);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function count(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${what}: expected a whole number (got "${text}")`);
  return n;
}
