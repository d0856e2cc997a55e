// Hostile module for test/safety*.test.ts: a layout-2 module whose migrate overwrites half the values in place, then traps.
// Built by scripts/build-modules.ts into build/hostile/migrate-traps-halfway.wasm.
export * from "../../../assembly/sdk/exports";
import { register, Message, reply } from "../../../assembly/sdk";
import { KvApp } from "../../../assembly/examples/kv/kv";
import { PMap, root } from "../../../assembly/sdk";
class HalfMigrate extends KvApp {
  get layoutVersion(): u32 { return 2; }
  migrate(from: u32): bool {
    const map = new PMap(root.get());
    let left = map.count >> 1;
    for (let i = map.nextIndex(0); i >= 0 && left > 0; i = map.nextIndex(i + 1), left--) {
      const e = map.entryAt(i);
      memory.fill(map.valuePtr(e), 0x58, map.valueLen(e)); // "XXXX": corrupt the value in place
    }
    unreachable();
    return true;
  }
}
register(new HalfMigrate("6.6.6-half-migrate", true));
