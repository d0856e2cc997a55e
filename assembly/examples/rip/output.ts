// What the router sends: whole-table requests and responses (regular, triggered, answers,
// the shutdown poison), to the destinations of each interface's send mode, signed when the
// interface authenticates.
import { log, clock, replyBytes, sendTo } from "../../sdk";
import { net } from "../../sdk/host";
import { CMD_REQUEST, CMD_RESPONSE, AFI_INET, INFINITY, PacketWriter } from "./wire";
import { RouteTable } from "./table";
import { Iface } from "./iface";

/** Response kinds of send(). */
export const ANSWER: i32 = 0;
export const REGULAR: i32 = 1;
export const TRIGGERED: i32 = 2;

export class Output {
  readonly w: PacketWriter = new PacketWriter();
  /** Last authentication sequence number sent (wall-clock seconds, never decreasing). */
  seq: u32 = 0;
  /** Set when a datagram could not be signed (no key valid for sending), so the log says it once. */
  unsigned: bool = false;
  /** "poisoned" (default), "simple" or "off". */
  splitHorizon: string = "poisoned";

  /** Asks every neighbour on the link for its whole table (one entry, AFI 0, metric 16). */
  request(iface: Iface): void {
    if (!iface.sends) return;
    this.w.begin(CMD_REQUEST, iface.auth.on);
    this.w.add(0, 0, 0, 0, 0, INFINITY);
    this.emit(iface, false);
  }

  /**
   * Sends our table out of one interface. kind ANSWER: to the asker (hs.reply); REGULAR: every
   * route; TRIGGERED: changed routes only. `poisonAll`: every route with metric 16 (shutdown).
   * `splitOnAnswer` says whether an ANSWER goes to a router (split horizon applies).
   */
  response(t: RouteTable, iface: Iface, kind: i32, poisonAll: bool, splitOnAnswer: bool): void {
    if (!iface.sends) return;
    const w = this.w;
    const applySplit = kind != ANSWER || splitOnAnswer;
    w.begin(CMD_RESPONSE, iface.auth.on);
    for (let i = t.map.nextIndex(0); i >= 0; i = t.map.nextIndex(i + 1)) {
      const e = t.map.entryAt(i);
      if (kind == TRIGGERED && !t.changed(e)) continue;
      let metric = t.metric(e);
      if (t.connected(e)) {
        // The link's own subnet is not advertised onto that link (the neighbour has it connected).
        if (<i32>t.iface(e) == iface.index) continue;
      } else if (applySplit && <i32>t.iface(e) == iface.index) {
        // Split horizon: never advertise a route back where it was learned; poisoned reverse
        // advertises it there as unreachable, which breaks two-node loops at once.
        if (this.splitHorizon == "simple") continue;
        if (this.splitHorizon != "off") metric = INFINITY;
      }
      if (poisonAll) metric = INFINITY;
      w.add(AFI_INET, <u16>t.tag(e), t.addr(e), t.len(e), 0, metric);
      if (w.full) {
        this.emit(iface, kind == ANSWER);
        w.begin(CMD_RESPONSE, iface.auth.on);
      }
    }
    if (w.count > 0) this.emit(iface, kind == ANSWER);
  }

  /** Signs the datagram in `w` when the interface authenticates, then sends or answers it. */
  emit(iface: Iface, answer: bool): void {
    const w = this.w;
    let len = w.length;
    if (iface.auth.on) {
      const s = <u32>(clock.now() / 1000);
      if (s > this.seq) this.seq = s;
      len = iface.auth.sign(w.buf, len, this.seq);
      if (len == 0) {
        if (!this.unsigned) log.warn("rip: " + iface.name + ": no key of chain \"" + iface.auth.chain + "\" may send now: nothing sent");
        this.unsigned = true;
        return;
      }
      this.unsigned = false;
    }
    if (answer) { replyBytes(w.buf, len); return; }
    const to = iface.destinations();
    for (let i = 0; i < to.length; i++) sendTo(net.channel(iface.index), to[i], w.buf, len);
  }
}
