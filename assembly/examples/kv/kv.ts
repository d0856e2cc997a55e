// The `kv` example: a key-value store whose data lives in persistent memory.
// Line protocol, one request per UDP datagram or per TCP line, one reply each:
//   SET <key> <value> → OK      GET <key> → VALUE <value> | NOT_FOUND
//   COUNT → <n>                 VERSION → <module version>
//   DEL <key> → DELETED | NOT_FOUND   (only when the build enables it: 2.0.0 and later)
import { App, Message, PMap, Bytes, root, replyBytes, reply } from "../../sdk";

// Scratch space for building replies without allocating strings on the hot path.
const OUT_CAPACITY: usize = 65536 + 16;
const OUT = heap.alloc(OUT_CAPACITY); // transient: rebuilt by each version at start-up

function replyPrefixed(prefix: string, ptr: usize, len: usize): void {
  let n: usize = 0;
  for (let i = 0; i < prefix.length; i++) store<u8>(OUT + n++, <u8>prefix.charCodeAt(i));
  if (n + len > OUT_CAPACITY) len = OUT_CAPACITY - n;
  memory.copy(OUT + n, ptr, len);
  replyBytes(OUT, n + len);
}

export class KvApp extends App {
  map: PMap | null = null;

  constructor(private readonly ver: string, private readonly withDel: bool) { super(); }

  get version(): string { return this.ver; }

  onInit(): bool {
    const m = PMap.create(1024);
    root.set(m.ptr);
    this.map = m;
    return true;
  }

  onRestart(): bool {
    if (root.get() == 0) return false;
    this.map = new PMap(root.get());
    return true;
  }

  onMessage(msg: Message): void {
    const map = this.map!;
    const parts = new Bytes(msg.ptr, msg.length).trimEnd().splitWord();
    const cmd = parts[0];
    const rest = parts[1];
    if (cmd.equals("GET")) {
      const e = map.find(rest.ptr, rest.len);
      if (e == 0) reply("NOT_FOUND");
      else replyPrefixed("VALUE ", map.valuePtr(e), map.valueLen(e));
    } else if (cmd.equals("SET")) {
      const kv = rest.splitWord();
      if (kv[0].len == 0) { reply("ERROR usage: SET <key> <value>"); return; }
      map.set(kv[0].ptr, kv[0].len, kv[1].ptr, kv[1].len);
      reply("OK");
    } else if (cmd.equals("COUNT")) {
      reply(map.count.toString());
    } else if (cmd.equals("VERSION")) {
      reply(this.ver);
    } else if (this.withDel && cmd.equals("DEL")) {
      reply(map.delete(rest.ptr, rest.len) ? "DELETED" : "NOT_FOUND");
    } else {
      reply("ERROR unknown command");
    }
  }

  status(): string {
    const map = this.map!;
    return "Key-value store \"kv\"\n" +
      "  Module version = " + this.ver + "\n" +
      "  Data layout = " + this.layoutVersion.toString() + "\n" +
      "  Keys = " + map.count.toString() + " (table capacity " + map.capacity.toString() + ")\n" +
      "  Commands: SET GET COUNT VERSION" + (this.withDel ? " DEL" : "") + "\n";
  }
}
