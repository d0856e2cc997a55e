// Hostile module for test/safety*.test.ts: kv 2.0.0 that arms timer 7 on restart; on_timer loops forever.
// Built by scripts/build-modules.ts into build/hostile/loop-timer.wasm.
export * from "../../../assembly/sdk/exports";
import { register, Message, reply } from "../../../assembly/sdk";
import { KvApp } from "../../../assembly/examples/kv/kv";
import { timers } from "../../../assembly/sdk";
class LoopTimer extends KvApp {
  onRestart(): bool { timers.set(7, 5); return super.onRestart(); }
  onTimer(id: u32): void { if (id == 7) { let n: u32 = 0; while (n != 0xffffffff) n = (n * 3 + 1) & 0xfffffffe; } }
}
register(new LoopTimer("6.6.6-loop-timer", true));
