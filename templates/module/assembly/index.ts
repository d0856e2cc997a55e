// __NAME__: a counter. Every message but GET adds one; each answers the count. The count lives
// in persistent memory, so it survives every upgrade (docs/SDK.md in wasm-hotswap).
export * from "wasm-hotswap/assembly/exports"; // the ABI's callbacks: init, on_message, …
import { App, Message, palloc, register, reply, root } from "wasm-hotswap/assembly";

const VERSION = "1.0.0";

class Counter extends App {
  get version(): string { return VERSION; }

  /** INIT, over a fresh memory: the persistent root is one u64, the count. */
  onInit(): bool {
    const p = palloc(8);
    store<u64>(p, 0);
    root.set(p); // published last: a trap before this leaves no half-made root
    return true;
  }

  /** RESTART, after an upgrade: the count is already there. */
  onRestart(): bool { return root.get() != 0; }

  onMessage(msg: Message): void {
    const p = root.get();
    if (msg.text().trim() != "GET") store<u64>(p, load<u64>(p) + 1); // one store commits it
    reply(load<u64>(p).toString());
  }

  status(): string { return `count ${load<u64>(root.get())}\n`; }
}

register(new Counter());
