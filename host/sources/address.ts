/** Host:port addresses as sources bind them and as modules name peers in hs.send. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** Parses "host:port" (IPv4 or name) as a module gives it to hs.send. */
export function parseHostPort(peer: string): ListenAddress | null {
  const i = peer.lastIndexOf(':');
  if (i <= 0) return null;
  const port = Number(peer.slice(i + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return null;
  return { host: peer.slice(0, i), port };
}
