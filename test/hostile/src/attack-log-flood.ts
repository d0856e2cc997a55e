// Attack module for test/quota-corpus*.test.ts: kv plus a log flood. Each "ATTACK" logs a
// 64 KiB line 20,000 times (1.25 GiB) at warn level, so a default log level writes it all.
// Built by scripts/build-modules.ts into build/hostile/attack-log-flood.wasm.
export * from "../../../assembly/sdk/exports";
import { register, Message } from "../../../assembly/sdk";
import { LOG_WARN } from "../../../assembly/sdk/generated/abi";
import { hs_log } from "../../../assembly/sdk/generated/imports";
import { AttackApp, Blob, reply } from "./lib/attack";

const LINE = Blob.filled(64 * 1024, 0x4c); // "LLLL…"
const LINES: i32 = 20_000;

class LogFlood extends AttackApp {
  attack(msg: Message): void {
    for (let i = 0; i < LINES; i++) hs_log(LOG_WARN, LINE.ptr, LINE.len);
    reply("LOGGED");
  }
}
register(new LogFlood("6.6.6-attack-log-flood", true));
