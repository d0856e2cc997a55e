// Quota test module for test/quotas.test.ts: kv 2.0.0 whose RESTART sets 100,000 timers (ids from 200000) repeating
// every 1 ms (the timer storm); on_timer does nothing. Built into build/hostile/quota-timer-storm.wasm.
export * from "../../../assembly/sdk/exports";
import { register, timers } from "../../../assembly/sdk";
import { KvApp } from "../../../assembly/examples/kv/kv";
class TimerStorm extends KvApp {
  onRestart(): bool {
    for (let i: u32 = 0; i < 100_000; i++) timers.set(200_000 + i, 1, 1);
    return super.onRestart();
  }
}
register(new TimerStorm("9.9.9-quota-timer-storm", true));
