// Link changes, as RFC 2453 wants them handled: routes through an interface that went down
// become unreachable (metric 16, withdrawn from the kernel, advertised as such on the other
// links, then garbage-collected); an interface that came up gets its connected route back and
// is asked for its neighbours' tables. Derived from the persistent table itself, never from a
// remembered "previous state": a connected route in the table means "up when last seen", so the
// same reconcile() is right after a link event, after a swap (RESTART), and on a timer tick.
import { clock, log } from "../../sdk";
import { routes } from "../../sdk/host";
import { INFINITY } from "./wire";
import { RouteTable, F_CONNECTED, F_CHANGED } from "./table";
import { Iface } from "./iface";

export class LinkChanges {
  /** The table changed: a triggered update is due. */
  changed: bool = false;
  /** Interfaces that came up and speak RIP: ask their neighbours for their tables. */
  cameUp: Iface[] = [];
}

/** Brings the table in line with the interfaces' state; see the file's comment. */
export function reconcile(t: RouteTable, ifaces: Iface[], defaultMetric: u32, redistributeConnected: bool, garbageMs: f64): LinkChanges {
  const out = new LinkChanges();
  const now = clock.monotonic();
  const wall = clock.now();
  // One log line, not one per route: a link with 10,000 routes behind it must not flood the log quota.
  let lost = 0;
  for (let i = t.map.nextIndex(0); i >= 0; i = t.map.nextIndex(i + 1)) {
    const e = t.map.entryAt(i);
    const idx = <i32>t.iface(e);
    const f: Iface | null = idx < ifaces.length ? ifaces[idx] : null;
    const addr = t.addr(e);
    const len = t.len(e);
    if (t.connected(e)) {
      // Down, or its address moved: the old subnet is unreachable through us now.
      if (f !== null && f.up && f.network == addr && f.len == len) continue;
      lost++;
      t.put(addr, len, 0, INFINITY, 0, <u32>idx, 0, F_CHANGED, 0, now + garbageMs, wall);
      out.changed = true;
    } else if (t.metric(e) < INFINITY && (f === null || !f.active)) {
      lost++;
      routes.withdraw(addr, <i32>len);
      t.put(addr, len, t.nextHop(e), INFINITY, t.tag(e), <u32>idx, t.from(e), F_CHANGED, t.timeoutAt(e), now + garbageMs, wall);
      out.changed = true;
    }
  }
  if (lost > 0) log.info("rip: " + lost.toString() + " routes became unreachable: " + downNames(ifaces) + " down or readdressed");
  for (let i = 0; i < ifaces.length; i++) {
    const f = ifaces[i];
    if (!f.up || (!f.rip && !redistributeConnected)) continue;
    const e = t.find(f.network, f.len);
    if (e != 0 && t.connected(e) && <i32>t.iface(e) == f.index) continue;
    // A route to this subnet learned elsewhere while the link was down: connected wins.
    if (e != 0 && !t.connected(e) && t.metric(e) < INFINITY) routes.withdraw(f.network, <i32>f.len);
    t.put(f.network, f.len, 0, defaultMetric, 0, <u32>f.index, 0, F_CONNECTED | F_CHANGED, 0, 0, wall);
    out.changed = true;
    if (f.active) out.cameUp.push(f);
  }
  return out;
}

function downNames(ifaces: Iface[]): string {
  let s = "";
  for (let i = 0; i < ifaces.length; i++) if (!ifaces[i].up) s += (s.length > 0 ? ", " : "") + ifaces[i].name;
  return s.length > 0 ? s : "an interface";
}
