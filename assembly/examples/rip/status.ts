// The text of `hotswap show rip`, in the layout of FRR's `show ip rip status` and `show ip rip`.
import { timers, clock } from "../../sdk";
import { ipString } from "./wire";
import {
  ROOT_PACKETS_IN, ROOT_BAD_PACKETS, ROOT_BAD_ROUTES, ROOT_UPDATES_SENT, ROOT_TRIGGERED_SENT, ROOT_FILTERED, ROOT_AUTH_FAILURES, ROOT_SEQ_DROPS,
} from "./table";
import { SequenceNumbers } from "./sequence";
import { RipRouter, T_UPDATE } from "./router";

export function statusText(r: RipRouter): string {
  const t = r.table!;
  const st = r.state;
  const due = timers.dueIn(T_UPDATE);
  let s = "Routing Protocol is \"rip\"\n";
  s += "  Module version = " + r.version + "\n";
  s += "  Sending updates every " + secs(r.updateMs) + " seconds with +/-" + (<i32>Math.round(r.jitter * 100)).toString() +
    "%, next due in " + (due < 0 ? "?" : (<i32>Math.round(due / 1000)).toString()) + " seconds\n";
  s += "  Timeout after " + secs(r.timeoutMs) + " seconds, garbage collect after " + secs(r.garbageMs) + " seconds\n";
  s += "  Outgoing update filter list for all interface is not set\n";
  s += "  Incoming update filter list for all interface is " + r.filterText() + "\n";
  s += "  Default redistribution metric is " + r.defaultMetric.toString() + "\n";
  s += "  Redistributing:" + (r.redistributeConnected ? " connected" : "") + "\n";
  s += "  Default version control: send version 2, receive version 2\n";
  s += "  Split horizon: " + (r.splitHorizon == "simple" ? "simple" : r.splitHorizon == "off" ? "off" : "with poisoned reverse") + "\n";
  s += "  Routing for Networks:\n";
  for (let i = 0; i < r.ifaces.length; i++) {
    const f = r.ifaces[i];
    s += "    " + pad(f.name, 10) + pad(ipString(f.network) + "/" + f.len.toString(), 20) + f.describe() + "\n";
  }
  s += "  Counters: " + st.count(ROOT_PACKETS_IN).toString() + " datagrams in, " + st.count(ROOT_BAD_PACKETS).toString() +
    " rejected (" + st.count(ROOT_AUTH_FAILURES).toString() + " failed authentication, " + st.count(ROOT_SEQ_DROPS).toString() + " out of sequence), " +
    st.count(ROOT_BAD_ROUTES).toString() + " bad entries, " + st.count(ROOT_FILTERED).toString() + " filtered, " +
    st.count(ROOT_UPDATES_SENT).toString() + " updates, " + st.count(ROOT_TRIGGERED_SENT).toString() + " triggered updates sent\n";
  const seqs = st.sequencesIfAny;
  if (seqs !== null) {
    const q = new SequenceNumbers(seqs!);
    s += "  Authentication sequence numbers accepted last:";
    for (let i = seqs!.nextIndex(0); i >= 0; i = seqs!.nextIndex(i + 1)) {
      const e = seqs!.entryAt(i);
      s += " " + ipString(q.source(e)) + " key " + q.keyId(e).toString() + " = " + q.seq(e).toString() + ";";
    }
    s += "\n";
  }
  s += "  Data layout = " + r.features.layout.toString() + "\n";
  s += "\nCodes: R - RIP, C - connected\n";
  s += "     " + pad("Network", 20) + pad("Next Hop", 16) + pad("Metric", 8) + pad("From", 16) + pad("Tag", 6) + pad("Time", 7) + pad("Iface", 8) +
    (r.features.layout >= 2 ? "Uptime" : "") + "\n";
  const now = clock.monotonic();
  const wall = clock.now();
  for (let i = t.map.nextIndex(0); i >= 0; i = t.map.nextIndex(i + 1)) {
    const e = t.map.entryAt(i);
    const c = t.connected(e);
    const f = <i32>t.iface(e) < r.ifaces.length ? r.ifaces[<i32>t.iface(e)].name : "?";
    let time = "";
    if (!c) time = mmss(t.gcAt(e) != 0 ? t.gcAt(e) - now : t.timeoutAt(e) - now);
    s += (c ? "C    " : "R    ") + pad(ipString(t.addr(e)) + "/" + t.len(e).toString(), 20) + pad(ipString(t.nextHop(e)), 16) +
      pad(t.metric(e).toString(), 8) + pad(c ? "self" : ipString(t.from(e)), 16) + pad(t.tag(e).toString(), 6) + pad(time, 7) + pad(f, 8) +
      (r.features.layout >= 2 ? mmss(wall - t.learnedAt(e)) : "") + "\n";
  }
  return s;
}

function secs(ms: f64): string {
  const s = ms / 1000;
  return s == Math.floor(s) ? (<i64>s).toString() : s.toString();
}

function pad(s: string, n: i32): string {
  return s.length >= n ? s + " " : s.padEnd(n, " ");
}

function mmss(ms: f64): string {
  const total = ms < 0 ? 0 : <i64>Math.round(ms / 1000);
  const m = total / 60;
  const sec = total % 60;
  return (m < 10 ? "0" : "") + m.toString() + ":" + (sec < 10 ? "0" : "") + sec.toString();
}
