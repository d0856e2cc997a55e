// A RIPv2 router (RFC 2453) as a hot-swappable component. See docs/RIP.md.
//
// What lives where:
//  - persistent memory: the routing table (table.ts) and counters; they survive every swap;
//  - host timers (they keep running across swaps): UPDATE (periodic update, re-armed with
//    jitter), TICK (route timeout and garbage collection), TRIGGER (triggered-update hold-down);
//  - host capabilities: `net` (per-interface sockets on port 520 joined to 224.0.0.9),
//    `routes` (kernel routes through the host's `ip -batch` process), `settings` (timers etc.).
//  - transient (rebuilt by every version on INIT/RESTART): settings and the interface list.
import { App, Message, log, timers, clock, randomU32, replyBytes, root } from "../../sdk";
import { net, routes, settings, engineStopping } from "../../sdk/host";
import { NO_IFACE, NET_LINK_CHANNEL } from "../../sdk/generated/abi";
import {
  RIP_PORT, CMD_REQUEST, CMD_RESPONSE, RIP_VERSION, AFI_INET, AFI_AUTH, INFINITY,
  HEADER_BYTES, ENTRY_BYTES, MAX_ENTRIES, be16, be32, maskOf, maskLen, ipString, parseIp, Prefix,
} from "./wire";
import {
  RouterState, RouteTable, F_CHANGED,
  ROOT_PACKETS_IN, ROOT_BAD_PACKETS, ROOT_BAD_ROUTES, ROOT_TRIGGERED_SENT, ROOT_UPDATES_SENT, ROOT_FILTERED, ROOT_AUTH_FAILURES,
} from "./table";
import { Iface, readInterfaces } from "./iface";
import { reconcile } from "./links";
import { Output, ANSWER, REGULAR, TRIGGERED } from "./output";
import { statusText } from "./status";

export const T_UPDATE: u32 = 1;
const T_TICK: u32 = 2;
const T_TRIGGER: u32 = 3;

/** What differs between the versions built from this source. */
export class Features {
  constructor(
    public version: string,
    /** Data layout of the route records (table.ts). */
    public layout: u32,
    /** Honour the `filterIn` setting (an incoming route filter), from 0.0.2 on. */
    public incomingFilter: bool,
  ) {}
}

export class RipRouter extends App {
  // Settings (seconds as in the RFC, kept in ms here). Read on INIT and RESTART.
  updateMs: f64 = 30000;
  timeoutMs: f64 = 180000;
  garbageMs: f64 = 120000;
  jitter: f64 = 0.5;
  triggerMinMs: f64 = 1000;
  triggerMaxMs: f64 = 5000;
  defaultMetric: u32 = 1;
  redistributeConnected: bool = true;
  /** "poisoned" (default), "simple" or "off". */
  splitHorizon: string = "poisoned";
  filters: Prefix[] = [];
  ifaces: Iface[] = [];
  state: RouterState = new RouterState(0);
  table: RouteTable | null = null;
  readonly out: Output = new Output();

  constructor(public readonly features: Features) { super(); }

  get version(): string { return this.features.version; }
  get layoutVersion(): u32 { return this.features.layout; }

  // ---- lifecycle -------------------------------------------------------------------------

  onInit(): bool {
    this.readSettings();
    this.ifaces = readInterfaces();
    this.state = RouterState.create();
    root.set(this.state.ptr);
    this.table = new RouteTable(this.state.routes, this.features.layout);
    // Connected routes and the first requests: the same path as a link coming up.
    this.relink(false);
    this.armTimers();
    this.triggerUpdate();
    log.info("rip " + this.version + ": started on " + this.activeNames() + " with " + this.table!.map.count.toString() + " connected routes");
    return true;
  }

  onRestart(): bool {
    this.readSettings();
    this.state = new RouterState(<usize>root.get());
    if (!this.state.valid) return false;
    this.table = new RouteTable(this.state.routes, this.features.layout);
    // Links that changed while no module listened (or while the swap ran) are handled now.
    this.relink(false);
    // The host's timers survived the swap: the update stays due when it was due.
    this.armTimers();
    return true;
  }

  /** TERM: during a swap there is nothing to stop (state is persistent). At shutdown: say goodbye. */
  onTerm(): void {
    if (!engineStopping()) return;
    const t = this.table!;
    // Poison everything we advertise, so neighbours drop us now instead of after their timeout.
    for (let i = 0; i < this.ifaces.length; i++) this.out.response(t, this.ifaces[i], REGULAR, true, false);
    for (let i = t.map.nextIndex(0); i >= 0; i = t.map.nextIndex(i + 1)) {
      const e = t.map.entryAt(i);
      if (!t.connected(e) && t.metric(e) < INFINITY) routes.withdraw(t.addr(e), <i32>t.len(e));
    }
    log.info("rip " + this.version + ": shutting down: poisoned " + t.map.count.toString() + " routes and withdrew them from the kernel");
  }

  /**
   * Re-reads the interfaces from the host and applies what changed (links.ts): routes through a
   * link that went down become unreachable, a link that came up is asked for its neighbours'
   * tables. `announce`: trigger an update at once when routes changed (not during INIT/RESTART,
   * which arm their own).
   */
  relink(announce: bool = true): void {
    this.ifaces = readInterfaces();
    const c = reconcile(this.table!, this.ifaces, this.defaultMetric, this.redistributeConnected, this.garbageMs);
    for (let i = 0; i < c.cameUp.length; i++) this.out.request(c.cameUp[i]);
    if (c.changed && (announce || timers.dueIn(T_TRIGGER) < 0)) this.triggerUpdate();
  }

  /** True when the host's interfaces differ from our copy (a link event may have been refused by a full queue). */
  linksMoved(): bool {
    if (net.count() != this.ifaces.length) return true;
    for (let i = 0; i < this.ifaces.length; i++) {
      const f = this.ifaces[i];
      if (net.flags(i) != f.flags || net.addr(i) != f.addr || <u32>net.prefixLen(i) != f.len) return true;
    }
    return false;
  }

  migrate(from: u32): bool {
    if (from != 1 || this.features.layout != 2) return false;
    const state = new RouterState(<usize>root.get());
    if (!state.valid) return false;
    new RouteTable(state.routes, 1).convert(2, clock.now());
    return true;
  }

  migrateDown(to: u32): bool {
    if (to != 1 || this.features.layout != 2) return false;
    new RouteTable(this.state.routes, 2).convert(1, 0);
    return true;
  }

  // ---- configuration ---------------------------------------------------------------------

  readSettings(): void {
    this.updateMs = settings.number("update", 30) * 1000;
    this.timeoutMs = settings.number("timeout", 180) * 1000;
    this.garbageMs = settings.number("garbage", 120) * 1000;
    this.jitter = settings.number("jitter", 0.5);
    this.triggerMinMs = settings.number("triggeredMin", 1) * 1000;
    this.triggerMaxMs = settings.number("triggeredMax", 5) * 1000;
    this.defaultMetric = <u32>settings.number("defaultMetric", 1);
    this.redistributeConnected = settings.flag("redistributeConnected", true);
    this.splitHorizon = settings.get("splitHorizon", "poisoned");
    this.filters = [];
    if (this.features.incomingFilter) {
      const list = settings.get("filterIn", "");
      if (list.length > 0) {
        const parts = list.split(",");
        for (let i = 0; i < parts.length; i++) {
          const p = Prefix.parse(parts[i].trim());
          if (p) this.filters.push(p!);
          else log.warn("rip: filterIn: \"" + parts[i] + "\" is not a prefix, ignored");
        }
      }
    }
    this.out.splitHorizon = this.splitHorizon;
  }

  armTimers(): void {
    if (timers.dueIn(T_UPDATE) < 0) timers.set(T_UPDATE, this.jittered());
    if (timers.dueIn(T_TICK) < 0) {
      let tick = this.timeoutMs / 30;
      if (tick < 100) tick = 100;
      if (tick > 1000) tick = 1000;
      timers.set(T_TICK, tick, tick);
    }
  }

  jittered(): f64 {
    const r = <f64>randomU32() / 4294967296.0; // [0, 1)
    return this.updateMs * (1 + this.jitter * (2 * r - 1));
  }

  activeNames(): string {
    let s = "";
    for (let i = 0; i < this.ifaces.length; i++) {
      if (this.ifaces[i].active) s += (s.length > 0 ? ", " : "") + this.ifaces[i].name;
    }
    return s.length > 0 ? s : "(no interface)";
  }

  // ---- timers ----------------------------------------------------------------------------

  onTimer(id: u32): void {
    if (id == T_UPDATE) {
      this.sendRegularUpdate();
      timers.set(T_UPDATE, this.jittered());
    } else if (id == T_TICK) {
      if (this.linksMoved()) this.relink();
      this.expireRoutes();
    } else if (id == T_TRIGGER) {
      // Hold-down over: send what changed meanwhile, and hold down again (RFC 2453 3.10.1).
      if (this.anyChanged()) {
        this.sendTriggeredUpdate();
        timers.set(T_TRIGGER, this.triggerMinMs + (this.triggerMaxMs - this.triggerMinMs) * (<f64>randomU32() / 4294967296.0));
      }
    }
  }

  /** Asks for a triggered update: now when no hold-down runs, else when it ends. */
  triggerUpdate(): void {
    if (timers.dueIn(T_TRIGGER) < 0) timers.set(T_TRIGGER, 0);
  }

  anyChanged(): bool {
    const t = this.table!;
    for (let i = t.map.nextIndex(0); i >= 0; i = t.map.nextIndex(i + 1)) if (t.changed(t.map.entryAt(i))) return true;
    return false;
  }

  /** Route timeout (→ metric 16, start garbage collection) and garbage collection (→ delete). */
  expireRoutes(): void {
    const t = this.table!;
    const now = clock.monotonic();
    const wall = clock.now();
    let changed = false;
    for (let i = t.map.nextIndex(0); i >= 0; i = t.map.nextIndex(i + 1)) {
      const e = t.map.entryAt(i);
      if (t.connected(e)) continue;
      const gc = t.gcAt(e);
      if (gc == 0 && now >= t.timeoutAt(e)) {
        log.info("rip: " + ipString(t.addr(e)) + "/" + t.len(e).toString() + " via " + ipString(t.nextHop(e)) + " timed out");
        routes.withdraw(t.addr(e), <i32>t.len(e));
        t.put(t.addr(e), t.len(e), t.nextHop(e), INFINITY, t.tag(e), t.iface(e), t.from(e), F_CHANGED, t.timeoutAt(e), now + this.garbageMs, wall);
        changed = true;
      } else if (gc != 0 && now >= gc) {
        t.remove(t.addr(e), t.len(e));
      }
    }
    if (changed) this.triggerUpdate();
  }

  // ---- input -----------------------------------------------------------------------------

  onMessage(msg: Message): void {
    if (msg.channel == NET_LINK_CHANNEL) { this.relink(); return; }
    const st = this.state;
    st.bump(ROOT_PACKETS_IN);
    const p = msg.ptr;
    const len = <usize>msg.length;
    const peer = msg.peer;
    const colon = peer.lastIndexOf(":");
    const src = colon > 0 ? parseIp(peer.substring(0, colon)) : -1;
    const port = colon > 0 ? <u32>I32.parseInt(peer.substring(colon + 1)) : 0;
    // RFC 2453 3.9: the checks every datagram must pass before its entries are looked at.
    if (src < 0) { this.reject("unparsable source " + peer); return; }
    const source = <u32>src;
    // Up to 25 entries; an authenticated datagram adds its trailer (auth.ts, up to 36 bytes).
    if (len < HEADER_BYTES || len > HEADER_BYTES + MAX_ENTRIES * ENTRY_BYTES + 36) {
      this.reject("bad length " + len.toString() + " from " + peer); return;
    }
    const command = load<u8>(p);
    const version = load<u8>(p + 1);
    if (version != RIP_VERSION) { this.reject("version " + version.toString() + " from " + peer + " (this router speaks RIPv2 only)"); return; }
    if (load<u16>(p + 2) != 0) { this.reject("non-zero must-be-zero header field from " + peer); return; }
    const ifIndex = msg.iface;
    if (ifIndex != NO_IFACE && <i32>ifIndex >= this.ifaces.length) this.relink(); // a link we have not heard of yet
    if (ifIndex == NO_IFACE || <i32>ifIndex >= this.ifaces.length) { this.reject("source " + peer + " is not on a connected subnet"); return; }
    const iface = this.ifaces[<i32>ifIndex];
    if (!iface.active) { this.reject("datagram from " + peer + " on passive interface " + iface.name); return; }
    let first = p + HEADER_BYTES;
    let dataLen = len;
    if (iface.auth.on) {
      const checked = iface.auth.verify(p, len);
      if (checked < 0) {
        st.bump(ROOT_AUTH_FAILURES);
        this.reject(iface.auth.why + " from " + peer + " on " + iface.name);
        return;
      }
      first += ENTRY_BYTES;
      dataLen = <usize>checked;
    } else if (len > HEADER_BYTES && be16(p + HEADER_BYTES) == AFI_AUTH) {
      this.reject("authentication entry from " + peer + " (none configured)"); return;
    } else if ((len - HEADER_BYTES) % ENTRY_BYTES != 0 || len > HEADER_BYTES + MAX_ENTRIES * ENTRY_BYTES) {
      this.reject("bad length " + len.toString() + " from " + peer); return;
    }
    const n = (dataLen - (first - p)) / ENTRY_BYTES;
    if (command == CMD_REQUEST) this.onRequest(p, first, n, iface, port);
    else if (command == CMD_RESPONSE) {
      if (port != RIP_PORT) { this.reject("response from port " + port.toString() + " (must be 520) from " + peer); return; }
      this.onResponse(first, n, iface, source);
    } else this.reject("unknown command " + command.toString() + " from " + peer);
  }

  reject(why: string): void {
    this.state.bump(ROOT_BAD_PACKETS);
    log.debug("rip: dropped datagram: " + why);
  }

  onRequest(p: usize, e0: usize, n: usize, iface: Iface, port: u32): void {
    if (n == 0 || !iface.sends) return;
    if (n == 1 && be16(e0) == 0 && be32(e0 + 16) == INFINITY) {
      // The whole table. From a router (port 520) with split horizon, else as a diagnostic answer.
      this.out.response(this.table!, iface, ANSWER, false, port == RIP_PORT);
      return;
    }
    // Specific entries are answered in place, which an authenticated datagram cannot be (it
    // would need a new digest): there they are ignored, as a diagnostic tool's query.
    if (iface.auth.on) return;
    const t = this.table!;
    for (let i: usize = 0; i < n; i++) {
      const e = e0 + i * ENTRY_BYTES;
      const mask = be32(e + 8);
      const ml = maskLen(mask);
      const r = ml < 0 ? 0 : t.find(be32(e + 4), <u32>ml);
      store<u32>(e + 16, bswap<u32>(r != 0 ? t.metric(r) : INFINITY));
    }
    store<u8>(p, CMD_RESPONSE);
    replyBytes(p, HEADER_BYTES + n * ENTRY_BYTES);
  }

  onResponse(e0: usize, n: usize, iface: Iface, source: u32): void {
    const t = this.table!;
    const now = clock.monotonic();
    const wall = clock.now();
    let changed = false;
    for (let i: usize = 0; i < n; i++) {
      const e = e0 + i * ENTRY_BYTES;
      if (be16(e) != AFI_INET) { this.state.bump(ROOT_BAD_ROUTES); continue; }
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
        this.state.bump(ROOT_BAD_ROUTES);
        continue;
      }
      const plen = <u32>ml;
      if (this.filtered(addr, plen)) { this.state.bump(ROOT_FILTERED); continue; }
      // Next hop: use it when it is on this link and not us; else the sender (RFC 2453 4.4).
      const gw = hop != 0 && iface.holds(hop) && !this.isOwnAddress(hop) ? hop : source;
      metric = metric + 1 < INFINITY ? metric + 1 : INFINITY;
      if (this.learn(t, addr, plen, gw, metric, tag, iface, source, now, wall)) changed = true;
    }
    if (changed) this.triggerUpdate();
  }

  filtered(addr: u32, len: u32): bool {
    for (let i = 0; i < this.filters.length; i++) if (this.filters[i].covers(addr, len)) return true;
    return false;
  }

  isOwnAddress(a: u32): bool {
    for (let i = 0; i < this.ifaces.length; i++) if (this.ifaces[i].addr == a) return true;
    return false;
  }

  /** Applies one received route (RFC 2453 3.9.2); true when the table changed. */
  learn(t: RouteTable, addr: u32, len: u32, gw: u32, metric: u32, tag: u32, iface: Iface, source: u32, now: f64, wall: f64): bool {
    const e = t.find(addr, len);
    const idx = <u32>iface.index;
    if (e == 0) {
      if (metric >= INFINITY) return false;
      t.put(addr, len, gw, metric, tag, idx, source, F_CHANGED, now + this.timeoutMs, 0, wall);
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
        t.put(addr, len, t.nextHop(e), INFINITY, tag, idx, source, F_CHANGED, t.timeoutAt(e), now + this.garbageMs, wall);
        return true;
      }
      if (metric == current && gw == t.nextHop(e) && tag == t.tag(e) && t.gcAt(e) == 0) {
        t.refresh(e, now + this.timeoutMs);
        return false;
      }
      const reinstall = current >= INFINITY || gw != t.nextHop(e);
      t.put(addr, len, gw, metric, tag, idx, source, F_CHANGED, now + this.timeoutMs, 0, wall);
      if (reinstall) routes.install(addr, <i32>len, gw, iface.index);
      return metric != current || reinstall;
    }
    if (metric < current) {
      // A better path through another router.
      t.put(addr, len, gw, metric, tag, idx, source, F_CHANGED, now + this.timeoutMs, 0, wall);
      routes.install(addr, <i32>len, gw, iface.index);
      return true;
    }
    return false;
  }

  // ---- output ----------------------------------------------------------------------------

  sendRegularUpdate(): void {
    for (let i = 0; i < this.ifaces.length; i++) this.out.response(this.table!, this.ifaces[i], REGULAR, false, false);
    this.clearChanged();
    this.state.bump(ROOT_UPDATES_SENT);
  }

  sendTriggeredUpdate(): void {
    for (let i = 0; i < this.ifaces.length; i++) this.out.response(this.table!, this.ifaces[i], TRIGGERED, false, false);
    this.clearChanged();
    this.state.bump(ROOT_TRIGGERED_SENT);
  }

  clearChanged(): void {
    const t = this.table!;
    for (let i = t.map.nextIndex(0); i >= 0; i = t.map.nextIndex(i + 1)) {
      const e = t.map.entryAt(i);
      if (t.changed(e)) t.clearChanged(e);
    }
  }

  // ---- status (hotswap show rip) ---------------------------------------------------------

  status(): string { return statusText(this); }

  filterText(): string {
    if (!this.features.incomingFilter || this.filters.length == 0) return "not set";
    let s = "";
    for (let i = 0; i < this.filters.length; i++) s += (i > 0 ? ", " : "") + this.filters[i].toString();
    return "deny " + s;
  }
}
