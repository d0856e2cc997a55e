/** The `net` capability's sockets: per-interface UDP sockets on one port with a multicast group. */
import dgram from 'node:dgram';
import { HostResult, NET_CHANNEL_BASE } from '../abi/abi.js';
import type { Channel, Component } from '../component/component.js';
import type { Logger } from '../log.js';
import { parseHostPort } from '../sources/address.js';
import type { NetCapabilityConfig } from './config.js';
import type { InterfaceTable, NetInterface } from './interfaces.js';

/** Where the sockets deliver: the component that was granted them. */
export type SocketTarget = Pick<Component, 'name' | 'enqueue' | 'attachChannel'>;

/** How long close() waits for datagrams already handed to send() (the TERM poison) to leave. */
const FLUSH_TIMEOUT_MS = 500;

/** The send socket of one interface: channel NET_CHANNEL_BASE + index for hs.send. */
class InterfaceChannel implements Channel {
  readonly kind = 'net';
  readonly #socket: dgram.Socket;
  readonly #owner: NetSockets;

  constructor(socket: dgram.Socket, owner: NetSockets) {
    this.#socket = socket;
    this.#owner = owner;
  }

  send(peer: string, bytes: Buffer): number {
    const to = parseHostPort(peer);
    if (!to) return HostResult.unknownPeer;
    if (bytes.byteLength > 65507) return HostResult.tooLarge;
    this.#owner.track(this.#socket, bytes, to.port, to.host);
    return HostResult.ok;
  }
}

/**
 * Per-interface UDP sockets on one port with a multicast group (RIPv2: 520 and 224.0.0.9), set up
 * the way docs/MEASUREMENTS.md found to work from Node:
 *  - receive: ONE socket on 0.0.0.0:port (reuseAddr) that joins the group once per interface;
 *  - send: one socket per interface bound to ifaddr:port (so datagrams leave from the port the
 *    neighbours require), with that interface as the multicast interface, TTL 1 and no loopback.
 *    Unicast to ifaddr:port (answers to our requests) arrives on it too.
 * The sockets belong to the host, so they stay open across swaps; every datagram becomes a
 * message event with `iface` set from its source address (Node has no IP_PKTINFO).
 */
export class NetSockets {
  readonly #sockets: dgram.Socket[] = [];
  /** Send socket of each active interface, by interface index. */
  readonly #byIndex = new Map<number, dgram.Socket>();
  readonly #log: Logger;
  #pending = 0;
  #flushed: (() => void) | null = null;

  private constructor(log: Logger) {
    this.#log = log;
  }

  static async open(target: SocketTarget, table: InterfaceTable, config: NetCapabilityConfig, log: Logger): Promise<NetSockets> {
    const net = new NetSockets(log);
    try {
      const receive = await net.#bind(target, table, '0.0.0.0', config.port, undefined);
      for (const i of table.active()) receive.addMembership(config.group, i.address);
      for (const i of table.active()) {
        const socket = await net.#bind(target, table, i.address, config.port, i);
        socket.setMulticastInterface(i.address);
        socket.setMulticastTTL(1);
        socket.setMulticastLoopback(false);
        socket.setBroadcast(true);
        target.attachChannel(NET_CHANNEL_BASE + i.index, new InterfaceChannel(socket, net));
        log.info(
          `net: ${i.name} ${i.address}/${i.prefixLen} udp ${config.port} group ${config.group} on channel ${NET_CHANNEL_BASE + i.index}`,
        );
      }
    } catch (e) {
      await net.close();
      throw e;
    }
    return net;
  }

  async #bind(
    target: SocketTarget,
    table: InterfaceTable,
    address: string,
    port: number,
    own: NetInterface | undefined,
  ): Promise<dgram.Socket> {
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (e) => reject(new Error(`net: udp ${address}:${port} for ${target.name}: ${e.message}`)));
      socket.bind(port, address, () => resolve());
    });
    this.#sockets.push(socket);
    socket.on('error', (e) => this.#log.warn(`net: socket ${address}:${port}: ${e.message}`));
    socket.on('message', (payload, rinfo) => {
      if (table.isOwnAddress(rinfo.address)) return; // our own multicast, looped back by a neighbour's bridge
      const from = table.findBySource(rinfo.address);
      const via = from ?? own;
      const replySocket = from?.active ? this.#socketOf(from) : own ? socket : undefined;
      target.enqueue({
        kind: 'message',
        channel: NET_CHANNEL_BASE + (via?.index ?? 0),
        peer: `${rinfo.address}:${rinfo.port}`,
        payload,
        ...(from ? { iface: from.index } : {}),
        ...(replySocket
          ? {
              replyTo: {
                reply: (bytes: Buffer) => {
                  this.track(replySocket, bytes, rinfo.port, rinfo.address);
                  return HostResult.ok;
                },
              },
            }
          : {}),
      });
    });
    if (own) this.#byIndex.set(own.index, socket);
    return socket;
  }

  #socketOf(i: NetInterface): dgram.Socket | undefined {
    return this.#byIndex.get(i.index);
  }

  /** Sends and counts the datagram until it has left, so close() can wait for the last ones. */
  track(socket: dgram.Socket, bytes: Buffer, port: number, host: string): void {
    this.#pending++;
    socket.send(bytes, port, host, (err) => {
      if (err) this.#log.warn(`net: send to ${host}:${port} failed: ${err.message}`);
      if (--this.#pending === 0) this.#flushed?.();
    });
  }

  async close(): Promise<void> {
    if (this.#pending > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, FLUSH_TIMEOUT_MS);
        this.#flushed = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    await Promise.all(this.#sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.#sockets.length = 0;
  }
}
