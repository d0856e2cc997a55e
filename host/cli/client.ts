// The CLI's HTTP client for the control API: finds the token, streams uploads with progress, and
// turns error bodies into messages.
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';

export interface RequestBody {
  json?: unknown;
  wasm?: Uint8Array;
  headers?: Record<string, string>;
  /** Called as the body goes out (uploads): bytes sent so far and the total. */
  onProgress?: (sent: number, total: number) => void;
}

/** Upload bodies go out in slices this big, so progress moves and backpressure is honoured. */
const SLICE = 64 * 1024;

/**
 * A small HTTP client for the control API, used by the CLI. Errors carry the server's message.
 * The token comes from the flag/environment/data directory; if the engine answers 401 and says
 * where its generated token is (it does so on loopback only), that file is read and the request
 * is sent once more: the CLI on the engine's machine needs no setup.
 */
export class ControlClient {
  readonly #host: string;
  readonly #port: number;
  #token: string | undefined;
  readonly #explicit: boolean;

  /** `explicit`: the token was given (flag, environment) and is used as is, never replaced. */
  constructor(address: string, token?: string, explicit = false) {
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
    if (!m) throw new CliError(`control address must be HOST:PORT, got "${address}"`);
    this.#host = m[1]!;
    this.#port = Number(m[2]);
    this.#token = token;
    this.#explicit = explicit;
  }

  get base(): string {
    return `http://${this.#host.includes(':') ? `[${this.#host}]` : this.#host}:${this.#port}`;
  }

  async request<T>(method: string, path: string, body: RequestBody = {}): Promise<T> {
    let res = await this.#send(method, path, body);
    const hint = res.status === 401 ? (res.data as { tokenFile?: unknown } | null)?.tokenFile : undefined;
    if (typeof hint === 'string' && !this.#explicit && existsSync(hint)) {
      const token = readToken(hint);
      if (token && token !== this.#token) {
        this.#token = token;
        res = await this.#send(method, path, body);
      }
    }
    if (res.status >= 400) {
      const data = res.data;
      const message = typeof data === 'object' && data && 'error' in data ? String((data as { error: unknown }).error) : String(data);
      throw new CliError(message, res.status, data);
    }
    return res.data as T;
  }

  #send(method: string, path: string, body: RequestBody): Promise<{ status: number; data: unknown }> {
    const headers: Record<string, string> = { ...body.headers };
    let payload: Uint8Array | undefined;
    if (body.json !== undefined) {
      headers['content-type'] = 'application/json';
      payload = Buffer.from(JSON.stringify(body.json));
    } else if (body.wasm) {
      headers['content-type'] = 'application/wasm';
      payload = body.wasm;
    }
    if (payload) headers['content-length'] = String(payload.byteLength);
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;

    return new Promise((resolve, reject) => {
      let answered = false;
      const req = httpRequest({ host: this.#host, port: this.#port, method, path, headers }, (res) => {
        answered = true;
        readResponse(res).then(resolve, reject);
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        // The engine may answer (401, 413) and close before the whole body went out: its answer counts.
        if (answered) return;
        reject(new CliError(`cannot reach the engine at ${this.base} (${e.code ?? e.message}); is it running? (hotswap start)`));
      });
      if (!payload) return void req.end();
      const total = payload.byteLength;
      let sent = 0;
      const writeMore = (): void => {
        while (sent < total && !answered) {
          const slice = payload!.subarray(sent, Math.min(total, sent + SLICE));
          sent += slice.byteLength;
          const more = req.write(slice);
          body.onProgress?.(sent, total);
          if (!more) return void req.once('drain', writeMore);
        }
        req.end();
      };
      writeMore();
    });
  }
}

async function readResponse(res: IncomingMessage): Promise<{ status: number; data: unknown }> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  let data: unknown = text;
  if (res.headers['content-type']?.includes('json')) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  return { status: res.statusCode ?? 0, data };
}

/** The token in a token file, or undefined when it cannot be read (another user's file). */
export function readToken(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A command line that does not fit the command's usage. */
export class UsageError extends CliError {}
