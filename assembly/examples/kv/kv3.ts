// kv 3.0.0: data layout 2. Every entry carries per-key metadata in the PMap's `extra` bytes:
//   revision u32 (how many times the key was SET) | pad u32 | updated f64 (ms since the epoch)
// New command: META <key> → META <revision> <updated-ms> | NOT_FOUND.
// It migrates layout 1 (1.0.0, 2.0.0: no extra bytes) up and back down (docs/SAFETY.md).
import { App, Message, PMap, Bytes, root, reply, clock } from "../../sdk";
import { KvApp, isFastRequest, lineEnd } from "./kv";

const META_BYTES: u32 = 16;
const REVISION: usize = 0;
const UPDATED: usize = 8;
/** What an up-migration writes into every entry's metadata: revision 1, pad 0, updated = now. */
const MIGRATED_META = heap.alloc(META_BYTES); // transient: written by each migrate

export class KvApp3 extends KvApp {
  constructor(ver: string) { super(ver, true); }

  get layoutVersion(): u32 { return 2; }

  onInit(): bool {
    const m = PMap.create(1024, META_BYTES);
    root.set(m.ptr);
    this.map = m;
    return true;
  }

  /** A SET's entry: one more revision, updated now (the old metadata was copied by PMap.set). */
  protected stored(e: usize): void {
    const meta = this.map!.extraPtr(e);
    store<f64>(meta + UPDATED, clock.now());
    store<u32>(meta + REVISION, load<u32>(meta + REVISION) + 1);
  }

  onMessage(msg: Message): void {
    // GET and a plain SET take KvApp's path without a parse here (a SET's path calls stored()): the
    // parse below allocates, which cost a GET about 250 ns more than in 1.0.0 (docs/PERFORMANCE.md).
    // Only META, unusually written SETs and the rest of layout 1's commands are parsed here.
    if (isFastRequest(msg.ptr, lineEnd(msg.ptr, msg.length))) {
      super.onMessage(msg);
      return;
    }
    const parts = new Bytes(msg.ptr, msg.length).trimEnd().splitWord();
    const cmd = parts[0];
    const rest = parts[1];
    const map = this.map!;
    if (cmd.equals("SET")) {
      const kv = rest.splitWord();
      if (kv[0].len == 0) { reply("ERROR usage: SET <key> <value>"); return; }
      this.stored(map.set(kv[0].ptr, kv[0].len, kv[1].ptr, kv[1].len)); // set copies the old metadata
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

  /**
   * Layout 1 → 2 in bulk, in place: every entry gets its metadata (revision 1, updated now) in
   * the block it already has (docs/PERFORMANCE.md, "Migration"). A trap midway is undone by the
   * swap's rollback copy of the persistent pages (docs/SAFETY.md).
   */
  migrate(from: u32): bool {
    if (from != 1) return false;
    store<u32>(MIGRATED_META + REVISION, 1);
    store<u32>(MIGRATED_META + REVISION + 4, 0);
    store<f64>(MIGRATED_META + UPDATED, clock.now());
    new PMap(root.get()).reshapeInPlace(META_BYTES, MIGRATED_META);
    return true;
  }

  /** Layout 2 → 1: drops the metadata in place, for 1.0.0 or 2.0.0 to take over. */
  migrateDown(to: u32): bool {
    if (to != 1) return false;
    new PMap(root.get()).reshapeInPlace(0, 0);
    return true;
  }

  status(): string {
    return super.status().replace("DEL\n", "DEL META\n");
  }
}
