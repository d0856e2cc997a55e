// The callback glue: the Wasm exports of docs/ABI.md, mapped onto the registered App.
// Re-export this file from a module's entry: `export * from "../../sdk/exports";`
// Every `export function` here is an export of the ABI: scripts/gen-abi.ts fails the build
// unless they are exactly EXPORTS of host/abi/abi.ts, with its signatures (one line each).
import {
  ABI_VERSION, HEADER_OFFSET, HEADER_MAGIC, MEMORY_BASE, FLAG_INITIALISED,
  HDR_MAGIC, HDR_ABI_VERSION, HDR_LAYOUT_VERSION, HDR_FLAGS,
  START_OK, START_BAD_HEADER, START_REFUSED, START_LAYOUT_MISMATCH, MIGRATE_OK, MIGRATE_REFUSED,
  BATCH_TABLE_OFFSET, BATCH_RECORD_SIZE,
} from "./generated/abi";
import { hs_next_message } from "./generated/imports";
import { theApp, root } from "./app";
import { Message, output } from "./host";
import { pallocReset } from "./palloc";

export function abi_version(): u32 { return ABI_VERSION; }
export function layout_version(): u32 { return theApp().layoutVersion; }

/** INIT over a fresh memory. The header is written last, so a failed init leaves no magic. */
export function init(header: u32): i32 {
  if (header != HEADER_OFFSET) return START_BAD_HEADER;
  pallocReset(<usize>MEMORY_BASE);
  root.set(0);
  const app = theApp();
  if (!app.onInit()) return START_REFUSED;
  store<u32>(HEADER_OFFSET + HDR_ABI_VERSION, ABI_VERSION);
  store<u32>(HEADER_OFFSET + HDR_LAYOUT_VERSION, app.layoutVersion);
  store<u32>(HEADER_OFFSET + HDR_FLAGS, FLAG_INITIALISED);
  store<u32>(HEADER_OFFSET + HDR_MAGIC, HEADER_MAGIC); // commit
  return START_OK;
}

/** RESTART over memory written by an earlier version (after migrate, if the layout changed). */
export function restart(header: u32): i32 {
  if (header != HEADER_OFFSET || load<u32>(HEADER_OFFSET + HDR_MAGIC) != HEADER_MAGIC) return START_BAD_HEADER;
  const app = theApp();
  if (load<u32>(HEADER_OFFSET + HDR_LAYOUT_VERSION) != app.layoutVersion) return START_LAYOUT_MISMATCH;
  return app.onRestart() ? START_OK : START_REFUSED;
}

export function term(): void { theApp().onTerm(); }
export function hold(): void { theApp().onHold(); }

// One Message object, refilled per event: allocating one per message would cost a GC allocation
// on the hottest path. Handlers must not keep it past their return (docs/SDK.md).
const message = new Message();
export function on_message(channel: u32, len: u32): void {
  message.fromInbox(channel, len);
  theApp().onMessage(message);
}

/**
 * A batch of messages (docs/ABI.md, "Batched messages"): one call for many, each still its own
 * event for the host, which starts it when hs_next_message hands out its record.
 */
export function on_messages(count: u32): void {
  const app = theApp();
  for (let i = hs_next_message(); i >= 0; i = hs_next_message()) {
    message.fromRecord(BATCH_TABLE_OFFSET + <usize>i * BATCH_RECORD_SIZE);
    app.onMessage(message);
  }
}
export function on_timer(id: u32): void { theApp().onTimer(id); }
export function on_signal(signo: u32): void { theApp().onSignal(signo); }

export function version(): void { output(theApp().version); }
export function status(): void { output(theApp().status()); }

/** Upgrades the data layout to this module's; the header's layout version changes on success only. */
export function migrate(from: u32): i32 {
  const app = theApp();
  if (!app.migrate(from)) return MIGRATE_REFUSED;
  store<u32>(HEADER_OFFSET + HDR_LAYOUT_VERSION, app.layoutVersion); // commit
  return MIGRATE_OK;
}

/** Downgrades the data layout to `to` before an older module takes over. */
export function migrate_down(to: u32): i32 {
  if (!theApp().migrateDown(to)) return MIGRATE_REFUSED;
  store<u32>(HEADER_OFFSET + HDR_LAYOUT_VERSION, to); // commit
  return MIGRATE_OK;
}
