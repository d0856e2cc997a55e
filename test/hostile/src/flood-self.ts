// Hostile module for test/control-latency.test.ts: kv 2.0.0 plus FLOOD, bus amplification.
// "FLOOD <component>" is sent twice to <component> (its own name) over the bus, and so is every
// copy that comes back: each message it handles queues two more. Everything else is kv.
// Built by scripts/build-modules.ts into build/hostile/flood-self.wasm.
export * from "../../../assembly/sdk/exports";
import { register, Message, sendToComponent } from "../../../assembly/sdk";
import { KvApp } from "../../../assembly/examples/kv/kv";
class FloodSelf extends KvApp {
  onMessage(msg: Message): void {
    const text = msg.text();
    if (text.startsWith("FLOOD ")) {
      const self = text.slice(6);
      sendToComponent(self, text); // the result (-6 once the queue is full) is ignored on purpose
      sendToComponent(self, text);
      return;
    }
    super.onMessage(msg);
  }
}
register(new FloodSelf("6.6.6-flood-self", true));
