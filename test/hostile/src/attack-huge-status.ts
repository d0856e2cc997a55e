// Attack module for test/quota-corpus*.test.ts: kv whose `status` (what `hotswap show` prints)
// writes 128 MiB through hs.output, in 2,048 chunks of 64 KiB. Its `version` is normal.
// Built by scripts/build-modules.ts into build/hostile/attack-huge-status.wasm.
export * from "../../../assembly/sdk/exports";
import { register, Message } from "../../../assembly/sdk";
import { hs_output } from "../../../assembly/sdk/generated/imports";
import { AttackApp, Blob, reply } from "./lib/attack";

const CHUNK = Blob.filled(64 * 1024, 0x53); // "SSSS…"
const CHUNKS: i32 = 2048;

class HugeStatus extends AttackApp {
  attack(msg: Message): void { reply("USE hotswap show"); }
  status(): string {
    for (let i = 0; i < CHUNKS; i++) hs_output(CHUNK.ptr, CHUNK.len);
    return "";
  }
}
register(new HugeStatus("6.6.6-attack-huge-status", true));
