// A host-owned UDP socket feeding one component: one datagram, one message event.
import dgram from 'node:dgram';
import { HostResult } from '../abi/abi.js';
import type { Channel, Component, OutputGate } from '../component/component.js';
import { type ListenAddress, parseHostPort } from './address.js';

export type { ListenAddress } from './address.js';

/**
 * A host-owned UDP socket feeding one component: each datagram becomes one message event, and
 * the reply goes back to its sender. The socket belongs to the host, so it stays open (and keeps
 * receiving into the kernel buffer) while the module is swapped. A datagram that arrives while
 * the component's queue is full is dropped, as the network may drop it anyway; the component
 * counts it (`dropped` in its status). Pausing would only move the loss into the kernel buffer.
 */
export class UdpSource implements Channel {
  readonly kind = 'udp';
  readonly #socket: dgram.Socket;
  readonly #address: ListenAddress;
  /** Datagrams leave once the event that made them is durable (the component's journal), or at once. */
  readonly #gate: OutputGate;

  private constructor(socket: dgram.Socket, address: ListenAddress, gate: OutputGate) {
    this.#socket = socket;
    this.#address = address;
    this.#gate = gate;
  }

  static async listen(component: Component, channel: number, at: ListenAddress): Promise<UdpSource> {
    const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (e) => {
        socket.close(); // nothing of a failed bind stays open (a component created at runtime is undone)
        reject(new Error(`udp ${at.host}:${at.port} for ${component.name}: ${e.message}`, { cause: e }));
      });
      socket.bind(at.port, at.host, () => resolve());
    });
    const bound = socket.address();
    const source = new UdpSource(socket, { host: bound.address, port: bound.port }, component.outputGate);
    socket.on('error', () => {}); // send errors are reported by send()'s result, not as crashes
    socket.on('message', (payload, rinfo) => {
      // Refused when the queue is full: the component counts it as dropped.
      component.enqueue({
        kind: 'message',
        channel,
        peer: `${rinfo.address}:${rinfo.port}`,
        payload,
        replyTo: { reply: (bytes) => source.#sendTo(bytes, rinfo.port, rinfo.address) },
      });
    });
    component.attachChannel(channel, source);
    return source;
  }

  get address(): ListenAddress {
    return this.#address;
  }

  send(peer: string, bytes: Buffer): number {
    const to = parseHostPort(peer);
    if (!to) return HostResult.unknownPeer;
    return this.#sendTo(bytes, to.port, to.host);
  }

  #sendTo(bytes: Buffer, port: number, host: string): number {
    if (bytes.byteLength > 65507) return HostResult.tooLarge;
    this.#gate.pass(() => this.#socket.send(bytes, port, host));
    return HostResult.ok;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}
