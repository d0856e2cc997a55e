// Attack module for test/quota-corpus*.test.ts: kv plus a self-send loop. "ATTACK <component>"
// sends one million bus messages to that component (itself) within the one callback, ignoring
// the host's answers, then replies with the tally of answers (bus messages it receives are ignored).
// Built by scripts/build-modules.ts into build/hostile/attack-self-send.wasm.
export * from "../../../assembly/sdk/exports";
import { register, Message } from "../../../assembly/sdk";
import { AttackApp, Blob, Tally, busSend, attackArg, reply } from "./lib/attack";

const PAYLOAD = Blob.of("NOOP");
const SENDS: i32 = 1_000_000;

class SelfSend extends AttackApp {
  attack(msg: Message): void {
    const self = Blob.of(attackArg(msg));
    const tally = new Tally();
    for (let i = 0; i < SENDS; i++) tally.count(busSend(self, PAYLOAD));
    reply("SENT " + tally.toString());
  }
}
register(new SelfSend("6.6.6-attack-self-send", true));
