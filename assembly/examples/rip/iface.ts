// The router's view of one interface (transient, rebuilt from the host's `net` capability on
// INIT, RESTART and every link change): address, link state, send mode, neighbours and
// authentication. The link state itself belongs to the host; this is only a copy.
import { log, clock } from "../../sdk";
import { net, settings } from "../../sdk/host";
import { NET_IF_ACTIVE, NET_IF_UP, NET_IF_RIP } from "../../sdk/generated/abi";
import { maskOf, parseIp, ipString, RIP_GROUP, RIP_PORT } from "./wire";
import { Auth } from "./auth";

/** How updates leave an interface (setting `interfaces.<name>.send`). */
export const SEND_MULTICAST: i32 = 0;
export const SEND_BROADCAST: i32 = 1;
/** Only to the configured neighbours. */
export const SEND_UNICAST: i32 = 2;
/** Listen, never send. */
export const SEND_PASSIVE: i32 = 3;
const MODE_NAMES: string[] = ["multicast", "broadcast", "unicast", "passive"];

export class Iface {
  constructor(
    public index: i32, public name: string, public addr: u32, public len: u32, public flags: u32,
    public mode: i32, public neighbors: u32[], public auth: Auth,
  ) {}

  /** Reads interface i from the host and its settings. */
  static read(i: i32): Iface {
    const name = net.name(i);
    const at = "interfaces." + name + ".";
    const modeName = settings.get(at + "send", "multicast");
    let mode = MODE_NAMES.indexOf(modeName);
    if (mode < 0) {
      log.warn("rip: " + at + "send: \"" + modeName + "\" is not multicast, broadcast, unicast or passive; using multicast");
      mode = SEND_MULTICAST;
    }
    const neighbors: u32[] = [];
    const list = settings.get(at + "neighbors", "");
    const parts = list.length > 0 ? list.split(",") : [];
    for (let k = 0; k < parts.length; k++) {
      const a = parseIp(parts[k].trim());
      if (a < 0) log.warn("rip: " + at + "neighbors: \"" + parts[k] + "\" is not an IPv4 address, ignored");
      else neighbors.push(<u32>a);
    }
    return new Iface(i, name, net.addr(i), <u32>net.prefixLen(i), net.flags(i), mode, neighbors, Auth.read(name));
  }

  /** Speaks RIP now: named in `net.interfaces`, up, sockets open. */
  get active(): bool { return (this.flags & NET_IF_ACTIVE) != 0; }
  get up(): bool { return (this.flags & NET_IF_UP) != 0; }
  /** Named in `net.interfaces`: speaks RIP whenever it is up. */
  get rip(): bool { return (this.flags & NET_IF_RIP) != 0; }
  get network(): u32 { return this.addr & maskOf(this.len); }
  get broadcast(): u32 { return this.network | ~maskOf(this.len); }
  holds(a: u32): bool { return this.up && (a & maskOf(this.len)) == this.network; }
  get modeName(): string { return MODE_NAMES[this.mode]; }
  /** Sends anything at all (requests, updates, answers). */
  get sends(): bool { return this.active && this.mode != SEND_PASSIVE; }

  /**
   * Where updates and requests go: the group, the subnet's broadcast address or nothing, plus
   * every configured neighbour (as FRR's `neighbor`). Passive: nowhere.
   */
  destinations(): string[] {
    const out: string[] = [];
    if (!this.sends) return out;
    const port = ":" + RIP_PORT.toString();
    if (this.mode == SEND_MULTICAST) out.push(RIP_GROUP + port);
    else if (this.mode == SEND_BROADCAST) out.push(ipString(this.broadcast) + port);
    for (let i = 0; i < this.neighbors.length; i++) out.push(ipString(this.neighbors[i]) + port);
    return out;
  }

  /** "rip, multicast, md5" / "rip (down)" / "passive (connected only)", for `show`. */
  describe(): string {
    if (!this.rip) return this.up ? "passive (connected only)" : "passive (connected only), down";
    let s = "rip, " + this.modeName;
    if (this.neighbors.length > 0) {
      s += " + neighbors";
      for (let i = 0; i < this.neighbors.length; i++) s += " " + ipString(this.neighbors[i]);
    }
    if (this.auth.on) {
      const k = this.auth.sendKey(clock.now());
      s += ", " + this.auth.name + " (key chain " + this.auth.chain + ", " + (k !== null ? "sending key " + k!.id.toString() : "no key to send with") + ")";
    }
    return this.up ? s : s + ", down";
  }
}

/** Every interface the host knows, by index. */
export function readInterfaces(): Iface[] {
  const out: Iface[] = [];
  const n = net.count();
  if (n < 0) log.warn("rip: the `net` capability is not granted (configure capabilities.net): no interfaces");
  for (let i = 0; i < n; i++) out.push(Iface.read(i));
  return out;
}
