// The `beacon` example: shows the host-owned event sources that a swap must not disturb.
//   - a repeating timer (id 1) that counts ticks in persistent memory;
//   - a one-shot timer (id 2) set at INIT to fire 16 s later (paper, Table 1: "next due in");
//   - signals it subscribed to (counted per signal);
//   - messages to and from other components by name (PING/PONG over the bus).
// Requests (UDP or TCP line): TICKS | DUE | SIGNALS | PING <component> | PINGS | PONGS | VERSION
import { App, Message, Bytes, root, reply, log, timers, palloc, sendToComponent } from "../../sdk";

const TICK_TIMER: u32 = 1;
const LONG_TIMER: u32 = 2;
const TICK_MS: f64 = 100;
const LONG_MS: f64 = 16000;

// Persistent record: ticks | hup | usr1 | usr2 | pings received | pongs received | long fired  (u32 each)
const F_TICKS: usize = 0;
const F_HUP: usize = 4;
const F_USR1: usize = 8;
const F_USR2: usize = 12;
const F_PINGS: usize = 16;
const F_PONGS: usize = 20;
const F_LONG: usize = 24;
const RECORD_SIZE: usize = 28;

function bump(field: usize): void {
  const p = root.get() + field;
  store<u32>(p, load<u32>(p) + 1);
}
function get(field: usize): u32 { return load<u32>(root.get() + field); }

export class BeaconApp extends App {
  constructor(private readonly ver: string) { super(); }

  get version(): string { return this.ver; }

  onInit(): bool {
    const r = palloc(RECORD_SIZE);
    memory.fill(r, 0, RECORD_SIZE);
    root.set(r);
    timers.set(TICK_TIMER, TICK_MS, TICK_MS);
    timers.set(LONG_TIMER, LONG_MS);
    return true;
  }

  onRestart(): bool { return root.get() != 0; }

  onTimer(id: u32): void {
    if (id == TICK_TIMER) bump(F_TICKS);
    else if (id == LONG_TIMER) bump(F_LONG);
  }

  onSignal(signo: u32): void {
    if (signo == 1) bump(F_HUP);
    else if (signo == 10) bump(F_USR1);
    else if (signo == 12) bump(F_USR2);
    log.info("signal " + signo.toString() + " handled by " + this.ver);
  }

  onMessage(msg: Message): void {
    const line = new Bytes(msg.ptr, msg.length).trimEnd();
    if (msg.fromComponent) {
      // A message from another component: answer PINGs, count PONGs.
      if (line.equals("PING")) { bump(F_PINGS); reply("PONG"); }
      else if (line.equals("PONG")) bump(F_PONGS);
      return;
    }
    const parts = line.splitWord();
    const cmd = parts[0];
    if (cmd.equals("TICKS")) reply(get(F_TICKS).toString());
    else if (cmd.equals("DUE")) reply(i64(timers.dueIn(LONG_TIMER)).toString());
    else if (cmd.equals("SIGNALS")) {
      reply("hup=" + get(F_HUP).toString() + " usr1=" + get(F_USR1).toString() + " usr2=" + get(F_USR2).toString());
    } else if (cmd.equals("PING")) {
      const rc = sendToComponent(parts[1].toString(), "PING");
      reply(rc == 0 ? "SENT" : "ERROR " + rc.toString());
    } else if (cmd.equals("PINGS")) reply(get(F_PINGS).toString());
    else if (cmd.equals("PONGS")) reply(get(F_PONGS).toString());
    else if (cmd.equals("VERSION")) reply(this.ver);
    else reply("ERROR unknown command");
  }

  status(): string {
    return "Beacon\n  Module version = " + this.ver + "\n" +
      "  Ticks = " + get(F_TICKS).toString() + "\n" +
      "  Long timer next due in " + i64(timers.dueIn(LONG_TIMER) / 1000).toString() + " seconds\n";
  }
}
