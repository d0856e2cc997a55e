// RIPv2 keyed-MD5 authentication (RFC 2082) with key chains and key lifetimes, as FRR's
// `ip rip authentication mode md5` and BIRD's `authentication cryptographic` (keyed MD5) do it.
//
// An authenticated datagram: the header, an authentication entry, the route entries, a trailer:
//   auth entry (20 bytes): 0xFFFF, type 3, packet length (= offset of the trailer), key id,
//     auth data length (16; BIRD sends 20, the whole trailer: both are accepted), sequence number,
//     8 zero bytes;
//   trailer (20 bytes): 0xFFFF, 0x0001, digest = MD5 of the datagram with the key (zero-padded
//     to 16 bytes) in the digest's place.
import { clock, log } from "../../sdk";
import { settings } from "../../sdk/host";
import { md5 } from "./md5";
import { be16, be32, putBe16, putBe32, AFI_AUTH, HEADER_BYTES, ENTRY_BYTES } from "./wire";

export const AUTH_NONE: i32 = 0;
export const AUTH_MD5: i32 = 1;
const AUTH_TYPE_MD5: u16 = 3;
const DIGEST_BYTES: usize = 16;
/** The trailer: 0xFFFF, 0x0001 and the digest. */
export const TRAILER_BYTES: usize = 4 + DIGEST_BYTES;

const DIGEST = memory.data(16);

/** One key of a chain. Times are wall-clock ms; the settings give them in Unix seconds. */
export class Key {
  constructor(
    public id: u32, public secret: ArrayBuffer,
    public sendFrom: f64, public sendUntil: f64, public acceptFrom: f64, public acceptUntil: f64,
  ) {}
  canSend(now: f64): bool { return now >= this.sendFrom && now < this.sendUntil; }
  canAccept(now: f64): bool { return now >= this.acceptFrom && now < this.acceptUntil; }
}

/** The authentication of one interface: its mode and key chain (transient, read from settings). */
export class Auth {
  constructor(public mode: i32, public chain: string, public keys: Key[]) {}

  /**
   * Reads `interfaces.<name>.auth` ("none" or "md5") and `interfaces.<name>.keyChain`, then the
   * chain: `keyChains.<chain>` lists the key ids; `keyChains.<chain>.<id>.secret` and the optional
   * `sendFrom`, `sendUntil`, `acceptFrom`, `acceptUntil` (Unix seconds) describe each key.
   */
  static read(ifname: string): Auth {
    const mode = settings.get("interfaces." + ifname + ".auth", "none");
    if (mode == "none") return new Auth(AUTH_NONE, "", []);
    if (mode != "md5") log.warn("rip: interfaces." + ifname + ".auth: \"" + mode + "\" is not none or md5; using md5");
    const chain = settings.get("interfaces." + ifname + ".keyChain", "");
    const keys: Key[] = [];
    const ids = settings.get("keyChains." + chain, "");
    if (chain.length == 0 || ids.length == 0) log.warn("rip: " + ifname + ": md5 authentication without a key chain: every datagram is dropped");
    const parts = ids.length > 0 ? ids.split(",") : [];
    for (let i = 0; i < parts.length; i++) {
      const at = "keyChains." + chain + "." + parts[i].trim() + ".";
      const id = I32.parseInt(parts[i].trim());
      if (isNaN(<f64>id) || id < 0 || id > 255) { log.warn("rip: " + at + ": key id must be 0..255, ignored"); continue; }
      keys.push(new Key(<u32>id, String.UTF8.encode(settings.get(at + "secret", "")),
        secondsAt(at + "sendFrom", 0), secondsAt(at + "sendUntil", Infinity),
        secondsAt(at + "acceptFrom", 0), secondsAt(at + "acceptUntil", Infinity)));
    }
    return new Auth(AUTH_MD5, chain, keys);
  }

  get on(): bool { return this.mode != AUTH_NONE; }

  /** The key to send with now: of those whose send lifetime holds, the one that started last. */
  sendKey(now: f64): Key | null {
    let best: Key | null = null;
    for (let i = 0; i < this.keys.length; i++) {
      const k = this.keys[i];
      if (k.canSend(now) && (best === null || k.sendFrom >= best!.sendFrom)) best = k;
    }
    return best;
  }

  acceptKey(id: u32, now: f64): Key | null {
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i].id == id && this.keys[i].canAccept(now)) return this.keys[i];
    return null;
  }

  /**
   * Fills in the authentication entry (at p + HEADER_BYTES) and the trailer (at p + dataLen) of a
   * datagram whose entries end at dataLen; returns the full length, or 0 when no key may send now.
   */
  sign(p: usize, dataLen: usize, seq: u32): usize {
    const key = this.sendKey(clock.now());
    if (key === null) return 0;
    const a = p + HEADER_BYTES;
    putBe16(a, AFI_AUTH);
    putBe16(a + 2, AUTH_TYPE_MD5);
    putBe16(a + 4, <u16>dataLen);
    store<u8>(a + 6, <u8>key!.id);
    store<u8>(a + 7, <u8>DIGEST_BYTES);
    putBe32(a + 8, seq);
    store<u64>(a + 12, 0);
    const t = p + dataLen;
    putBe16(t, AFI_AUTH);
    putBe16(t + 2, 1);
    putKey(t + 4, key!);
    md5(p, dataLen + TRAILER_BYTES, t + 4);
    return dataLen + TRAILER_BYTES;
  }

  /**
   * Checks an authenticated datagram (p, len). Returns the length of its data part (header, auth
   * entry and route entries) when the digest is right, or a reason string's code: -1 and sets
   * `why`. The inbox is scratch: the trailer is overwritten with the key while checking.
   */
  verify(p: usize, len: usize): i32 {
    this.why = "";
    if (len < HEADER_BYTES + ENTRY_BYTES + TRAILER_BYTES || be16(p + HEADER_BYTES) != AFI_AUTH) { this.why = "missing authentication"; return -1; }
    const a = p + HEADER_BYTES;
    if (be16(a + 2) != AUTH_TYPE_MD5) { this.why = "authentication type " + be16(a + 2).toString() + " (md5 configured)"; return -1; }
    const dataLen = <usize>be16(a + 4);
    const authLen = <usize>load<u8>(a + 7);
    if (dataLen + TRAILER_BYTES != len || (dataLen - HEADER_BYTES) % ENTRY_BYTES != 0) { this.why = "packet length " + dataLen.toString() + " does not match"; return -1; }
    if (authLen != DIGEST_BYTES && authLen != TRAILER_BYTES) { this.why = "auth data length " + authLen.toString(); return -1; }
    const t = p + dataLen;
    if (be16(t) != AFI_AUTH || be16(t + 2) != 1) { this.why = "no authentication trailer"; return -1; }
    const id = <u32>load<u8>(a + 6);
    const key = this.acceptKey(id, clock.now());
    if (key === null) { this.why = "no key " + id.toString() + " valid for receiving"; return -1; }
    memory.copy(DIGEST + 0, t + 4, DIGEST_BYTES);
    putKey(t + 4, key!);
    md5(p, len, t + 4);
    if (memory.compare(DIGEST, t + 4, DIGEST_BYTES) != 0) { this.why = "wrong digest (key " + id.toString() + ")"; return -1; }
    this.lastSeq = be32(a + 8);
    return <i32>dataLen;
  }

  why: string = "";
  /** The sequence number of the datagram verify() accepted last. */
  lastSeq: u32 = 0;
}

/** The key, zero-padded (or cut) to 16 bytes, at `at`. */
function putKey(at: usize, key: Key): void {
  memory.fill(at, 0, DIGEST_BYTES);
  const n = <usize>key.secret.byteLength;
  memory.copy(at, changetype<usize>(key.secret), n < DIGEST_BYTES ? n : DIGEST_BYTES);
}

function secondsAt(key: string, fallback: f64): f64 {
  const s = settings.number(key, NaN);
  return isNaN(s) ? fallback : s * 1000;
}
