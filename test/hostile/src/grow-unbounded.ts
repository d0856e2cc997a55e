// Hostile module for test/safety*.test.ts: kv 2.0.0 plus GROW, which calls memory.grow until the host's cap refuses, then traps.
// Built by scripts/build-modules.ts into build/hostile/grow-unbounded.wasm.
export * from "../../../assembly/sdk/exports";
import { register, Message, reply } from "../../../assembly/sdk";
import { KvApp } from "../../../assembly/examples/kv/kv";
class Grower extends KvApp {
  onMessage(msg: Message): void {
    if (msg.text().startsWith("GROW")) { while (true) { if (memory.grow(64) < 0) unreachable(); } }
    super.onMessage(msg);
  }
}
register(new Grower("6.6.6-grow", true));
