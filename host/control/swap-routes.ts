// The control API's mutating routes: uploading a version, upgrading and rolling back. Each needs
// the bearer token (checked by the hooks the server passes in) and answers with what happened.
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { SWAP_PHASES, type SwapReport } from '../component/swap.js';
import type { Engine } from '../engine.js';
import { ModuleRejected } from '../modules/errors.js';
import { BlobDamaged, NotFound } from '../repository/repository.js';
import type { ModuleStore } from '../repository/store.js';
import { HttpError } from './errors.js';
import {
  NAME_PARAMS,
  type NameParams,
  ROLLBACK_BODY,
  UPGRADE_BODY,
  UPGRADE_BODY_RULE,
  UPGRADE_QUERY,
  VERSION_PARAMS,
  type VersionBody,
  type VersionParams,
} from './schemas.js';
import { decodeSignature, SIGNATURE_HEADER, type SignatureCheck, SignatureRejected, UPLOADER_HEADER } from './signatures.js';

export interface SwapParts {
  engine: Engine;
  store: ModuleStore;
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
      {
        ...mutate('application/json', 'application/wasm'),
        schema: { params: NAME_PARAMS, querystring: UPGRADE_QUERY, body: UPGRADE_BODY },
      },
      async (req, reply) => {
        const { name } = req.params;
        const body = req.body;
        if (Buffer.isBuffer(body)) {
          // Module bytes in the request: stored like a push (same checks), then swapped in.
          const claimed = req.query.version;
          return this.#swap(reply, name, 'upgrade', async () => {
            // Refusals of the upload itself (signature, checks) happen before the engine is
            // asked to upgrade, so they are handed to the engine to record.
            const { stored } = await this.#admit(req, name, claimed).catch((e: unknown) => {
              if (isRefusal(e)) engine.recordRejected(name, 'upgrade', claimed ?? null, e.message);
              throw e;
            });
            return engine.upgrade(name, { bytes: body, version: stored.version });
          });
        }
        const version = body?.version; // required by UPGRADE_BODY when there is a body
        if (version === undefined) throw new HttpError(400, UPGRADE_BODY_RULE);
        return this.#swap(reply, name, 'upgrade', () => engine.upgrade(name, { version }));
      },
    );

    app.post<{ Params: NameParams; Body: VersionBody | null | undefined }>(
      '/v1/components/:name/rollback',
      { ...mutate('application/json'), schema: { params: NAME_PARAMS, body: ROLLBACK_BODY } },
      async (req, reply) => {
        const { name } = req.params;
        // The engine's one rollback rule picks the target when none is named.
        const named = req.body?.version;
        return this.#swap(reply, name, 'rollback', () => engine.rollback(name, named));
      },
    );
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
    const uploader = String(req.headers[UPLOADER_HEADER] ?? '')
      .replace(/[^\w.@+-]/g, '')
      .slice(0, 100);
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
   * Runs an upgrade or rollback and answers with its swap report. The engine records every
   * attempt (swaps, faults and refusals) in the history and tells the metrics.
   */
  async #swap(reply: FastifyReply, name: string, reason: SwapReport['reason'], run: () => Promise<SwapReport>): Promise<FastifyReply> {
    this.#p.engine.component(name); // 404 for an unknown component, before anything runs
    const report = await run();
    const body = withEveryPhase(report);
    if (report.result !== 'ok') {
      return reply.code(422).send({ error: `${reason} ${report.result}: ${report.cause}`, status: 422, code: 'SwapFailed', report: body });
    }
    return reply.send(body);
  }
}

/**
 * The phases a report always lists, in the order the swap runs them (null when a phase did not
 * run, e.g. no migration).
 */
function withEveryPhase(report: SwapReport): SwapReport & { phasesUs: Record<string, number | null> } {
  const phasesUs: Record<string, number | null> = {};
  for (const p of SWAP_PHASES) phasesUs[p] = report.phasesUs[p] ?? null;
  return { ...report, phasesUs: { ...phasesUs, ...report.phasesUs } };
}

/** Errors that refuse an upload before any swap: recorded as rejected attempts. */
function isRefusal(e: unknown): e is Error {
  return e instanceof NotFound || e instanceof ModuleRejected || e instanceof BlobDamaged || e instanceof SignatureRejected;
}
