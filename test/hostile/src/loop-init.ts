// Hostile module for test/safety*.test.ts: an endless loop in init (caught by the warm-up, before any swap).
// Built by scripts/build-modules.ts into build/hostile/loop-init.wasm.
export * from "../../../assembly/sdk/exports";
import { register, Message, reply } from "../../../assembly/sdk";
import { KvApp } from "../../../assembly/examples/kv/kv";
class LoopInit extends KvApp {
  onInit(): bool { let n: u32 = 0; while (n != 0xffffffff) n = (n * 3 + 1) & 0xfffffffe; return true; }
}
register(new LoopInit("6.6.6-loop-init", true));
