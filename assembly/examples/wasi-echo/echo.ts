// The `wasi-echo` example: a module built with @assemblyscript/wasi-shim, so `console.log`,
// `console.error`, `Date.now` and `Math.random` go through WASI (fd_write, clock_time_get,
// random_get). The engine captures its stdout and stderr into its log under the component's name.
// (stderr through `process.stderr`).
// Protocol: any line → "ECHO <n> <line>", where n counts messages across every version (it
// lives in persistent memory); "WHEN" → the WASI clock; "ERR <text>" writes text to stderr.
import { App, Message, reply, root, palloc } from "../../sdk";

export class EchoApp extends App {
  constructor(private readonly ver: string) { super(); }

  get version(): string { return this.ver; }

  onInit(): bool {
    const counter = palloc(4);
    store<u32>(counter, 0);
    root.set(counter);
    console.log("wasi-echo " + this.ver + " initialised");
    return true;
  }

  onRestart(): bool {
    console.log("wasi-echo " + this.ver + " restarted after " + load<u32>(root.get()).toString() + " messages");
    return root.get() != 0;
  }

  onMessage(msg: Message): void {
    const text = msg.text().trimEnd();
    const n = load<u32>(root.get()) + 1;
    store<u32>(root.get(), n);
    if (text.startsWith("ERR ")) {
      // The shim's console.error writes to stdout; process.stderr is WASI fd 2.
      process.stderr.write(text.substring(4) + "\n");
      reply("LOGGED");
    } else if (text == "WHEN") {
      reply("NOW " + Date.now().toString() + " RANDOM " + (Math.random() < 1.0 ? "ok" : "bad"));
    } else {
      console.log(this.ver + " echoing message " + n.toString());
      reply("ECHO " + n.toString() + " " + text);
    }
  }

  status(): string {
    return "wasi-echo " + this.ver + ": " + load<u32>(root.get()).toString() + " messages\n";
  }
}
