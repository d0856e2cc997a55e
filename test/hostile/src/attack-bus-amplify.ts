// Attack module for test/quota-corpus*.test.ts: kv plus bus amplification. "ATTACK <component>"
// sends two messages to that component (itself) over the bus, and every bus message it receives
// is sent on twice to its sender (itself), whatever the host answers: the queue doubles at each
// generation until the host refuses.
// Built by scripts/build-modules.ts into build/hostile/attack-bus-amplify.wasm.
export * from "../../../assembly/sdk/exports";
import { register, Message } from "../../../assembly/sdk";
import { AttackApp, Blob, busSend, attackArg, reply } from "./lib/attack";

const PAYLOAD = Blob.of("AMPLIFY");

class BusAmplify extends AttackApp {
  attack(msg: Message): void {
    const self = Blob.of(attackArg(msg));
    busSend(self, PAYLOAD);
    busSend(self, PAYLOAD);
    reply("ATTACKING");
  }
  onBus(msg: Message): void {
    const sender = Blob.of(msg.peer);
    busSend(sender, PAYLOAD);
    busSend(sender, PAYLOAD);
  }
}
register(new BusAmplify("6.6.6-attack-bus-amplify", true));
