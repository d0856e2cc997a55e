// A host-owned TCP listener speaking a line protocol: one line, one message event.
import net from 'node:net';
import { HostResult, INBOX_CAPACITY } from '../abi/abi.js';
import type { Channel, Component, OutputGate } from '../component/component.js';
import type { ListenAddress } from './address.js';

const NEWLINE = 0x0a;
const NEWLINE_BYTES = Buffer.from('\n');

/**
 * A host-owned TCP listener speaking a line protocol: every line is one message event and every
 * reply is written back as one line on the same connection. Connections belong to the host and
 * stay open across swaps; per-connection order follows from the component's single FIFO queue.
 * Back-pressure: once the component's queue is at half its bound, a connection stops reading
 * (socket.pause(), so the kernel's window fills and the peer slows down) and keeps its unparsed
 * lines; it resumes when the queue is down to a quarter. No line is ever dropped.
 */
export class TcpSource implements Channel {
  readonly kind = 'tcp';
  readonly #server: net.Server;
  readonly #connections = new Map<number, net.Socket>();
  #nextId = 1;
  #address: ListenAddress = { host: '', port: 0 };
  /** Lines leave once the event that made them is durable (the component's journal), or at once. */
  readonly #gate: OutputGate;

  private constructor(server: net.Server, gate: OutputGate) {
    this.#server = server;
    this.#gate = gate;
  }

  static async listen(component: Component, channel: number, at: ListenAddress): Promise<TcpSource> {
    const server = net.createServer({ noDelay: true });
    const source = new TcpSource(server, component.outputGate);
    server.on('connection', (socket) => source.#accept(component, channel, socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new Error(`tcp ${at.host}:${at.port} for ${component.name}: ${e.message}`, { cause: e })));
      server.listen(at.port, at.host, () => resolve());
    });
    const bound = server.address() as net.AddressInfo;
    source.#address = { host: bound.address, port: bound.port };
    component.attachChannel(channel, source);
    return source;
  }

  get address(): ListenAddress {
    return this.#address;
  }

  #accept(component: Component, channel: number, socket: net.Socket): void {
    const id = this.#nextId++;
    const peer = `tcp#${id}`;
    this.#connections.set(id, socket);
    const gate = this.#gate;
    const replyTo = { reply: (bytes: Buffer): number => writeLine(socket, bytes, gate) };
    let pending: Buffer = Buffer.alloc(0);
    let paused = false;
    /** Queues the complete lines in `pending` until the component's queue is at high water. */
    const feed = (): void => {
      const data = pending;
      let start = 0;
      let nl = -1;
      while (!component.queueAboveHighWater && (nl = data.indexOf(NEWLINE, start)) !== -1) {
        let end = nl;
        if (end > start && data[end - 1] === 0x0d) end--; // accept CRLF from telnet-style clients
        component.enqueue({ kind: 'message', channel, peer, payload: data.subarray(start, end), replyTo });
        start = nl + 1;
      }
      pending = data.subarray(start);
      if (component.queueAboveHighWater) {
        if (!paused) {
          paused = true;
          socket.pause();
          component.whenQueueBelowLowWater(() => {
            paused = false;
            if (socket.destroyed) return;
            socket.resume();
            feed();
          });
        }
      } else if (pending.length > INBOX_CAPACITY) {
        // Only a partial line is left here: every complete one was queued.
        socket.end(`ERROR line longer than ${INBOX_CAPACITY} bytes\n`);
        pending = Buffer.alloc(0);
      }
    };
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
      if (!paused) feed();
    });
    socket.on('error', () => {}); // a reset by the peer just ends the connection
    socket.on('close', () => this.#connections.delete(id));
  }

  send(peer: string, bytes: Buffer): number {
    const id = peer.startsWith('tcp#') ? Number(peer.slice(4)) : NaN;
    const socket = this.#connections.get(id);
    if (!socket) return HostResult.unknownPeer;
    return writeLine(socket, bytes, this.#gate);
  }

  close(): Promise<void> {
    for (const s of this.#connections.values()) s.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

function writeLine(socket: net.Socket, bytes: Buffer, gate: OutputGate): number {
  if (!socket.writable) return HostResult.unknownPeer;
  const line = Buffer.concat([bytes, NEWLINE_BYTES]);
  gate.pass(() => socket.writable && socket.write(line));
  return HostResult.ok;
}
