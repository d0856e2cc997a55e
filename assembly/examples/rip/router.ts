// A RIPv2 router (RFC 2453) as a hot-swappable component. See docs/RIP.md.
//
// What lives where:
//  - persistent memory: the routing table (table.ts) and counters; they survive every swap;
//  - host timers (they keep running across swaps): UPDATE (periodic update, re-armed with
//    jitter), TICK (route timeout and garbage collection), TRIGGER (triggered-update hold-down);
//  - host capabilities: `net` (per-interface sockets on port 520 joined to 224.0.0.9),
//    `routes` (kernel routes through the host's `ip -batch` process), `settings` (timers etc.).
//  - transient (rebuilt by every version on INIT/RESTART): settings and the interface list.
import { App, Message, log, timers, clock, randomU32, root } from "../../sdk";
import { net, routes, settings, engineStopping } from "../../sdk/host";
import { INFINITY, ipString, Prefix } from "./wire";
import { RouterState, RouteTable, F_CHANGED, ROOT_TRIGGERED_SENT, ROOT_UPDATES_SENT } from "./table";
import { Iface, readInterfaces } from "./iface";
import { reconcile } from "./links";
import { Output, REGULAR, TRIGGERED } from "./output";
import { statusText } from "./status";
import { handleMessage } from "./input";

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

  onMessage(msg: Message): void { handleMessage(this, msg); }

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
