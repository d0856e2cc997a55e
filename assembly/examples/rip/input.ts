// What the router does with a datagram (RFC 2453 §3.9): the checks every datagram must pass,
// authentication, requests and responses, and learning a route (§3.9.2).
import { Message, log, clock, replyBytes } from "../../sdk";
import { routes } from "../../sdk/host";
import { NO_IFACE, NET_LINK_CHANNEL } from "../../sdk/generated/abi";
import {
  RIP_PORT, CMD_REQUEST, CMD_RESPONSE, RIP_VERSION, AFI_INET, AFI_AUTH, INFINITY,
  HEADER_BYTES, ENTRY_BYTES, MAX_ENTRIES, be16, be32, maskOf, maskLen, parseIp,
} from "./wire";
import { RouteTable, F_CHANGED, ROOT_PACKETS_IN, ROOT_BAD_PACKETS, ROOT_BAD_ROUTES, ROOT_FILTERED, ROOT_AUTH_FAILURES, ROOT_SEQ_DROPS } from "./table";
import { SequenceNumbers } from "./sequence";
import { Iface } from "./iface";
import { ANSWER } from "./output";
import { RipRouter } from "./router";

export function handleMessage(r: RipRouter, msg: Message): void {
  if (msg.channel == NET_LINK_CHANNEL) { r.relink(); return; }
  const st = r.state;
  st.bump(ROOT_PACKETS_IN);
  const p = msg.ptr;
  const len = <usize>msg.length;
  const peer = msg.peer;
  const colon = peer.lastIndexOf(":");
  const src = colon > 0 ? parseIp(peer.substring(0, colon)) : -1;
  const port = colon > 0 ? <u32>I32.parseInt(peer.substring(colon + 1)) : 0;
  // RFC 2453 3.9: the checks every datagram must pass before its entries are looked at.
  if (src < 0) { reject(r, "unparsable source " + peer); return; }
  const source = <u32>src;
  // Up to 25 entries; an authenticated datagram adds its trailer (auth.ts, up to 36 bytes).
  if (len < HEADER_BYTES || len > HEADER_BYTES + MAX_ENTRIES * ENTRY_BYTES + 36) {
    reject(r, "bad length " + len.toString() + " from " + peer); return;
  }
  const command = load<u8>(p);
  const version = load<u8>(p + 1);
  if (version != RIP_VERSION) { reject(r, "version " + version.toString() + " from " + peer + " (this router speaks RIPv2 only)"); return; }
  if (load<u16>(p + 2) != 0) { reject(r, "non-zero must-be-zero header field from " + peer); return; }
  const ifIndex = msg.iface;
  if (ifIndex != NO_IFACE && <i32>ifIndex >= r.ifaces.length) r.relink(); // a link we have not heard of yet
  if (ifIndex == NO_IFACE || <i32>ifIndex >= r.ifaces.length) { reject(r, "source " + peer + " is not on a connected subnet"); return; }
  const iface = r.ifaces[<i32>ifIndex];
  if (!iface.active) { reject(r, "datagram from " + peer + " on passive interface " + iface.name); return; }
  let first = p + HEADER_BYTES;
  let dataLen = len;
  if (iface.auth.on) {
    const checked = iface.auth.verify(p, len);
    if (checked < 0) {
      st.bump(ROOT_AUTH_FAILURES);
      reject(r, iface.auth.why + " from " + peer + " on " + iface.name);
      return;
    }
    // Only a datagram with the right digest may move the neighbour's number (else anyone could
    // lock it out by sending a high one).
    const seqs = new SequenceNumbers(st.sequences);
    if (!seqs.accept(source, iface.auth.lastKeyId, iface.auth.lastSeq, clock.monotonic(), r.timeoutMs)) {
      st.bump(ROOT_SEQ_DROPS);
      reject(r, "sequence number " + iface.auth.lastSeq.toString() + " below " + seqs.last.toString() + " (key " +
        iface.auth.lastKeyId.toString() + ") from " + peer + " on " + iface.name + ": a replay?");
      return;
    }
    first += ENTRY_BYTES;
    dataLen = <usize>checked;
  } else if (len > HEADER_BYTES && be16(p + HEADER_BYTES) == AFI_AUTH) {
    reject(r, "authentication entry from " + peer + " (none configured)"); return;
  } else if ((len - HEADER_BYTES) % ENTRY_BYTES != 0 || len > HEADER_BYTES + MAX_ENTRIES * ENTRY_BYTES) {
    reject(r, "bad length " + len.toString() + " from " + peer); return;
  }
  const n = (dataLen - (first - p)) / ENTRY_BYTES;
  if (command == CMD_REQUEST) onRequest(r, p, first, n, iface, port);
  else if (command == CMD_RESPONSE) {
    if (port != RIP_PORT) { reject(r, "response from port " + port.toString() + " (must be 520) from " + peer); return; }
    onResponse(r, first, n, iface, source);
  } else reject(r, "unknown command " + command.toString() + " from " + peer);
}

function reject(r: RipRouter, why: string): void {
  r.state.bump(ROOT_BAD_PACKETS);
  log.debug("rip: dropped datagram: " + why);
}

function onRequest(r: RipRouter, p: usize, e0: usize, n: usize, iface: Iface, port: u32): void {
  if (n == 0 || !iface.sends) return;
  if (n == 1 && be16(e0) == 0 && be32(e0 + 16) == INFINITY) {
    // The whole table. From a router (port 520) with split horizon, else as a diagnostic answer.
    r.out.response(r.table!, iface, ANSWER, false, port == RIP_PORT);
    return;
  }
  // Specific entries are answered in place, which an authenticated datagram cannot be (it
  // would need a new digest): there they are ignored, as a diagnostic tool's query.
  if (iface.auth.on) return;
  const t = r.table!;
  for (let i: usize = 0; i < n; i++) {
    const e = e0 + i * ENTRY_BYTES;
    const mask = be32(e + 8);
    const ml = maskLen(mask);
    const found = ml < 0 ? 0 : t.find(be32(e + 4), <u32>ml);
    store<u32>(e + 16, bswap<u32>(found != 0 ? t.metric(found) : INFINITY));
  }
  store<u8>(p, CMD_RESPONSE);
  replyBytes(p, HEADER_BYTES + n * ENTRY_BYTES);
}

function onResponse(r: RipRouter, e0: usize, n: usize, iface: Iface, source: u32): void {
  const t = r.table!;
  const now = clock.monotonic();
  const wall = clock.now();
  let changed = false;
  for (let i: usize = 0; i < n; i++) {
    const e = e0 + i * ENTRY_BYTES;
    if (be16(e) != AFI_INET) { r.state.bump(ROOT_BAD_ROUTES); continue; }
    const tag = <u32>be16(e + 2);
    const addr = be32(e + 4);
    const ml = maskLen(be32(e + 8));
    const hop = be32(e + 12);
    let metric = be32(e + 16);
    // Entry checks (RFC 2453 3.9.2): metric 1..16, a usable unicast destination, a
    // contiguous mask without host bits set.
    const top = addr >>> 24;
    if (metric < 1 || metric > INFINITY || ml < 0 || (addr & ~maskOf(<u32>ml)) != 0 ||
        top == 127 || top >= 224 || (top == 0 && addr != 0)) {
      r.state.bump(ROOT_BAD_ROUTES);
      continue;
    }
    const plen = <u32>ml;
    if (filtered(r, addr, plen)) { r.state.bump(ROOT_FILTERED); continue; }
    // Next hop: use it when it is on this link and not us; else the sender (RFC 2453 4.4).
    const gw = hop != 0 && iface.holds(hop) && !isOwnAddress(r, hop) ? hop : source;
    metric = metric + 1 < INFINITY ? metric + 1 : INFINITY;
    if (learn(r, t, addr, plen, gw, metric, tag, iface, source, now, wall)) changed = true;
  }
  if (changed) r.triggerUpdate();
}

function filtered(r: RipRouter, addr: u32, len: u32): bool {
  for (let i = 0; i < r.filters.length; i++) if (r.filters[i].covers(addr, len)) return true;
  return false;
}

function isOwnAddress(r: RipRouter, a: u32): bool {
  for (let i = 0; i < r.ifaces.length; i++) if (r.ifaces[i].addr == a) return true;
  return false;
}

/** Applies one received route (RFC 2453 3.9.2); true when the table changed. */
function learn(r: RipRouter, t: RouteTable, addr: u32, len: u32, gw: u32, metric: u32, tag: u32, iface: Iface, source: u32, now: f64, wall: f64): bool {
  const e = t.find(addr, len);
  const idx = <u32>iface.index;
  if (e == 0) {
    if (metric >= INFINITY) return false;
    t.put(addr, len, gw, metric, tag, idx, source, F_CHANGED, now + r.timeoutMs, 0, wall);
    routes.install(addr, <i32>len, gw, iface.index);
    return true;
  }
  if (t.connected(e)) return false;
  const current = t.metric(e);
  if (t.from(e) == source) {
    // News from the router we already use: always believe it.
    if (metric >= INFINITY) {
      if (current >= INFINITY) return false; // already being deleted; let garbage collection run
      routes.withdraw(addr, <i32>len);
      t.put(addr, len, t.nextHop(e), INFINITY, tag, idx, source, F_CHANGED, t.timeoutAt(e), now + r.garbageMs, wall);
      return true;
    }
    if (metric == current && gw == t.nextHop(e) && tag == t.tag(e) && t.gcAt(e) == 0) {
      t.refresh(e, now + r.timeoutMs);
      return false;
    }
    const reinstall = current >= INFINITY || gw != t.nextHop(e);
    t.put(addr, len, gw, metric, tag, idx, source, F_CHANGED, now + r.timeoutMs, 0, wall);
    if (reinstall) routes.install(addr, <i32>len, gw, iface.index);
    return metric != current || reinstall;
  }
  if (metric < current) {
    // A better path through another router.
    t.put(addr, len, gw, metric, tag, idx, source, F_CHANGED, now + r.timeoutMs, 0, wall);
    routes.install(addr, <i32>len, gw, iface.index);
    return true;
  }
  return false;
}
