// Attack module for test/quota-corpus*.test.ts: kv plus a timer storm. On restart (the swap that
// brings it in), and again on "ATTACK", it sets 100,000 timers repeating every 1 ms.
// Built by scripts/build-modules.ts into build/hostile/attack-timer-storm.wasm.
export * from "../../../assembly/sdk/exports";
import { register, Message, timers } from "../../../assembly/sdk";
import { AttackApp, reply } from "./lib/attack";

const TIMERS: u32 = 100_000;

function storm(): void {
  for (let id: u32 = 1; id <= TIMERS; id++) timers.set(id, 1, 1);
}

class TimerStorm extends AttackApp {
  onRestart(): bool {
    storm();
    return super.onRestart();
  }
  attack(msg: Message): void {
    storm();
    reply("ATTACKING");
  }
}
register(new TimerStorm("6.6.6-attack-timer-storm", true));
