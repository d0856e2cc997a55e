// Hostile module for test/safety*.test.ts: restart scribbles over every persistent byte in use (header included), then traps.
// Built by scripts/build-modules.ts into build/hostile/restart-writes-then-traps.wasm.
export * from "../../../assembly/sdk/exports";
import { register, Message, reply } from "../../../assembly/sdk";
import { KvApp } from "../../../assembly/examples/kv/kv";
import { pallocHighWater } from "../../../assembly/sdk";
import { HEADER_OFFSET } from "../../../assembly/sdk/generated/abi";
class Scribbler extends KvApp {
  onRestart(): bool {
    const top = pallocHighWater();
    memory.fill(HEADER_OFFSET + 16, 0xab, top - HEADER_OFFSET - 16); // root, allocator, inbox, arena
    unreachable();
    return true;
  }
}
register(new Scribbler("6.6.6-scribble", true));
