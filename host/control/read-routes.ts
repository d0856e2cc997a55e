// The control API's read-only routes: health, metrics, component status, stored versions and
// history. Open to everyone (docs/API.md, "Authentication").
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../engine.js';
import type { UpgradeHistory } from '../repository/history.js';
import type { ModuleStore } from '../repository/store.js';
import type { EngineMetrics } from './metrics.js';
import { HISTORY_QUERY, NAME_PARAMS, type NameParams, VERSION_PARAMS, type VersionParams } from './schemas.js';

export interface ReadParts {
  engine: Engine;
  store: ModuleStore;
  history: UpgradeHistory;
  metrics: EngineMetrics;
}

const DEFAULT_HISTORY_LIMIT = 1000;

export function readRoutes(app: FastifyInstance, { engine, store, history, metrics }: ReadParts): void {
  app.get('/healthz', async (_req, reply) => {
    const components = engine.status().map((c) => ({ name: c.name, version: c.version, state: c.state }));
    const ok = components.every((c) => c.state === 'running' || c.state === 'upgrading');
    return reply.code(ok ? 200 : 503).send({ ok, components });
  });

  app.get('/metrics', async (_req, reply) => reply.type(metrics.contentType).send(await metrics.text()));

  app.get('/v1/components', async () => engine.status());

  const byName = { schema: { params: NAME_PARAMS } };
  const byVersion = { schema: { params: VERSION_PARAMS } };

  app.get<{ Params: NameParams }>('/v1/components/:name', byName, async (req) => engine.component(req.params.name).status());

  app.get<{ Params: NameParams }>('/v1/components/:name/show', byName, async (req, reply) =>
    reply.type('text/plain; charset=utf-8').send(engine.component(req.params.name).show()),
  );

  app.get<{ Params: NameParams }>('/v1/components/:name/versions', byName, async (req) => {
    const module = engine.componentConfig(req.params.name).module;
    const running = engine.component(req.params.name).module?.version ?? null;
    return store.list(module).map((v) => ({ ...v, running: v.version === running }));
  });

  app.get<{ Params: VersionParams }>('/v1/components/:name/versions/:version', byVersion, async (req) =>
    store.describe(engine.componentConfig(req.params.name).module, req.params.version),
  );

  app.get<{ Params: NameParams; Querystring: { limit?: number } }>(
    '/v1/components/:name/history',
    { schema: { params: NAME_PARAMS, querystring: HISTORY_QUERY } },
    async (req) => {
      engine.component(req.params.name); // 404 for an unknown component
      return history.list(req.params.name, req.query.limit ?? DEFAULT_HISTORY_LIMIT);
    },
  );
}
