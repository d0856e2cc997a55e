// Hostile module for test/safety*.test.ts: kv 2.0.0 plus SPIN, an endless loop in on_message.
// Built by scripts/build-modules.ts into build/hostile/loop-message.wasm.
export * from "../../../assembly/sdk/exports";
import { register, Message, reply } from "../../../assembly/sdk";
import { KvApp } from "../../../assembly/examples/kv/kv";
class LoopMessage extends KvApp {
  onMessage(msg: Message): void {
    if (msg.text().startsWith("SPIN")) { let n: u32 = 0; while (n != 0xffffffff) n = (n * 3 + 1) & 0xfffffffe; }
    super.onMessage(msg);
  }
}
register(new LoopMessage("6.6.6-loop-message", true));
