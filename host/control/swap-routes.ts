// The control API's mutating routes: uploading a version, upgrading and rolling back. Each needs
// the bearer token (checked by the hooks the server passes in) and answers with what happened.
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { SwapReport } from '../component/swap.js';
import type { Engine } from '../engine.js';
import { ModuleRejected } from '../modules/errors.js';
import type { UpgradeHistory } from '../repository/history.js';
import { BlobDamaged, NotFound } from '../repository/repository.js';
import type { ModuleStore } from '../repository/store.js';
import { HttpError } from './errors.js';
import type { EngineMetrics } from './metrics.js';
import {
  NAME_PARAMS,
  ROLLBACK_BODY,
  UPGRADE_BODY,
  UPGRADE_BODY_RULE,
  UPGRADE_QUERY,
  VERSION_PARAMS,
  type NameParams,
  type VersionBody,
  type VersionParams,
} from './schemas.js';
import { decodeSignature, SIGNATURE_HEADER, SignatureRejected, type SignatureCheck } from './signatures.js';

/** Who uploaded a version, as the CLI reports it (user@host); free text, so kept short and plain. */
export const UPLOADER_HEADER = 'x-hotswap-uploader';

export interface SwapParts {
  engine: Engine;
  store: ModuleStore;
  history: UpgradeHistory;
  metrics: EngineMetrics;
  /** Null when no trusted key is configured: signatures are then recorded, not required. */
  signatures: SignatureCheck | null;
}

/** onRequest hooks of a mutating route accepting these content types (token, then content type). */
export type MutateHooks = (...contentTypes: string[]) => { onRequest: onRequestHookHandler[] };

export class SwapRoutes {
  readonly #p: SwapParts;

  constructor(parts: SwapParts) {
    this.#p = parts;
  }

  register(app: FastifyInstance, mutate: MutateHooks): void {
    const engine = this.#p.engine;

    app.put<{ Params: VersionParams }>(
      '/v1/components/:name/versions/:version',
      { ...mutate('application/wasm'), schema: { params: VERSION_PARAMS } },
      async (req, reply) => {
        const { name, version } = req.params;
        const { stored, created } = await this.#admit(req, name, version);
        return reply
          .code(created ? 201 : 200)
          .header('location', `/v1/components/${name}/versions/${version}`)
          .send(stored);
      },
    );

    app.post<{ Params: NameParams; Querystring: { version?: string }; Body: VersionBody | Buffer | undefined }>(
      '/v1/components/:name/upgrade',
      { ...mutate('application/json', 'application/wasm'), schema: { params: NAME_PARAMS, querystring: UPGRADE_QUERY, body: UPGRADE_BODY } },
      async (req, reply) => {
        const { name } = req.params;
        const body = req.body;
        if (Buffer.isBuffer(body)) {
          // Module bytes in the request: stored like a push (same checks), then swapped in.
          const claimed = req.query.version;
          return this.#swap(reply, name, 'upgrade', claimed, async () => {
            const { stored } = await this.#admit(req, name, claimed);
            return engine.upgrade(name, { bytes: body, version: stored.version });
          });
        }
        const version = body?.version; // required by UPGRADE_BODY when there is a body
        if (version === undefined) throw new HttpError(400, UPGRADE_BODY_RULE);
        return this.#swap(reply, name, 'upgrade', version, () => engine.upgrade(name, { version }));
      },
    );

    app.post<{ Params: NameParams; Body: VersionBody | null | undefined }>(
      '/v1/components/:name/rollback',
      { ...mutate('application/json'), schema: { params: NAME_PARAMS, body: ROLLBACK_BODY } },
      async (req, reply) => {
        const { name } = req.params;
        const named = req.body?.version;
        const target = this.#rollbackTarget(name, named);
        return this.#swap(reply, name, 'rollback', target, () => engine.rollback(name, target));
      },
    );
  }

  /**
   * Where a rollback without a named version goes: the version the running one replaced in its
   * latest successful upgrade, from the persistent history.
   */
  #rollbackTarget(name: string, named: string | undefined): string | undefined {
    // merge: engine.rollback picks the target; this method goes and the route calls engine.rollback(name, named).
    const current = this.#p.engine.component(name).module?.version ?? null;
    return named ?? (current !== null ? this.#p.history.previousVersion(name, current) ?? undefined : undefined);
  }

  /**
   * Checks uploaded bytes exactly as an upgrade would (signature, then engine.prepare: ABI,
   * policy, warm-up) and stores them. Nothing is stored unless every check passed.
   */
  async #admit(req: FastifyRequest, name: string, version: string | undefined) {
    const bytes = req.body;
    if (!Buffer.isBuffer(bytes) || bytes.byteLength === 0) throw new HttpError(400, 'the body must be the module bytes (application/wasm)');
    const engine = this.#p.engine;
    const module = engine.componentConfig(name).module;
    const what = `module ${module}@${version ?? '(unversioned)'}`;
    const header = req.headers[SIGNATURE_HEADER];
    const signature = Array.isArray(header) ? header[0] : header;
    if (this.#p.signatures) this.#p.signatures.verify(what, bytes, signature);
    const normalised = signature ? decodeSignature(signature).toString('base64') : null;
    const prepared = await engine.prepare(name, bytes, version);
    const uploader = String(req.headers[UPLOADER_HEADER] ?? '').replace(/[^\w.@+-]/g, '').slice(0, 100);
    const { version: stored, created } = this.#p.store.put({
      module,
      version: prepared.version,
      bytes,
      abiVersion: prepared.abiVersion,
      layoutVersion: prepared.layoutVersion,
      uploadedBy: `${uploader || 'unknown'} (${req.ip})`,
      signature: normalised,
    });
    return { stored, created };
  }

  /**
   * Runs an upgrade or rollback and answers with its swap report. Swaps reach the history and
   * metrics through engine.onSwap; refusals before any swap are recorded, with their cause.
   */
  async #swap(
    reply: FastifyReply,
    name: string,
    reason: SwapReport['reason'],
    version: string | undefined,
    run: () => Promise<SwapReport>,
  ): Promise<FastifyReply> {
    const from = this.#p.engine.component(name).module?.version ?? null;
    let report: SwapReport;
    try {
      report = await run();
    } catch (e) {
      if (e instanceof NotFound || e instanceof ModuleRejected || e instanceof BlobDamaged || e instanceof SignatureRejected) {
        this.#recordRejected(name, reason, from, version ?? null, (e as Error).message);
      }
      throw e;
    }
    const body = withEveryPhase(report);
    if (report.result !== 'ok') {
      return reply.code(422).send({ error: `${reason} ${report.result}: ${report.cause}`, status: 422, code: 'SwapFailed', report: body });
    }
    return reply.send(body);
  }

  /** A refusal before any swap, into the history and the metrics. */
  #recordRejected(name: string, kind: SwapReport['reason'], from: string | null, to: string | null, cause: string): void {
    // merge: becomes engine.recordRejected(name, kind, to, cause), only for SignatureRejected
    // (the engine records its own refusals).
    this.#p.history.recordRejected(name, kind, from, to, cause);
    this.#p.metrics.recordRejected(name, kind);
  }
}

/**
 * The phases a report always lists, in the order the swap runs them (null when a phase did not
 * run, e.g. no migration).
 */
// merge: import { SWAP_PHASES } from '../component/swap.js' instead of this copy.
const SWAP_PHASES = ['snapshot', 'term', 'hold', 'migrate_down', 'instantiate', 'bind', 'migrate', 'restart', 'drain'] as const;

function withEveryPhase(report: SwapReport): SwapReport & { phasesUs: Record<string, number | null> } {
  const phasesUs: Record<string, number | null> = {};
  for (const p of SWAP_PHASES) phasesUs[p] = report.phasesUs[p] ?? null;
  return { ...report, phasesUs: { ...phasesUs, ...report.phasesUs } };
}
