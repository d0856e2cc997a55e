import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { UpgradeInProgress } from '../component/component.js';
import { UnknownComponent, type Engine } from '../engine.js';
import { ModuleRejected } from '../modules/errors.js';
import { NotFound } from '../repository/repository.js';

const NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const VERSION = /^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$/;

/** Maps engine errors to HTTP statuses with a message that says what was wrong. */
export function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof UnknownComponent || error instanceof NotFound) return reply.code(404).send({ error: message });
  if (error instanceof UpgradeInProgress) return reply.code(409).send({ error: message });
  if (error instanceof ModuleRejected) {
    return reply.code(422).send({ error: message, module: error.module, version: error.version, problems: error.problems });
  }
  return reply.code(500).send({ error: message });
}

/**
 * The control endpoint the CLI talks to. Binds to loopback by default (see config.control).
 */
export async function startControlServer(engine: Engine, host: string, port: number): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 8 * 1024 * 1024 });
  app.addContentTypeParser('application/wasm', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const checkName = (name: string, reply: FastifyReply): boolean => {
    if (NAME.test(name)) return true;
    void reply.code(400).send({ error: `component name "${name}" must match ${NAME}` });
    return false;
  };

  app.get('/healthz', async () => ({
    ok: engine.status().every((c) => c.state === 'running'),
    components: engine.status().map((c) => ({ name: c.name, state: c.state })),
  }));

  app.get('/v1/components', async () => engine.status());

  app.get<{ Params: { name: string } }>('/v1/components/:name', async (req, reply) => {
    if (!checkName(req.params.name, reply)) return reply;
    try {
      return engine.component(req.params.name).status();
    } catch (e) {
      return sendError(reply, e);
    }
  });

  app.get<{ Params: { name: string } }>('/v1/components/:name/show', async (req, reply) => {
    if (!checkName(req.params.name, reply)) return reply;
    try {
      return reply.type('text/plain; charset=utf-8').send(engine.component(req.params.name).show());
    } catch (e) {
      return sendError(reply, e);
    }
  });

  app.post<{ Params: { name: string }; Querystring: { version?: string } }>(
    '/v1/components/:name/upgrade',
    async (req, reply) => {
      if (!checkName(req.params.name, reply)) return reply;
      let target: { version: string } | { bytes: Uint8Array; version?: string };
      if (Buffer.isBuffer(req.body)) {
        const v = req.query.version;
        if (v !== undefined && !VERSION.test(v)) return reply.code(400).send({ error: `version "${v}" must match ${VERSION}` });
        target = { bytes: new Uint8Array(req.body), ...(v ? { version: v } : {}) };
      } else {
        const body = (req.body ?? {}) as { version?: unknown };
        if (typeof body.version !== 'string' || !VERSION.test(body.version)) {
          return reply.code(400).send({ error: `body must be {"version": "<version>"} with a version matching ${VERSION}` });
        }
        target = { version: body.version };
      }
      try {
        const report = await engine.upgrade(req.params.name, target);
        if (report.result !== 'ok') return reply.code(422).send({ error: `upgrade ${report.result}: ${report.cause}`, report });
        return report;
      } catch (e) {
        return sendError(reply, e);
      }
    },
  );

  await app.listen({ host, port });
  return app;
}
