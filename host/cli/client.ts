/** A small HTTP client for the control API, used by the CLI. Errors carry the server's message. */
export class ControlClient {
  readonly #base: string;

  constructor(address: string) {
    this.#base = `http://${address}`;
  }

  async request<T>(method: string, path: string, body?: { json?: unknown; wasm?: Uint8Array }): Promise<T> {
    const headers: Record<string, string> = {};
    let payload: BodyInit | undefined;
    if (body?.json !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body.json);
    } else if (body?.wasm) {
      headers['content-type'] = 'application/wasm';
      payload = new Uint8Array(body.wasm);
    }
    let res: Response;
    try {
      res = await fetch(this.#base + path, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
    } catch (e) {
      throw new CliError(`cannot reach the engine at ${this.#base} (${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message}); is it running? (hotswap start)`);
    }
    const text = await res.text();
    const data = res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
    if (!res.ok) {
      const err = typeof data === 'object' && data && 'error' in data ? String((data as { error: unknown }).error) : text;
      throw new CliError(err, res.status, data);
    }
    return data as T;
  }
}

export class CliError extends Error {
  constructor(message: string, readonly status?: number, readonly data?: unknown) {
    super(message);
    this.name = 'CliError';
  }
}
