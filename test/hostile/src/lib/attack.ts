// Shared by the attack-*.ts modules of test/quota-corpus*.test.ts: kv's own code (so the data
// layout, and every key kv 1.0.0 wrote, stay as they are) plus the trigger. A request
// "ATTACK [arg]" runs the module's attack; every other request is kv's.
// Not an entry itself: scripts/build-modules.ts compiles the files of src/, not of src/lib/.
import { Message, reply } from "../../../../assembly/sdk";
import { KvApp } from "../../../../assembly/examples/kv/kv";
import { BUS_CHANNEL } from "../../../../assembly/sdk/generated/abi";
import { hs_send } from "../../../../assembly/sdk/generated/imports";

/** Bytes that live for the whole instance (encoded once, so an attack loop allocates nothing). */
export class Blob {
  readonly ptr: usize;
  readonly len: usize;
  constructor(readonly buf: ArrayBuffer) {
    this.ptr = changetype<usize>(buf);
    this.len = <usize>buf.byteLength;
  }
  static of(text: string): Blob { return new Blob(String.UTF8.encode(text)); }
  /** `len` bytes of one character (a log line, an output chunk, a reply). */
  static filled(len: i32, c: u8): Blob {
    const buf = new ArrayBuffer(len);
    memory.fill(changetype<usize>(buf), c, <usize>len);
    return new Blob(buf);
  }
}

/** Sends `payload` to component `to` over the bus; the host's result code (negative = refused). */
export function busSend(to: Blob, payload: Blob): i32 {
  return hs_send(BUS_CHANNEL, to.ptr, to.len, payload.ptr, payload.len);
}

/** The word after "ATTACK " ("" when there is none). */
export function attackArg(msg: Message): string {
  const text = msg.text().trimEnd();
  return text.length > 7 ? text.substring(7) : "";
}

/** Tallies host result codes: how many calls went through, were over a quota, failed otherwise. */
export class Tally {
  ok: u32 = 0;
  quota: u32 = 0;
  other: u32 = 0;
  count(code: i32): void {
    if (code >= 0) this.ok++;
    else if (code == -6) this.quota++;
    else this.other++;
  }
  toString(): string { return "ok=" + this.ok.toString() + " quota=" + this.quota.toString() + " other=" + this.other.toString(); }
}

/** kv with an attack behind "ATTACK"; bus messages go to onBus (kv would reply to them). */
export abstract class AttackApp extends KvApp {
  onMessage(msg: Message): void {
    if (msg.fromComponent) { this.onBus(msg); return; }
    const text = msg.text();
    if (text.startsWith("ATTACK")) { this.attack(msg); return; }
    super.onMessage(msg);
  }
  /** The attack, run for each "ATTACK" request. */
  abstract attack(msg: Message): void;
  /** A message from another component (or from itself): ignored unless the attack uses it. */
  onBus(msg: Message): void {}
}

export { reply };
