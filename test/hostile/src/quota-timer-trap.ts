// Quota test module for test/quotas.test.ts: kv 2.0.0 whose RESTART sets timers, cancels timer
// 1000, and then fails, so the swap is rolled back by its transaction (the timer table too).
// Built into build/hostile/quota-timer-trap.wasm.
export * from "../../../assembly/sdk/exports";
import { register, timers } from "../../../assembly/sdk";
import { KvApp } from "../../../assembly/examples/kv/kv";
class TimerTrap extends KvApp {
  onRestart(): bool {
    for (let i: u32 = 0; i < 50; i++) timers.set(i, 5, 5);
    timers.cancel(1000);
    timers.set(1001, 1);
    return false;
  }
}
register(new TimerTrap("9.9.9-quota-timer-trap", true));
