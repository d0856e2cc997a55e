import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { UpgradeInProgress } from '../component/component.js';
import type { SwapReport } from '../component/swap.js';
import { UnknownComponent, type Engine } from '../engine.js';
import { ModuleRejected } from '../modules/errors.js';
import type { UpgradeHistory } from '../repository/history.js';
import {
  BlobDamaged,
  isValidName,
  isValidVersion,
  NAME_PATTERN,
  NotFound,
  VersionConflict,
} from '../repository/repository.js';
import type { ModuleStore } from '../repository/store.js';
import type { BearerAuth } from './auth.js';
import type { EngineMetrics } from './metrics.js';
import { SIGNATURE_HEADER, SignatureRejected, decodeSignature, type SignatureCheck } from './signatures.js';

/** Who uploaded a version, as the CLI reports it (user@host); free text, so kept short and plain. */
export const UPLOADER_HEADER = 'x-hotswap-uploader';
export const DEFAULT_UPLOAD_LIMIT = 16 * 1024 * 1024;

export interface ControlServerOptions {
  host: string;
  port: number;
  auth: BearerAuth;
  store: ModuleStore;
  history: UpgradeHistory;
  metrics: EngineMetrics;
  /** Null when no trusted key is configured: signatures are then recorded, not required. */
  signatures: SignatureCheck | null;
  uploadLimitBytes?: number;
}

/** An error that carries its HTTP status; everything else goes through `statusOf`. */
class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly extra: Record<string, unknown> = {}) {
    super(message);
    this.name = HTTP_CODES[status] ?? 'HttpError';
  }
}
const HTTP_CODES: Record<number, string> = { 400: 'BadRequest', 401: 'Unauthorized', 409: 'Conflict', 415: 'UnsupportedMediaType' };
const VERSION_RULE = 'a semantic version such as 1.2.3 or 1.2.3-rc.1 (at most 64 characters)';

/** Engine and repository errors → HTTP status. The message already names module, version and reason. */
function statusOf(error: unknown): number {
  if (error instanceof HttpError) return error.status;
  if (error instanceof UnknownComponent || error instanceof NotFound) return 404;
  if (error instanceof UpgradeInProgress || error instanceof VersionConflict) return 409;
  if (error instanceof ModuleRejected) return 422;
  if (error instanceof SignatureRejected) return 403;
  const status = (error as FastifyError).statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

function errorBody(error: unknown, status: number, limit: number): Record<string, unknown> {
  const e = error as Error & { code?: string };
  let message = e instanceof Error ? e.message : String(error);
  // Fastify's own words, made specific.
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') message = `request body is over the upload limit of ${limit} bytes`;
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') message = `unsupported content type: ${message}`;
  const body: Record<string, unknown> = { error: message, status, code: e.code ?? e.name ?? 'Error' };
  if (error instanceof ModuleRejected) Object.assign(body, { module: error.module, version: error.version, problems: error.problems });
  if (error instanceof HttpError) Object.assign(body, error.extra);
  return body;
}

const isLoopback = (ip: string): boolean => ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.');
const contentTypeOf = (req: FastifyRequest): string => (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();

interface NameParams {
  name: string;
}
interface VersionParams extends NameParams {
  version: string;
}

/**
 * The control API (docs/API.md). Reads are open; every mutating request needs the bearer token.
 * Checks run in the order a client can fix them: token (401), names (400), content type (415),
 * size (413), body (400), then what the engine says (403, 404, 409, 422).
 */
export class ControlServer {
  readonly #app: FastifyInstance;
  readonly #engine: Engine;
  readonly #o: ControlServerOptions;

  private constructor(engine: Engine, options: ControlServerOptions) {
    this.#engine = engine;
    this.#o = options;
    const limit = options.uploadLimitBytes ?? DEFAULT_UPLOAD_LIMIT;
    this.#app = Fastify({ logger: false, bodyLimit: limit });
    this.#app.addContentTypeParser('application/wasm', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    this.#app.setErrorHandler((error, _req, reply) => {
      const status = statusOf(error);
      return reply.code(status).send(errorBody(error, status, limit));
    });
    this.#app.setNotFoundHandler((req, reply) =>
      reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}`, status: 404, code: 'NoRoute' }),
    );
    this.#routes();
  }

  static async start(engine: Engine, options: ControlServerOptions): Promise<ControlServer> {
    const server = new ControlServer(engine, options);
    await server.#app.listen({ host: options.host, port: options.port });
    return server;
  }

  /** host:port actually bound (the port is chosen by the system when configured as 0). */
  get address(): string {
    const a = this.#app.server.address();
    return typeof a === 'object' && a ? `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : String(a);
  }

  close(): Promise<void> {
    return this.#app.close();
  }

  // ---- hooks shared by routes ----

  /** 401 unless the request carries the token. On loopback, says where a local CLI finds it. */
  readonly #requireToken = async (req: FastifyRequest): Promise<void> => {
    if (this.#o.auth.accepts(req.headers.authorization)) return;
    const extra = this.#o.auth.tokenFile && isLoopback(req.ip) ? { tokenFile: this.#o.auth.tokenFile } : {};
    throw new HttpError(
      401,
      req.headers.authorization ? 'the bearer token is wrong' : 'this request needs "Authorization: Bearer <token>"',
      extra,
    );
  };

  /** 400 for names outside the strict patterns: they never reach the repository or a path. */
  readonly #checkParams = async (req: FastifyRequest): Promise<void> => {
    const { name, version } = req.params as Partial<VersionParams>;
    if (name !== undefined && !isValidName(name)) throw new HttpError(400, `component name "${name}" must match ${NAME_PATTERN}`);
    if (version !== undefined && !isValidVersion(version)) {
      throw new HttpError(400, `version "${version}" must be ${VERSION_RULE}`);
    }
  };

  #requireContentType(...types: string[]) {
    return async (req: FastifyRequest): Promise<void> => {
      const type = contentTypeOf(req);
      const hasBody = type !== '' || Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
      if (hasBody && !types.includes(type)) {
        throw new HttpError(415, `content type must be ${types.join(' or ')}, got "${type || '(none)'}"`);
      }
    };
  }

  #routes(): void {
    const app = this.#app;
    const engine = this.#engine;
    const { store, history } = this.#o;
    const read = { onRequest: [this.#checkParams] };
    const mutate = (...types: string[]) => ({
      onRequest: [this.#requireToken, this.#checkParams, this.#requireContentType(...types)],
    });

    app.get('/healthz', async (_req, reply) => {
      const components = engine.status().map((c) => ({ name: c.name, version: c.version, state: c.state }));
      const ok = components.every((c) => c.state === 'running' || c.state === 'upgrading');
      return reply.code(ok ? 200 : 503).send({ ok, components });
    });

    app.get('/metrics', async (_req, reply) => reply.type(this.#o.metrics.contentType).send(await this.#o.metrics.text()));

    app.get('/v1/components', async () => engine.status());

    app.get<{ Params: NameParams }>('/v1/components/:name', read, async (req) => engine.component(req.params.name).status());

    app.get<{ Params: NameParams }>('/v1/components/:name/show', read, async (req, reply) =>
      reply.type('text/plain; charset=utf-8').send(engine.component(req.params.name).show()),
    );

    app.get<{ Params: NameParams }>('/v1/components/:name/versions', read, async (req) => {
      const module = engine.componentConfig(req.params.name).module;
      const running = engine.component(req.params.name).module?.version ?? null;
      return store.list(module).map((v) => ({ ...v, running: v.version === running }));
    });

    app.get<{ Params: VersionParams }>('/v1/components/:name/versions/:version', read, async (req) =>
      store.describe(engine.componentConfig(req.params.name).module, req.params.version),
    );

    app.put<{ Params: VersionParams }>(
      '/v1/components/:name/versions/:version',
      mutate('application/wasm'),
      async (req, reply) => {
        const { name, version } = req.params;
        const { stored, created } = await this.#admit(req, name, version);
        return reply
          .code(created ? 201 : 200)
          .header('location', `/v1/components/${name}/versions/${version}`)
          .send(stored);
      },
    );

    app.get<{ Params: NameParams; Querystring: { limit?: string } }>('/v1/components/:name/history', read, async (req) => {
      engine.component(req.params.name); // 404 for an unknown component
      const limit = req.query.limit === undefined ? 1000 : Number(req.query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100000) throw new HttpError(400, 'limit must be an integer from 1 to 100000');
      return history.list(req.params.name, limit);
    });

    app.post<{ Params: NameParams; Querystring: { version?: string } }>(
      '/v1/components/:name/upgrade',
      mutate('application/json', 'application/wasm'),
      async (req, reply) => {
        const { name } = req.params;
        const bytes = req.body;
        if (Buffer.isBuffer(bytes)) {
          // Module bytes in the request: stored like a push (same checks), then swapped in.
          const claimed = req.query.version;
          if (claimed !== undefined && !isValidVersion(claimed)) throw new HttpError(400, `version "${claimed}" must be ${VERSION_RULE}`);
          return this.#swap(reply, name, 'upgrade', claimed, async () => {
            const { stored } = await this.#admit(req, name, claimed);
            return engine.upgrade(name, { bytes, version: stored.version });
          });
        }
        const version = this.#versionFromBody(req.body, true)!;
        return this.#swap(reply, name, 'upgrade', version, () => engine.upgrade(name, { version }));
      },
    );

    app.post<{ Params: NameParams }>(
      '/v1/components/:name/rollback',
      mutate('application/json'),
      async (req, reply) => {
        const { name } = req.params;
        const current = engine.component(name).module?.version ?? null;
        const named = this.#versionFromBody(req.body, false);
        const target = named ?? (current !== null ? history.previousVersion(name, current) ?? undefined : undefined);
        return this.#swap(reply, name, 'rollback', target, () => engine.rollback(name, target));
      },
    );
  }

  /** `{"version": "1.2.3"}`; a missing body or version is allowed where `required` is false. */
  #versionFromBody(body: unknown, required: boolean): string | undefined {
    const fail = (): never => {
      throw new HttpError(400, `body must be {"version": "<semantic version>"}${required ? '' : ' or empty'}`);
    };
    if (body === undefined || body === null) return required ? fail() : undefined;
    if (typeof body !== 'object' || Array.isArray(body)) return fail();
    const version = (body as { version?: unknown }).version;
    if (version === undefined && !required) return undefined;
    if (typeof version !== 'string') return fail();
    if (!isValidVersion(version)) throw new HttpError(400, `version "${version}" must be ${VERSION_RULE}`);
    return version;
  }

  /**
   * Checks uploaded bytes exactly as an upgrade would (signature, then engine.prepare: ABI,
   * policy, warm-up) and stores them. Nothing is stored unless every check passed.
   */
  async #admit(req: FastifyRequest, name: string, version: string | undefined) {
    const bytes = req.body;
    if (!Buffer.isBuffer(bytes) || bytes.byteLength === 0) throw new HttpError(400, 'the body must be the module bytes (application/wasm)');
    const module = this.#engine.componentConfig(name).module;
    const what = `module ${module}@${version ?? '(unversioned)'}`;
    const header = req.headers[SIGNATURE_HEADER];
    const signature = Array.isArray(header) ? header[0] : header;
    if (this.#o.signatures) this.#o.signatures.verify(what, bytes, signature);
    const normalised = signature ? decodeSignature(signature).toString('base64') : null;
    const prepared = await this.#engine.prepare(name, bytes, version);
    const uploader = String(req.headers[UPLOADER_HEADER] ?? '').replace(/[^\w.@+-]/g, '').slice(0, 100);
    const { version: stored, created } = this.#o.store.put({
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
   * metrics through engine.onSwap; refusals before any swap are recorded here, with their cause.
   */
  async #swap(
    reply: FastifyReply,
    name: string,
    reason: SwapReport['reason'],
    version: string | undefined,
    run: () => Promise<SwapReport>,
  ): Promise<FastifyReply> {
    const from = this.#engine.component(name).module?.version ?? null;
    let report: SwapReport;
    try {
      report = await run();
    } catch (e) {
      if (e instanceof NotFound || e instanceof ModuleRejected || e instanceof BlobDamaged || e instanceof SignatureRejected) {
        this.#o.history.recordRejected(name, reason, from, version ?? null, (e as Error).message);
        this.#o.metrics.recordRejected(name, reason);
      }
      throw e;
    }
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
const REPORTED_PHASES = [
  'snapshot', 'term', 'hold', 'migrate_down', 'instantiate', 'bind', 'migrate', 'restart', 'drain',
] as const;

function withEveryPhase(report: SwapReport): SwapReport & { phasesUs: Record<string, number | null> } {
  const phasesUs: Record<string, number | null> = {};
  for (const p of REPORTED_PHASES) phasesUs[p] = report.phasesUs[p] ?? null;
  return { ...report, phasesUs: { ...phasesUs, ...report.phasesUs } };
}
