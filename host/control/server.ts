// The control API's HTTP server (fastify): request validation, authentication and content-type
// hooks, the request log, and error answers; the routes themselves are in read-routes.ts,
// swap-routes.ts and dashboard/.
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import type { Engine } from '../engine.js';
import type { Logger } from '../log.js';
import type { UpgradeHistory } from '../repository/history.js';
import type { ModuleStore } from '../repository/store.js';
import { addAnnotations } from '../schema.js';
import type { BearerAuth } from './auth.js';
import { ComponentRoutes } from './component-routes.js';
import { dashboard } from './dashboard/dashboard.js';
import { errorBody, HttpError, isUnexpected, statusOf, validationError } from './errors.js';
import type { EngineMetrics } from './metrics.js';
import { readRoutes } from './read-routes.js';
import type { SignatureCheck } from './signatures.js';
import { SwapRoutes } from './swap-routes.js';

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
  /** The server's scope of the engine's logger: requests and fastify's own messages go there. */
  logger: Logger;
}

const isLoopback = (ip: string): boolean => ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.');
const contentTypeOf = (req: FastifyRequest): string => (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();

/**
 * One short line per request, `POST /v1/components/kv/upgrade 200 3.1 ms`, with the error's
 * message when it failed. Reads at debug (health checks and scrapes would drown everything
 * else), changes at info, server errors at error. JSON lines carry method, url, status and ms.
 */
class RequestLog extends LogController {
  /** Why a request failed, noted by the error handler for the line written when it completes. */
  readonly #failures = new WeakMap<FastifyRequest, string>();

  noteFailure(req: FastifyRequest, message: string): void {
    this.#failures.set(req, message);
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, req: FastifyRequest, reply: FastifyReply): void {
    const status = reply.statusCode;
    const ms = Math.round(reply.elapsedTime * 10) / 10;
    const failure = error?.message ?? this.#failures.get(req);
    const level = status >= 500 ? 'error' : req.method === 'GET' || req.method === 'HEAD' ? 'debug' : 'info';
    req.log[level](
      { method: req.method, url: req.url, status, ms, ...(failure ? { error: failure } : {}) },
      `${req.method} ${req.url} ${status} ${ms} ms${failure ? `: ${failure}` : ''}`,
    );
  }
}

/**
 * The control API (docs/API.md). Reads are open; every mutating request needs the bearer token.
 * Checks run in the order a client can fix them: token (401), content type (415), size (413),
 * names and bodies against the route schemas (400), then what the engine says (403, 404, 409,
 * 422).
 */
export class ControlServer {
  readonly #app: FastifyInstance;
  readonly #o: ControlServerOptions;

  private constructor(engine: Engine, options: ControlServerOptions) {
    this.#o = options;
    const limit = options.uploadLimitBytes ?? DEFAULT_UPLOAD_LIMIT;
    const requestLog = new RequestLog();
    this.#app = Fastify({
      loggerInstance: options.logger.pino as FastifyBaseLogger,
      logController: requestLog,
      bodyLimit: limit,
      // Every problem of a request at once, with the schemas, so the 400 can word them.
      ajv: { customOptions: { allErrors: true, verbose: true }, plugins: [addAnnotations] },
      schemaErrorFormatter: validationError,
    });
    this.#app.addContentTypeParser('application/wasm', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    this.#app.setErrorHandler((error, req, reply) => {
      const status = statusOf(error);
      const body = errorBody(error, status, limit);
      requestLog.noteFailure(req, String(body.error));
      if (isUnexpected(error)) req.log.error({ err: error }, `unexpected error: ${(error as Error).stack ?? String(error)}`);
      return reply.code(status).send(body);
    });
    this.#app.setNotFoundHandler((req, reply) =>
      reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}`, status: 404, code: 'NoRoute' }),
    );
    const parts = { engine, ...options };
    readRoutes(this.#app, parts);
    const mutate = (...types: string[]) => ({ onRequest: [this.#requireToken, this.#requireContentType(types)] });
    new SwapRoutes(parts).register(this.#app, mutate);
    new ComponentRoutes(parts).register(this.#app, mutate);
    // The web dashboard (docs/DASHBOARD.md): the page at `/` and its live stream.
    this.#app.register(dashboard, { engine });
  }

  static async start(engine: Engine, options: ControlServerOptions): Promise<ControlServer> {
    const server = new ControlServer(engine, options);
    await server.#app.listen({
      host: options.host,
      port: options.port,
      listenTextResolver: (address) => `control endpoint on ${address}`,
    });
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

  /** 415 unless a request with a body says it is one of `types`. */
  #requireContentType(types: string[]) {
    return async (req: FastifyRequest): Promise<void> => {
      const type = contentTypeOf(req);
      const hasBody = type !== '' || Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
      if (hasBody && !types.includes(type)) {
        throw new HttpError(415, `content type must be ${types.join(' or ')}, got "${type || '(none)'}"`);
      }
    };
  }
}
