/**
 * The child process behind `startRipListener`: a UDP socket on 0.0.0.0:520 (reuseAddr, so it
 * coexists with a daemon on the same port) joined to 224.0.0.9 on the given interface addresses,
 * reporting every datagram to its parent as one JSON line on stdout.
 *
 *   node --import tsx rip-listener-main.ts '<JSON array of interface addresses>' <max ms>
 */
import dgram from 'node:dgram';

/** One line of this process's output; the parent (rip-listener.ts) parses it. */
export type ListenerLine = { ready: true } | { error: string } | { at: number; from: string; port: number; hex: string };

const say = (line: ListenerLine): void => console.log(JSON.stringify(line));

function main(argv: string[]): void {
  const [addresses, maxMs] = argv;
  const ifaddrs = JSON.parse(addresses ?? '[]') as string[];
  const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  sock.on('error', (e) => {
    say({ error: String(e) });
    process.exit(1);
  });
  sock.on('message', (msg, rinfo) => {
    say({ at: Date.now(), from: rinfo.address, port: rinfo.port, hex: msg.toString('hex') });
  });
  sock.bind(520, '0.0.0.0', () => {
    for (const a of ifaddrs) sock.addMembership('224.0.0.9', a);
    say({ ready: true });
  });
  // Bounded: ends by itself after maxMs even if the parent never stops it.
  setTimeout(() => process.exit(0), Number(maxMs ?? 120_000));
  process.on('SIGTERM', () => process.exit(0));
}

main(process.argv.slice(2));
