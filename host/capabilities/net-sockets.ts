/** The `net` capability's sockets: per-interface UDP sockets on one port with a multicast group, opened and closed as links come and go. */
import dgram from 'node:dgram';
import { HostResult, NET_CHANNEL_BASE } from '../abi/abi.js';
import type { Channel, Component } from '../component/component.js';
import type { Logger } from '../log.js';
import { parseHostPort } from '../sources/address.js';
import { type NetCapabilityConfig, pacingOf } from './config.js';
import type { InterfaceTable, NetInterface } from './interfaces.js';
import { InterfacePacer, type PacedDatagram } from './pacing.js';

/** Where the sockets deliver: the component that was granted them. */
export type SocketTarget = Pick<Component, 'name' | 'enqueue' | 'attachChannel'>;

/**
 * How long close() waits for datagrams already handed to send() (the TERM poison) to leave: the
 * poison of 10,000 routes is 400 datagrams per interface, about 1.9 s at the default pacing.
 */
const FLUSH_TIMEOUT_MS = 3000;

/**
 * Channel NET_CHANNEL_BASE + index for hs.send: it sends through whatever socket the interface
 * has now, so it is attached once and outlives the link going down and up.
 */
class InterfaceChannel implements Channel {
  readonly kind = 'net';
  readonly #index: number;
  readonly #owner: NetSockets;

  constructor(index: number, owner: NetSockets) {
    this.#index = index;
    this.#owner = owner;
  }

  send(peer: string, bytes: Buffer): number {
    const to = parseHostPort(peer);
    if (!to) return HostResult.unknownPeer;
    if (bytes.byteLength > 65507) return HostResult.tooLarge;
    if (!this.#owner.socketOf(this.#index)) return HostResult.unknownChannel; // the link is down: nothing can leave on it
    this.#owner.track(this.#index, bytes, to.port, to.host);
    return HostResult.ok;
  }
}

/** The send socket of an up interface and the address it is bound to. */
interface Open {
  socket: dgram.Socket;
  address: string;
}

/**
 * Per-interface UDP sockets on one port with a multicast group (RIPv2: 520 and 224.0.0.9), set up
 * the way docs/MEASUREMENTS.md found to work from Node:
 *  - receive: ONE socket on 0.0.0.0:port (reuseAddr) that joins the group once per up interface;
 *    it also receives broadcasts;
 *  - send: one socket per up interface bound to ifaddr:port (so datagrams leave from the port the
 *    neighbours require), with that interface as the multicast interface, TTL 1, no loopback and
 *    broadcast allowed. Unicast to ifaddr:port (answers to our requests) arrives on it too.
 * Outgoing datagrams wait in their interface's pacer (pacing.ts), so a large update leaves spread
 * out, in order, whatever swap happens meanwhile.
 * The sockets belong to the host, so they stay open across swaps; apply() opens and closes an
 * interface's socket and membership as its link comes and goes. Every datagram becomes a message
 * event with `iface` set from its source address (Node has no IP_PKTINFO).
 */
export class NetSockets {
  readonly #target: SocketTarget;
  readonly #table: InterfaceTable;
  readonly #config: NetCapabilityConfig;
  readonly #log: Logger;
  readonly #open = new Map<number, Open>();
  readonly #channels = new Set<number>();
  #receive: dgram.Socket | null = null;
  /** One pacer per interface that ever came up (its queue outlives the link going down and up). */
  readonly #pacers = new Map<number, InterfacePacer>();
  #pending = 0;
  #refused = 0;
  #flushed: (() => void) | null = null;

  private constructor(target: SocketTarget, table: InterfaceTable, config: NetCapabilityConfig, log: Logger) {
    this.#target = target;
    this.#table = table;
    this.#config = config;
    this.#log = log;
  }

  static async open(target: SocketTarget, table: InterfaceTable, config: NetCapabilityConfig, log: Logger): Promise<NetSockets> {
    const net = new NetSockets(target, table, config, log);
    try {
      net.#receive = await net.#bind('0.0.0.0', undefined);
      await net.apply(table.all().filter((i) => i.rip));
    } catch (e) {
      await net.close();
      throw e;
    }
    return net;
  }

  /** Brings the sockets of `changed` interfaces in line with their state in the table. */
  async apply(changed: readonly NetInterface[]): Promise<void> {
    for (const i of changed) {
      const had = this.#open.get(i.index);
      if (had && (!i.active || had.address !== i.address)) await this.#down(i, had);
      if (i.active && !this.#open.has(i.index)) await this.#up(i);
    }
  }

  async #up(i: NetInterface): Promise<void> {
    const { port, group } = this.#config;
    const socket = await this.#bind(i.address, i.index);
    socket.setMulticastInterface(i.address);
    socket.setMulticastTTL(1);
    socket.setMulticastLoopback(false);
    socket.setBroadcast(true);
    try {
      this.#receive?.addMembership(group, i.address);
    } catch (e) {
      // Still a member since before the link went down (the kernel keeps it): nothing to do.
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') this.#log.warn(`net: joining ${group} on ${i.name}: ${(e as Error).message}`);
    }
    this.#open.set(i.index, { socket, address: i.address });
    if (!this.#channels.has(i.index)) {
      this.#channels.add(i.index);
      this.#target.attachChannel(NET_CHANNEL_BASE + i.index, new InterfaceChannel(i.index, this));
    }
    this.#log.info(`net: ${i.name} ${i.address}/${i.prefixLen} up: udp ${port} group ${group} on channel ${NET_CHANNEL_BASE + i.index}`);
  }

  async #down(i: NetInterface, had: Open): Promise<void> {
    this.#open.delete(i.index);
    try {
      this.#receive?.dropMembership(this.#config.group, had.address);
    } catch {
      // The interface or its address is gone, and the membership with it.
    }
    await new Promise<void>((resolve) => had.socket.close(() => resolve()));
    this.#log.info(`net: ${i.name} ${had.address} down: its socket is closed`);
  }

  async #bind(address: string, ownIndex: number | undefined): Promise<dgram.Socket> {
    const { port } = this.#config;
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (e) => reject(new Error(`net: udp ${address}:${port} for ${this.#target.name}: ${e.message}`)));
      socket.bind(port, address, () => resolve());
    });
    socket.on('error', (e) => this.#log.warn(`net: socket ${address}:${port}: ${e.message}`));
    // Room for a neighbour's full update sent in one burst (FRR sends 400 datagrams for 10,000
    // routes back to back) while the event loop is busy; the kernel caps it at rmem_max.
    socket.setRecvBufferSize(this.#config.receiveBuffer);
    socket.on('message', (payload, rinfo) => this.#deliver(payload, rinfo, ownIndex));
    return socket;
  }

  /** `ownIndex`: the interface whose send socket it arrived on (undefined: the shared receive socket). */
  #deliver(payload: Buffer, rinfo: dgram.RemoteInfo, ownIndex: number | undefined): void {
    const table = this.#table;
    if (table.isOwnAddress(rinfo.address)) return; // our own multicast or broadcast, looped back
    const from = table.findBySource(rinfo.address);
    const via = from?.index ?? ownIndex;
    const replyVia = from?.active ? from.index : ownIndex;
    this.#target.enqueue({
      kind: 'message',
      channel: NET_CHANNEL_BASE + (via ?? 0),
      peer: `${rinfo.address}:${rinfo.port}`,
      payload,
      ...(from ? { iface: from.index } : {}),
      ...(replyVia !== undefined
        ? {
            replyTo: {
              reply: (bytes: Buffer) => {
                this.track(replyVia, bytes, rinfo.port, rinfo.address);
                return HostResult.ok;
              },
            },
          }
        : {}),
    });
  }

  /** The send socket of interface `index`, while it is up. */
  socketOf(index: number): dgram.Socket | undefined {
    return this.#open.get(index)?.socket;
  }

  /** Queues the datagram on its interface's pacer (in order) and counts it until it has left, so close() can wait for the last ones. */
  track(index: number, bytes: Buffer, port: number, host: string): void {
    this.#pending++;
    let pacer = this.#pacers.get(index);
    if (!pacer) {
      const name = this.#table.at(index)?.name ?? String(index);
      pacer = new InterfacePacer(pacingOf(this.#config, name), {
        send: (d) => this.#send(index, d),
        dropped: (d) => this.#refuse(name, d),
      });
      this.#pacers.set(index, pacer);
    }
    pacer.push({ bytes, port, host });
  }

  #done(): void {
    if (--this.#pending === 0) this.#flushed?.();
  }

  /** A full pacing queue: logged at the first refusal and then every 1,000th, not per datagram. */
  #refuse(name: string, { host, port }: PacedDatagram): void {
    if (this.#refused++ % 1000 === 0) {
      this.#log.warn(`net: ${name}: pacing queue full, datagram to ${host}:${port} dropped (${this.#refused} so far)`);
    }
    this.#done();
  }

  #send(index: number, { bytes, port, host }: PacedDatagram): void {
    // The socket of the interface now: one that went down while the datagram waited has none.
    const socket = this.socketOf(index);
    if (!socket) {
      this.#done();
      return;
    }
    try {
      socket.send(bytes, port, host, (err) => {
        if (err) this.#log.warn(`net: send to ${host}:${port} failed: ${err.message}`);
        this.#done();
      });
    } catch (e) {
      // Closed by a link going down between the module's call and here.
      this.#log.debug(`net: send to ${host}:${port}: ${(e as Error).message}`);
      this.#done();
    }
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
    for (const pacer of this.#pacers.values()) pacer.clear();
    const sockets = [...[...this.#open.values()].map((o) => o.socket), ...(this.#receive ? [this.#receive] : [])];
    this.#open.clear();
    this.#receive = null;
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
