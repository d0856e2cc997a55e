// One server-sent-events connection: writes named events as `event:`/`data:` frames on the raw
// HTTP response, and gives up on a client that stopped reading instead of buffering for it.
import type { ServerResponse } from 'node:http';

/**
 * How much a client may fall behind before it is dropped. A sample is a few hundred bytes a
 * second per component, so this is minutes of backlog: only a client that stopped reading
 * gets there, and it would otherwise grow the engine's memory without bound.
 */
const MAX_BUFFERED_BYTES = 1024 * 1024;

export class SseStream {
  readonly #res: ServerResponse;
  #open = true;

  constructor(res: ServerResponse) {
    this.#res = res;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
    });
    // The browser reconnects after this many ms if the engine restarts.
    res.write('retry: 2000\n\n');
    res.once('close', () => {
      this.#open = false;
    });
  }

  get open(): boolean {
    return this.#open;
  }

  /** Sends `data` (JSON) as event `name`; ends the stream when the client is too far behind. */
  send(name: string, data: unknown): void {
    if (!this.#open) return;
    if (this.#res.writableLength > MAX_BUFFERED_BYTES) {
      this.close();
      return;
    }
    // JSON.stringify never emits a raw newline, so one `data:` line holds the whole event.
    this.#res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#res.end();
  }

  onClose(listener: () => void): void {
    this.#res.once('close', listener);
  }
}
