// Hostile module for test/safety*.test.ts: kv 2.0.0 plus RECURSE, unbounded recursion until the stack overflows.
// Built by scripts/build-modules.ts into build/hostile/deep-recursion.wasm.
export * from "../../../assembly/sdk/exports";
import { register, Message, reply } from "../../../assembly/sdk";
import { KvApp } from "../../../assembly/examples/kv/kv";
function descend(n: u32): u32 { return n == 0xffffffff ? 0 : descend(n + 1) + 1; }
class Recurser extends KvApp {
  onMessage(msg: Message): void {
    if (msg.text().startsWith("RECURSE")) reply(descend(0).toString());
    else super.onMessage(msg);
  }
}
register(new Recurser("6.6.6-recurse", true));
