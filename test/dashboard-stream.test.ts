// The dashboard's server side against a real ControlPlane (real HTTP on 127.0.0.1, a real
// SQLite data directory): the page served at / under a strict content security policy, and the
// live stream (server-sent events) with its samples, swaps and refusals, its bound on clients,
// and a server that still stops while streams are open.
import { rmSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SWAP_PHASES } from '../host/component/swap.js';
import { type Plane, startPlane, tempDir } from './support/control-plane.js';
import { requestThrough } from './support/request.js';
import { waitFor } from './support/wait-for.js';

interface StreamEvent {
  event: string;
  // biome-ignore lint/suspicious/noExplicitAny: JSON events of several shapes; each assertion reads its own fields
  data: any;
}

/** A client of the live stream that parses `event:`/`data:` frames as they arrive. */
class StreamClient {
  readonly events: StreamEvent[] = [];
  ended = false;
  /** Everything received, for an answer that is not a stream (a 503's JSON body). */
  raw = '';
  #buffer = '';

  private constructor(readonly response: Response) {
    void this.#read(response.body!.getReader());
  }

  static async open(base: string): Promise<StreamClient> {
    return new StreamClient(await fetch(`${base}/v1/stream`));
  }

  async #read(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const text = decoder.decode(value, { stream: true });
        this.raw += text;
        this.#buffer += text;
        for (let end = this.#buffer.indexOf('\n\n'); end !== -1; end = this.#buffer.indexOf('\n\n')) {
          const frame = this.#buffer.slice(0, end);
          this.#buffer = this.#buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(frame)?.[1];
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (event && data) this.events.push({ event, data: JSON.parse(data) });
        }
      }
    } catch {
      // the server went away: ended either way
    }
    this.ended = true;
  }

  /** Waits for the first event named `event` (after `from`) that `matches`. */
  next(event: string, matches: (data: StreamEvent['data']) => boolean = () => true, from = 0): Promise<StreamEvent['data']> {
    return waitFor(() => this.events.slice(from).find((e) => e.event === event && matches(e.data))?.data, {
      what: `a "${event}" event on the live stream (got ${this.events.map((e) => e.event).join(', ')})`,
      timeoutMs: 5000,
    });
  }
}

let dataDir: string;
let p: Plane;
/** The last test stops the plane itself, with streams open. */
let planeStopped = false;

async function post(path: string, body: object): Promise<Response> {
  return fetch(p.base + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${p.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

test.before(async () => {
  dataDir = tempDir();
  p = await startPlane(dataDir);
});
test.after(async () => {
  if (!planeStopped) await p?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test('the page is served at / under a strict content security policy; other paths stay JSON 404s', async () => {
  const page = await fetch(`${p.base}/`);
  assert.is(page.status, 200);
  assert.match(page.headers.get('content-type')!, /^text\/html/);
  const csp = page.headers.get('content-security-policy')!;
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.not.match(csp, /unsafe-inline|unsafe-eval/);
  assert.is(page.headers.get('x-content-type-options'), 'nosniff');
  assert.match(await page.text(), /<script type="module" src="app.js"><\/script>/);
  const script = await fetch(`${p.base}/app.js`);
  assert.match(script.headers.get('content-type')!, /javascript/);
  await script.arrayBuffer();
  for (const path of ['/v1/nope', '/nope.html', '/web/index.html']) {
    const r = await fetch(p.base + path);
    assert.is(r.status, 404, path);
    assert.is(((await r.json()) as { code: string }).code, 'NoRoute', path);
  }
});

test('the stream needs no token: it starts with the phases and the backlog, then samples, swaps and refusals', async () => {
  const stream = await StreamClient.open(p.base);
  assert.is(stream.response.status, 200);
  assert.match(stream.response.headers.get('content-type')!, /^text\/event-stream/);
  const hello = await stream.next('hello');
  assert.equal(hello.phases, [...SWAP_PHASES]);
  assert.ok(hello.samples.length >= 1, 'the samples taken since the engine started');
  assert.equal(Object.keys(hello.samples[0].components[0]).sort(), [
    'dropped',
    'events',
    'eventsPerSec',
    'faults',
    'name',
    'queueDepth',
    'state',
    'version',
  ]);

  // Events handled show up as a rate in the next samples.
  const kv = p.plane.engine.component('kv');
  for (let i = 0; i < 200; i++) assert.is(await requestThrough(kv, `SET k${i} v`), 'OK');
  const busy = await stream.next('sample', (s) => s.components[0].eventsPerSec > 0);
  assert.ok(busy.components[0].events >= 200, JSON.stringify(busy));

  const mark = stream.events.length;
  const upgraded = await post('/v1/components/kv/upgrade', { version: '2.0.0' });
  assert.is(upgraded.status, 200);
  const swap = await stream.next('swap', () => true, mark);
  assert.equal([swap.component, swap.from, swap.to, swap.reason, swap.result], ['kv', '1.0.0', '2.0.0', 'upgrade', 'ok']);
  assert.type(swap.phasesUs.activate, 'number');
  await stream.next('sample', (s) => s.components[0].version === '2.0.0', mark);

  const refused = await post('/v1/components/kv/upgrade', { version: '9.9.9' });
  assert.is(refused.status, 404);
  const rejected = await stream.next('rejected', () => true, mark);
  assert.equal([rejected.component, rejected.kind, rejected.to], ['kv', 'upgrade', '9.9.9']);
  assert.match(rejected.cause, /9\.9\.9/);
});

test('at most 32 streams at once; open streams do not keep the server from stopping', async () => {
  const streams = await Promise.all(Array.from({ length: 32 }, () => StreamClient.open(p.base)));
  // One stream is still open from the test before (its client never closed it): the 33rd is refused.
  const over = streams.filter((s) => s.response.status === 503);
  assert.is(over.length, 1, streams.map((s) => s.response.status).join());
  await waitFor(() => over[0]!.ended, { what: 'the 503 answer to end' });
  assert.match((JSON.parse(over[0]!.raw) as { error: string }).error, /at most 32 clients/);
  const open = streams.filter((s) => s.response.status === 200);
  await Promise.all(open.map((s) => s.next('hello')));
  const stopping = p.stop().then(() => {
    planeStopped = true;
  });
  await waitFor(() => planeStopped, { what: 'the control server to stop with 32 streams open', timeoutMs: 5000 });
  await stopping;
  await waitFor(() => open.every((s) => s.ended), { what: 'every stream to end', timeoutMs: 2000 });
});

test.run();
