// Attack module for test/quota-corpus*.test.ts: kv plus a reply flood. Each "ATTACK" request
// (UDP datagram or TCP line) gets 100,000 replies of 1,000 bytes (100 MB), sent whatever the
// host answers; a last reply "FLOODED <tally>" tells how the host answered.
// Built by scripts/build-modules.ts into build/hostile/attack-reply-flood.wasm.
export * from "../../../assembly/sdk/exports";
import { register, Message } from "../../../assembly/sdk";
import { hs_reply } from "../../../assembly/sdk/generated/imports";
import { AttackApp, Blob, Tally, reply } from "./lib/attack";

const REPLY = Blob.filled(1000, 0x52); // "RRRR…"
const REPLIES: i32 = 100_000;

class ReplyFlood extends AttackApp {
  attack(msg: Message): void {
    const tally = new Tally();
    for (let i = 0; i < REPLIES; i++) tally.count(hs_reply(REPLY.ptr, REPLY.len));
    reply("FLOODED " + tally.toString());
  }
}
register(new ReplyFlood("6.6.6-attack-reply-flood", true));
