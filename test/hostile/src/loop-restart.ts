// Hostile module for test/safety*.test.ts: an endless loop in restart (the swap rolls back).
// Built by scripts/build-modules.ts into build/hostile/loop-restart.wasm.
export * from "../../../assembly/sdk/exports";
import { register, Message, reply } from "../../../assembly/sdk";
import { KvApp } from "../../../assembly/examples/kv/kv";
class LoopRestart extends KvApp {
  onRestart(): bool { let n: u32 = 0; while (n != 0xffffffff) n = (n * 3 + 1) & 0xfffffffe; return true; }
}
register(new LoopRestart("6.6.6-loop-restart", true));
