/**
 * Plain-Node UDP key-value server: the "no hot swap at all" baseline.
 *
 *   node --import tsx bench/peers/dgram-kv-server.ts [--port P] [--host 127.0.0.1]
 *
 * One command per datagram (a trailing newline is ignored):
 *   SET k v   -> OK             (v is the rest of the line, may hold spaces)
 *   GET k     -> VALUE v | NOT_FOUND
 *   anything else -> ERROR <reason>
 * State is an in-memory Map, so it dies with the process: that is the point of
 * the restart baseline (bench/peers/node-restart.ts).
 *
 * Prints `listening <port>` on stdout once bound (port 0 / no --port picks a
 * free one). Binds to loopback only. Also importable: startKvServer().
 */
import dgram from 'node:dgram';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface KvServer {
  port: number;
  /** Number of keys currently stored. */
  size(): number;
  close(): Promise<void>;
}

/** True for loopback addresses: every benchmark here talks to this machine only. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * The whole protocol over a JavaScript Map: one request line in, one reply out. Exported so
 * the in-process dispatch benchmark (bench/cases/dispatch.ts) runs exactly this work as its
 * plain-JS handler.
 */
export function handleKvLine(store: Map<string, string>, text: string): string {
  let line = text;
  // Tolerate a trailing "\n" or "\r\n" from line-oriented clients (e.g. nc -u).
  if (line.endsWith('\n')) line = line.slice(0, line.endsWith('\r\n') ? -2 : -1);
  const sp1 = line.indexOf(' ');
  const cmd = sp1 < 0 ? line : line.slice(0, sp1);
  if (cmd === 'GET' && sp1 > 0) {
    const v = store.get(line.slice(sp1 + 1));
    return v === undefined ? 'NOT_FOUND' : `VALUE ${v}`;
  }
  if (cmd === 'SET' && sp1 > 0) {
    const sp2 = line.indexOf(' ', sp1 + 1);
    if (sp2 < 0) return 'ERROR usage: SET k v';
    store.set(line.slice(sp1 + 1, sp2), line.slice(sp2 + 1));
    return 'OK';
  }
  return 'ERROR unknown command';
}

export function startKvServer(opts: { port?: number; host?: string } = {}): Promise<KvServer> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopback(host)) return Promise.reject(new Error(`refusing to bind non-loopback host ${host}`));
  const store = new Map<string, string>();
  // The same socket buffer sizes as the engine's UdpSource, so only the server logic differs.
  const sock = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });

  sock.on('message', (msg, rinfo) => {
    sock.send(handleKvLine(store, msg.toString('utf8')), rinfo.port, rinfo.address);
  });

  return new Promise((res, rej) => {
    sock.once('error', rej);
    sock.bind(opts.port ?? 0, host, () => {
      sock.off('error', rej);
      // A send error (e.g. the client's port went away) must not kill the server.
      sock.on('error', (e) => process.stderr.write(`dgram-kv-server: ${e.message}\n`));
      res({
        port: sock.address().port,
        size: () => store.size,
        close: () => new Promise<void>((done) => sock.close(() => done())),
      });
    });
  });
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const port = Number(argValue('--port') ?? process.env.KV_PORT ?? 0);
  const host = argValue('--host') ?? '127.0.0.1';
  const srv = await startKvServer({ port, host });
  process.stdout.write(`listening ${srv.port}\n`);
  const stop = (): void => {
    void srv.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

// Run only when executed directly, not when imported.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    process.stderr.write(`dgram-kv-server: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
