// Quota test module for test/quotas.test.ts: kv 2.0.0 plus commands that consume the host through
// its imports ("LOG n", "REPLY n", "TIMERS n ms", "OUTPUT n"); `status` reports the refused calls
// and the timers it set. Built by scripts/build-modules.ts into build/hostile/quota-hog.wasm.
export * from "../../../assembly/sdk/exports";
import { register, Message, reply, timers } from "../../../assembly/sdk";
import { KvApp } from "../../../assembly/examples/kv/kv";
import { hs_log } from "../../../assembly/sdk/generated/imports";

let refused: i32 = 0;
let lastCode: i32 = 0;
let outputBytes: i32 = 0;
const LINE = String.UTF8.encode("x".repeat(1024));

class QuotaHog extends KvApp {
  onMessage(msg: Message): void {
    const parts = msg.text().split(" ");
    const n = parts.length > 1 ? <i32>parseInt(parts[1]) : 0;
    if (parts[0] == "LOG") {
      for (let i = 0; i < n; i++) hs_log(1, changetype<usize>(LINE), LINE.byteLength);
    } else if (parts[0] == "REPLY") {
      for (let i = 0; i < n; i++) {
        lastCode = reply("r");
        if (lastCode == -6) refused++;
      }
    } else if (parts[0] == "TIMERS") {
      const ms = <f64>parseInt(parts[2]);
      for (let i = 0; i < n; i++) timers.set(1000 + i, ms, ms);
    } else if (parts[0] == "OUTPUT") {
      outputBytes = n;
    } else {
      super.onMessage(msg);
    }
  }
  status(): string {
    let s = "refused=" + refused.toString() + " last=" + lastCode.toString() + "\n";
    // Timers belong to the host: listed from there, so a re-instantiated module sees them too.
    for (let id: u32 = 1000; id < 1008; id++) {
      const due = timers.dueIn(id);
      if (due >= 0) s += "timer " + id.toString() + " " + due.toString() + "\n";
    }
    if (outputBytes > 0) s += "y".repeat(outputBytes);
    return s;
  }
}
register(new QuotaHog("9.9.9-quota-hog", true));
