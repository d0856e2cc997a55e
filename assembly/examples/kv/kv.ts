// The `kv` example: a key-value store whose data lives in persistent memory.
// Line protocol, one request per UDP datagram or per TCP line, one reply each:
//   SET <key> <value> → OK      GET <key> → VALUE <value> | NOT_FOUND
//   COUNT → <n>                 VERSION → <module version>
//   DEL <key> → DELETED | NOT_FOUND   (only when the build enables it: 2.0.0 and later)
import { App, Message, PMap, Words, WordHash, root, replyBytes, reply, copyBytes, hashBytes, pmapFind, pmapSet, pmapValuePtr, pmapValueLen } from "../../sdk";
import { INBOX_CAPACITY } from "../../sdk/generated/abi";

// Scratch space for building replies without allocating strings on the hot path: a whole
// message plus a reply prefix.
const OUT_CAPACITY: usize = INBOX_CAPACITY + 16;
const OUT = heap.alloc(OUT_CAPACITY); // transient: rebuilt by each version at start-up

// GET and SET, the requests that carry the load, are recognised by their first four bytes
// read as one u32 (little-endian "GET ", "SET "), and their key is found and hashed in one
// pass (WordHash); anything else goes through the general tokenizer, with the same results.
const GET_: u32 = 0x20544547;
const SET_: u32 = 0x20544553;
const VALU: u32 = 0x554c4156; // "VALU"
const E_: u16 = 0x2045; // "E "
const KEY = new WordHash();

// The common replies, encoded once per instance: encoding a string per request would allocate
// on the GC heap for every SET and GET.
const R_OK = String.UTF8.encode("OK");
const R_NOT_FOUND = String.UTF8.encode("NOT_FOUND");
const R_DELETED = String.UTF8.encode("DELETED");
// The hot path's replies as numbers: an ArrayBuffer passed to a function is a managed argument
// the runtime keeps on its shadow stack (docs/PERFORMANCE.md, "The kv handler's frames").
// Their lengths are constants, so that the compiler folds them into the calls.
const R_OK_PTR = changetype<usize>(R_OK);
const R_OK_LEN: usize = 2; // "OK"
const R_NOT_FOUND_PTR = changetype<usize>(R_NOT_FOUND);
const R_NOT_FOUND_LEN: usize = 9; // "NOT_FOUND"
// One tokenizer for every request (no allocation per message).
const WORDS = new Words();

/** The end of the line at `ptr`, trailing CR, LF and spaces left out (as Words.reset does). */
export function lineEnd(ptr: usize, len: u32): usize {
  let end = ptr + <usize>len;
  while (end > ptr) {
    const c = load<u8>(end - 1);
    if (c != 10 && c != 13 && c != 32) break;
    end--;
  }
  return end;
}

/**
 * "SET <key>[ <value>]" written plainly (one space after SET): every parser of kv's versions
 * reads the same key and value from it, so it can take the fast path.
 */
export function isPlainSet(ptr: usize, end: usize): bool {
  return end - ptr >= 5 && load<u32>(ptr) == SET_ && load<u8>(ptr + 4) != 32;
}

/** A GET or a plain SET: the requests KvApp.onMessage answers without the general tokenizer. */
export function isFastRequest(ptr: usize, end: usize): bool {
  return (end - ptr >= 5 && load<u32>(ptr) == GET_) || isPlainSet(ptr, end);
}

function replyConst(buf: ArrayBuffer): void { replyBytes(changetype<usize>(buf), <usize>buf.byteLength); }

/** "VALUE <value>", truncated to OUT's capacity. */
function replyValue(ptr: usize, len: usize): void {
  store<u32>(OUT, VALU);
  store<u16>(OUT + 4, E_);
  if (<usize>6 + len > OUT_CAPACITY) len = OUT_CAPACITY - 6;
  copyBytes(OUT + 6, ptr, len);
  replyBytes(OUT, 6 + len);
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

  /** A plain SET stored entry `e` (a later version keeps per-entry metadata up to date here). */
  protected stored(e: usize): void {}

  onMessage(msg: Message): void {
    // The map's address as a number, and the pmap* functions on it: a PMap held across the calls
    // below would be spilled to the shadow stack at each one.
    const m = this.map!.ptr;
    const ptr = msg.ptr;
    const end = lineEnd(ptr, msg.length);
    if (end - ptr >= 5) {
      const head = load<u32>(ptr);
      if (head == GET_) {
        // The key is the rest of the line, spaces and all (as Words.restPtr gives it).
        const kptr = ptr + 4;
        const klen = end - kptr;
        const e = pmapFind(m, kptr, klen, hashBytes(kptr, klen));
        if (e == 0) replyBytes(R_NOT_FOUND_PTR, R_NOT_FOUND_LEN);
        else replyValue(pmapValuePtr(m, e), pmapValueLen(e));
        return;
      }
      if (isPlainSet(ptr, end)) {
        const kptr = ptr + 4;
        KEY.scan(kptr, end);
        const kend = kptr + KEY.len;
        const vptr = kend < end ? kend + 1 : end;
        this.stored(pmapSet(m, kptr, KEY.len, KEY.hash, vptr, end - vptr));
        replyBytes(R_OK_PTR, R_OK_LEN);
        return;
      }
    }
    this.onOtherMessage(this.map!, msg);
  }

  /** Every request but the plain GET and SET of onMessage (and those written unusually, e.g. with two spaces). */
  private onOtherMessage(map: PMap, msg: Message): void {
    const w = WORDS.reset(msg.ptr, msg.length);
    if (!w.next()) { reply("ERROR unknown command"); return; }
    if (w.is("GET")) {
      const kptr = w.restPtr();
      const e = map.find(kptr, w.restLen());
      if (e == 0) replyConst(R_NOT_FOUND);
      else replyValue(map.valuePtr(e), map.valueLen(e));
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
