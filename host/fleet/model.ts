/**
 * The fleet's data model in JetStream: the names of the buckets, the keys, and the two records
 * (a component's desired state, a node's report), checked against a schema whenever they are
 * read, since anyone who can reach the server can write them. docs/FLEET.md describes it.
 */
import { SchemaCheck } from '../schema.js';

/** KV bucket: one key per component, its desired state (written only with compare-and-set). */
export const DESIRED_BUCKET = 'hotswap_desired';
/** KV bucket: one key per node and component (`<component>.<node>`), the node's report. */
export const REPORTS_BUCKET = 'hotswap_reports';
/** Object Store: module bytes, one object per component and version (`<component>/<version>`). */
export const MODULES_BUCKET = 'hotswap_modules';

/**
 * A module version as the fleet names it. `object` set: the bytes are in the Object Store and
 * must hash to `sha256` (and verify against `signature` where a trusted key is configured).
 * `object` absent: the version comes from each node's own repository (a bundled version).
 */
export interface ModuleRef {
  version: string;
  object?: string;
  sha256?: string;
  /** Base64 of the detached Ed25519 signature over the bytes. */
  signature?: string;
}

/**
 * Where a rollout is. `canary` and `step` give the candidate to `targets`; every other phase
 * asks every node for `stable` (after `done`, `stable` is the version rolled out).
 */
export type Phase = 'canary' | 'step' | 'done' | 'reverting' | 'reverted' | 'aborted';
export const ACTIVE_PHASES: readonly Phase[] = ['canary', 'step'];

export interface DesiredState {
  component: string;
  rolloutId: string;
  phase: Phase;
  stable: ModuleRef;
  candidate: ModuleRef | null;
  /** Index of the current stage (0: canary), and the stages' shares of nodes as labels. */
  stage: number;
  stages: string[];
  /** The nodes asked to run the candidate now. */
  targets: string[];
  /** Why the rollout halted or was aborted, and on which node (when one is to blame). */
  reason?: string;
  node?: string;
  updatedAt: string;
}

/**
 * `probation`: running `ref`, inside its probation window; `ok`: past it; `failed`: the
 * candidate was refused, failed its swap or was rolled back by probation (the node runs what it
 * ran before); `upgrading`: fetching, checking or swapping.
 */
export type NodeState = 'upgrading' | 'probation' | 'ok' | 'failed';

export interface NodeReport {
  node: string;
  component: string;
  /** The version the component runs now (null while it has none). */
  version: string | null;
  /** The desired module this report is about, and the rollout that asked for it. */
  ref: ModuleRef | null;
  rolloutId: string | null;
  /** The stage at which the node took `ref` (null: not during a rollout). */
  stage: number | null;
  state: NodeState;
  /** Faults since the node took `ref`. */
  faults: number;
  cause?: string;
  /** When the node swapped `ref` in (ISO time), for ordering; null when it did not. */
  swappedAt: string | null;
  at: string;
}

export const reportKey = (component: string, node: string): string => `${component}.${node}`;
export const objectName = (component: string, version: string): string => `${component}/${version}`;
/** Two refs name the same module: the same version and, where both say, the same bytes. */
export const sameModule = (a: ModuleRef, b: ModuleRef): boolean =>
  a.version === b.version && (a.sha256 === undefined || b.sha256 === undefined || a.sha256 === b.sha256);

/** What a node should run for `desired`. */
export function wantedBy(desired: DesiredState, node: string): ModuleRef {
  const active = ACTIVE_PHASES.includes(desired.phase);
  return active && desired.candidate && desired.targets.includes(node) ? desired.candidate : desired.stable;
}

const str = { type: 'string' } as const;
const REF = {
  type: 'object',
  required: ['version'],
  properties: { version: str, object: str, sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' }, signature: str },
} as const;
const DESIRED = {
  type: 'object',
  required: ['component', 'rolloutId', 'phase', 'stable', 'candidate', 'stage', 'stages', 'targets', 'updatedAt'],
  properties: {
    component: str,
    rolloutId: str,
    phase: { enum: ['canary', 'step', 'done', 'reverting', 'reverted', 'aborted'] },
    stable: REF,
    candidate: { anyOf: [REF, { type: 'null' }] },
    stage: { type: 'integer', minimum: 0 },
    stages: { type: 'array', items: str },
    targets: { type: 'array', items: str },
    reason: str,
    node: str,
    updatedAt: str,
  },
} as const;
const REPORT = {
  type: 'object',
  required: ['node', 'component', 'version', 'ref', 'rolloutId', 'stage', 'state', 'faults', 'swappedAt', 'at'],
  properties: {
    node: str,
    component: str,
    version: { type: ['string', 'null'] },
    ref: { anyOf: [REF, { type: 'null' }] },
    rolloutId: { type: ['string', 'null'] },
    stage: { type: ['integer', 'null'] },
    state: { enum: ['upgrading', 'probation', 'ok', 'failed'] },
    faults: { type: 'integer', minimum: 0 },
    cause: str,
    swappedAt: { type: ['string', 'null'] },
    at: str,
  },
} as const;

/** Parses and checks one record read from a bucket; the error names the bucket, key and field. */
export class RecordCodec<T> {
  readonly #check: SchemaCheck<T>;
  readonly #bucket: string;

  constructor(schema: object, bucket: string) {
    this.#check = new SchemaCheck<T>(schema);
    this.#bucket = bucket;
  }

  decode(key: string, bytes: Uint8Array): T {
    let raw: unknown;
    try {
      raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch (e) {
      throw new Error(`${this.#bucket} ${key}: not JSON (${(e as Error).message})`);
    }
    const checked = this.#check.check(raw);
    if (!checked.ok) throw new Error(`${this.#bucket} ${key}: ${checked.problems.join('; ')}`);
    return checked.value;
  }

  encode(value: T): Uint8Array {
    return Buffer.from(JSON.stringify(value));
  }
}

export const desiredCodec = (): RecordCodec<DesiredState> => new RecordCodec<DesiredState>(DESIRED, DESIRED_BUCKET);
export const reportCodec = (): RecordCodec<NodeReport> => new RecordCodec<NodeReport>(REPORT, REPORTS_BUCKET);
