// The web dashboard's routes on the control server: the page itself (web/, served as static
// files at `/`) and the live stream it reads (`GET /v1/stream`, server-sent events). Everything
// else the page shows comes from the control API's own routes (docs/DASHBOARD.md).
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../engine.js';
import { packageRoot } from '../../paths.js';
import { HttpError } from '../errors.js';
import { LiveFeed, type LiveFeedOptions } from './live-feed.js';
import { SseStream } from './sse-stream.js';

/** Where the page's files are: `web/` in the package (shipped by package.json "files"). */
export const WEB_ROOT = join(packageRoot, 'web');

/**
 * What the page may load and run: its own files only. No inline script or style, no other
 * origin, no plugin, no framing. Escaping (textContent, never innerHTML) is what keeps text from
 * a module or an upload inert; this policy is the second wall behind it.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface DashboardOptions {
  engine: Engine;
  feed?: LiveFeedOptions;
}

/**
 * Registers the page and the live stream. The stream is read-only and carries nothing the open
 * read routes do not already give (status, swap reports, faults, refusals), so like them it needs
 * no token: the page uses a plain EventSource, and the token never has to travel in a URL.
 */
export async function dashboard(app: FastifyInstance, options: DashboardOptions): Promise<void> {
  const feed = new LiveFeed(options.engine, options.feed);
  // Before the server stops accepting: open streams would otherwise keep close() waiting.
  app.addHook('preClose', async () => feed.stop());

  app.get('/v1/stream', async (req, reply) => {
    const refusal = feed.refusal();
    if (refusal) throw new HttpError(503, refusal);
    // The response now belongs to the stream; fastify must not send anything else on it.
    reply.hijack();
    feed.subscribe(new SseStream(reply.raw));
    req.log.debug(`live stream opened for ${req.ip} (${feed.streams} open)`);
  });

  // Imported here, when a server starts: every CLI command imports the control layer, and none
  // but `hotswap start` serves files.
  const { default: fastifyStatic } = await import('@fastify/static');
  await app.register(fastifyStatic, {
    root: WEB_ROOT,
    prefix: '/',
    // Routes for the files that exist at start only: anything else is the API's JSON 404.
    wildcard: false,
    decorateReply: false,
    setHeaders: (res) => {
      res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('referrer-policy', 'no-referrer');
      res.setHeader('cache-control', 'no-cache');
    },
  });
}
