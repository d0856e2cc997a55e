// The control API's routes that create and remove components while the engine runs
// (POST /v1/components, DELETE /v1/components/:name). The engine's Deployments does the work;
// this file turns a request into its calls and its refusals into HTTP answers.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Admitted, CapabilityNotAllowed, ComponentExists, InvalidComponent, PortInUse } from '../engine/deployments.js';
import type { Engine } from '../engine.js';
import type { UpgradeHistory } from '../repository/history.js';
import type { ModuleStore } from '../repository/store.js';
import { HttpError } from './errors.js';
import { NAME_PARAMS, type NameParams } from './schemas.js';
import { decodeSignature, SIGNATURE_HEADER, type SignatureCheck, UPLOADER_HEADER } from './signatures.js';
import type { MutateHooks } from './swap-routes.js';

export interface ComponentParts {
  engine: Engine;
  store: ModuleStore;
  history: UpgradeHistory;
  signatures: SignatureCheck | null;
}

/** A version stands in for the module's own until its bytes were read (the schema requires one). */
const UNVERSIONED = '0.0.0-unversioned';

const DELETE_QUERY = {
  type: 'object',
  properties: { data: { enum: ['keep', 'drop'], title: 'data', hint: 'be keep or drop' } },
} as const;

export class ComponentRoutes {
  readonly #p: ComponentParts;

  constructor(parts: ComponentParts) {
    this.#p = parts;
  }

  register(app: FastifyInstance, mutate: MutateHooks): void {
    const { engine, history } = this.#p;

    app.post<{ Body: unknown }>('/v1/components', { ...mutate('application/json') }, async (req, reply) => {
      const { wasm, ...spec } = (req.body ?? {}) as Record<string, unknown>;
      if (wasm !== undefined && typeof spec.version !== 'string') spec.version = UNVERSIONED;
      const admitted = refusals(() => engine.deployments.admit(spec));
      if (wasm !== undefined) await this.#store(req, admitted, wasm);
      await refusalsAsync(() => engine.deployments.deploy(admitted));
      const name = admitted.config.name;
      return reply
        .code(201)
        .header('location', `/v1/components/${name}`)
        .send({ ...engine.component(name).status(), addresses: engine.addresses(name) });
    });

    app.delete<{ Params: NameParams; Querystring: { data?: 'keep' | 'drop' } }>(
      '/v1/components/:name',
      { ...mutate(), schema: { params: NAME_PARAMS, querystring: DELETE_QUERY } },
      async (req, reply: FastifyReply) => {
        const { name } = req.params;
        const version = engine.component(name).module?.version ?? null; // 404 for an unknown component
        const drop = req.query.data === 'drop';
        // The component's data in the data directory: its journal and checkpoints, and its
        // history (module versions stay: they are the repository's, shared by name).
        const journalDropped = await engine.deployments.remove(name, drop);
        const forgotten = drop ? history.forget(name) : 0;
        return reply.send({ removed: name, version, data: drop ? 'dropped' : 'kept', historyEntriesDropped: forgotten, journalDropped });
      },
    );
  }

  /**
   * Module bytes sent with the request (`wasm`, base64): checked as an upload is (signature,
   * then the engine's checks under the new component's limits) and stored before it starts.
   */
  async #store(req: FastifyRequest, admitted: Admitted, wasm: unknown): Promise<void> {
    if (typeof wasm !== 'string' || wasm.length === 0) throw new HttpError(400, 'body.wasm must be the module bytes in base64');
    const bytes = Buffer.from(wasm, 'base64');
    const { config } = admitted;
    const claimed = config.version === UNVERSIONED ? undefined : config.version;
    const header = req.headers[SIGNATURE_HEADER];
    const signature = Array.isArray(header) ? header[0] : header;
    this.#p.signatures?.verify(`module ${config.module}@${claimed ?? '(unversioned)'}`, bytes, signature);
    const prepared = await this.#p.engine.prepareFor(config, bytes, claimed);
    const uploader = String(req.headers[UPLOADER_HEADER] ?? '')
      .replace(/[^\w.@+-]/g, '')
      .slice(0, 100);
    this.#p.store.put({
      module: config.module,
      version: prepared.version,
      bytes,
      abiVersion: prepared.abiVersion,
      layoutVersion: prepared.layoutVersion,
      uploadedBy: `${uploader || 'unknown'} (${req.ip})`,
      signature: signature ? decodeSignature(signature).toString('base64') : null,
    });
    config.version = prepared.version;
    admitted.spec.version = prepared.version;
  }
}

/** The engine's refusals of a new component, as the HTTP answers docs/API.md lists. */
function asHttp(e: unknown): unknown {
  if (e instanceof InvalidComponent) return new HttpError(400, e.message, { problems: e.problems });
  if (e instanceof CapabilityNotAllowed) return new HttpError(403, e.message, { code: 'CapabilityNotAllowed', problems: e.problems });
  if (e instanceof ComponentExists) return new HttpError(409, e.message, { code: 'ComponentExists' });
  if (e instanceof PortInUse) return new HttpError(409, e.message, { code: 'PortInUse', address: e.address });
  return e;
}

function refusals<T>(run: () => T): T {
  try {
    return run();
  } catch (e) {
    throw asHttp(e);
  }
}

async function refusalsAsync<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    throw asHttp(e);
  }
}
