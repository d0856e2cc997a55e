// The `kv` example: a key-value store whose data lives in persistent memory.
// Line protocol, one request per UDP datagram or per TCP line, one reply each:
//   SET <key> <value> → OK      GET <key> → VALUE <value> | NOT_FOUND
//   COUNT → <n>                 VERSION → <module version>
//   DEL <key> → DELETED | NOT_FOUND   (only when the build enables it: 2.0.0 and later)
import { App, Message, PMap, Words, root, replyBytes, reply } from "../../sdk";
import { INBOX_CAPACITY } from "../../sdk/generated/abi";

// Scratch space for building replies without allocating strings on the hot path: a whole
// message plus a reply prefix.
const OUT_CAPACITY: usize = INBOX_CAPACITY + 16;
const OUT = heap.alloc(OUT_CAPACITY); // transient: rebuilt by each version at start-up

// The common replies, encoded once per instance: encoding a string per request would allocate
// on the GC heap for every SET and GET.
const R_OK = String.UTF8.encode("OK");
const R_NOT_FOUND = String.UTF8.encode("NOT_FOUND");
const R_DELETED = String.UTF8.encode("DELETED");
// One tokenizer for every request (no allocation per message).
const WORDS = new Words();
function replyConst(buf: ArrayBuffer): void { replyBytes(changetype<usize>(buf), <usize>buf.byteLength); }

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
    const w = WORDS.reset(msg.ptr, msg.length);
    if (!w.next()) { reply("ERROR unknown command"); return; }
    if (w.is("GET")) {
      const kptr = w.restPtr();
      const e = map.find(kptr, w.restLen());
      if (e == 0) replyConst(R_NOT_FOUND);
      else replyPrefixed("VALUE ", map.valuePtr(e), map.valueLen(e));
    } else if (w.is("SET")) {
      if (!w.next()) { reply("ERROR usage: SET <key> <value>"); return; }
      map.set(w.ptr, w.len, w.restPtr(), w.restLen());
      replyConst(R_OK);
    } else if (w.is("COUNT")) {
      reply(map.count.toString());
    } else if (w.is("VERSION")) {
      reply(this.ver);
    } else if (this.withDel && w.is("DEL")) {
      replyConst(map.delete(w.restPtr(), w.restLen()) ? R_DELETED : R_NOT_FOUND);
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
