// kv 3.0.0: data layout 2. Every entry carries per-key metadata in the PMap's `extra` bytes:
//   revision u32 (how many times the key was SET) | pad u32 | updated f64 (ms since the epoch)
// New command: META <key> → META <revision> <updated-ms> | NOT_FOUND.
// It migrates layout 1 (1.0.0, 2.0.0: no extra bytes) up and back down (docs/SAFETY.md).
import { App, Message, PMap, Bytes, root, reply, clock } from "../../sdk";
import { KvApp } from "./kv";

const META_BYTES: u32 = 16;
const REVISION: usize = 0;
const UPDATED: usize = 8;
/** The time stamped on entries by an up-migration (AssemblyScript has no closures to carry it). */
let migratedAt: f64 = 0;

export class KvApp3 extends KvApp {
  constructor(ver: string) { super(ver, true); }

  get layoutVersion(): u32 { return 2; }

  onInit(): bool {
    const m = PMap.create(1024, META_BYTES);
    root.set(m.ptr);
    this.map = m;
    return true;
  }

  onMessage(msg: Message): void {
    const parts = new Bytes(msg.ptr, msg.length).trimEnd().splitWord();
    const cmd = parts[0];
    const rest = parts[1];
    const map = this.map!;
    if (cmd.equals("SET")) {
      const kv = rest.splitWord();
      if (kv[0].len == 0) { reply("ERROR usage: SET <key> <value>"); return; }
      const e = map.set(kv[0].ptr, kv[0].len, kv[1].ptr, kv[1].len); // copies the old metadata
      const meta = map.extraPtr(e);
      store<f64>(meta + UPDATED, clock.now());
      store<u32>(meta + REVISION, load<u32>(meta + REVISION) + 1);
      reply("OK");
    } else if (cmd.equals("META")) {
      const e = map.find(rest.ptr, rest.len);
      if (e == 0) { reply("NOT_FOUND"); return; }
      const meta = map.extraPtr(e);
      reply("META " + load<u32>(meta + REVISION).toString() + " " + (<u64>load<f64>(meta + UPDATED)).toString());
    } else {
      super.onMessage(msg);
    }
  }

  /** Layout 1 → 2: a new map with metadata (revision 1, updated now), published in one store. */
  migrate(from: u32): bool {
    if (from != 1) return false;
    const old = new PMap(root.get());
    migratedAt = clock.now();
    const next = old.remapped(META_BYTES, (to: PMap, e: usize): void => {
      store<u32>(to.extraPtr(e) + REVISION, 1);
      store<f64>(to.extraPtr(e) + UPDATED, migratedAt);
    });
    root.set(next.ptr); // commit; a trap before this line leaves layout 1 untouched
    old.destroy();
    return true;
  }

  /** Layout 2 → 1: drops the metadata, for 1.0.0 or 2.0.0 to take over. */
  migrateDown(to: u32): bool {
    if (to != 1) return false;
    const old = new PMap(root.get());
    const next = old.remapped(0, (to: PMap, e: usize): void => {});
    root.set(next.ptr); // commit
    old.destroy();
    return true;
  }

  status(): string {
    return super.status().replace("DEL\n", "DEL META\n");
  }
}
