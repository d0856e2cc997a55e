/** Line-protocol clients over real sockets, matching replies to requests by order. */
import dgram from 'node:dgram';
import net from 'node:net';

/** A UDP client that keeps at most `window` requests in flight and returns replies in request order. */
export class UdpClient {
  readonly #socket = dgram.createSocket('udp4');
  readonly #port: number;
  readonly #queue: { resolve: (reply: string) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];
  /** Replies that arrived with no request waiting (duplicates) — a test asserts this stays empty. */
  readonly unexpected: string[] = [];

  constructor(port: number) {
    this.#port = port;
    this.#socket.on('message', (msg) => {
      const waiter = this.#queue.shift();
      if (!waiter) {
        this.unexpected.push(msg.toString());
        return;
      }
      clearTimeout(waiter.timer);
      waiter.resolve(msg.toString());
    });
  }

  request(line: string, timeoutMs = 5000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.#queue.findIndex((w) => w.timer === timer);
        if (i >= 0) this.#queue.splice(i, 1);
        reject(new Error(`no UDP reply to "${line}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#queue.push({ resolve, reject, timer });
      this.#socket.send(line, this.#port, '127.0.0.1');
    });
  }

  /** Sends many requests with a bounded window; replies come back in request order. */
  async pipeline(lines: string[], window = 32): Promise<string[]> {
    const replies: string[] = new Array(lines.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < lines.length) {
        const i = next++;
        replies[i] = await this.request(lines[i]!);
      }
    };
    // Requests on one socket are answered in order, so `window` workers keep `window` in flight.
    await Promise.all(Array.from({ length: Math.min(window, lines.length) }, worker));
    return replies;
  }

  close(): void {
    this.#socket.close();
  }
}

/** A TCP line client: one request per line, one reply line per request, in order. */
export class TcpLineClient {
  readonly #socket: net.Socket;
  readonly #waiters: { resolve: (reply: string) => void; reject: (e: Error) => void }[] = [];
  #buffer = '';

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      for (let nl = this.#buffer.indexOf('\n'); nl !== -1; nl = this.#buffer.indexOf('\n')) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        const w = this.#waiters.shift();
        if (w) w.resolve(line);
      }
    });
    const fail = (e: Error): void => {
      for (const w of this.#waiters.splice(0)) w.reject(e);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  static connect(port: number): Promise<TcpLineClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new TcpLineClient(s)));
      s.once('error', reject);
    });
  }

  request(line: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#socket.write(`${line}\n`);
    });
  }

  /** Writes all lines at once (pipelined) and collects the replies in order. */
  pipeline(lines: string[]): Promise<string[]> {
    const replies = lines.map((_l) => new Promise<string>((resolve, reject) => this.#waiters.push({ resolve, reject })));
    this.#socket.write(lines.map((l) => `${l}\n`).join(''));
    return Promise.all(replies);
  }

  close(): void {
    this.#socket.end();
  }
}
