/**
 * The paths the dispatch case measures, built here so that bench/cases/dispatch.ts is only the
 * rounds and the results: the workload, the plain-JS component behind the same queue, the
 * queue-less instance, the bare kv export and the call floor (bench/cases/dispatch.ts says
 * what each one isolates).
 */

import binaryen from 'binaryen';
import { ACTIVATE_EXPORT, HEADER_OFFSET, INBOX_DATA, INBOX_OFFSET, InboxField } from '../../host/abi/abi.js';
import { buildImports, type HostServices } from '../../host/abi/imports.js';
import { inertHost } from '../../host/abi/inert-host.js';
import { PersistentMemory } from '../../host/abi/memory.js';
import { EventQueue } from '../../host/component/event-queue.js';
import type { ComponentEvent, ReplyTarget } from '../../host/component/events.js';
import { ModuleInstance } from '../../host/component/instance.js';
import type { PreparedModule } from '../../host/modules/prepared.js';
import { handleKvLine } from '../peers/dgram-kv-server.js';
import { ReplyCounter } from './kv-engine.js';

const DISTINCT = 1024;
const BATCH = 4096;

const pad = (s: string, n: number): string => s + 'x'.repeat(n - s.length);
export const getKey = (i: number): string => pad(`g${i}-`, 60);
const setKey = (i: number): string => pad(`s${i}-`, 40);
const setValue = (i: number): string => pad(`v${i}-`, 19);

/** The 64-byte request payloads, GET and SET interleaved; prefill stores the GET keys. */
export function workload(): { prefill: Buffer[]; requests: Buffer[] } {
  const prefill: Buffer[] = [];
  const requests: Buffer[] = [];
  for (let i = 0; i < DISTINCT; i++) {
    prefill.push(Buffer.from(`SET ${getKey(i)} value-${i}`));
    const get = Buffer.from(`GET ${getKey(i)}`);
    const set = Buffer.from(`SET ${setKey(i)} ${setValue(i)}`);
    if (get.byteLength !== 64 || set.byteLength !== 64) throw new Error('requests must be 64 bytes');
    requests.push(get, set);
  }
  return { prefill, requests };
}

/**
 * The plain-JS counterpart of Component: the same EventQueue, the same drain discipline
 * (schedule once with setImmediate, peek/shift until empty), one handler call per event.
 */
export class JsKvComponent {
  readonly #queue = new EventQueue<ComponentEvent>();
  readonly #store = new Map<string, string>();
  #scheduled = false;

  enqueue(event: ComponentEvent): void {
    this.#queue.push(event);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#drain);
    }
  }

  readonly #drain = (): void => {
    this.#scheduled = false;
    let event: ComponentEvent | undefined;
    while ((event = this.#queue.peek()) !== undefined) {
      this.#queue.shift();
      if (event.kind === 'message') event.replyTo?.reply(jsHandle(this.#store, event.payload));
    }
  };
}

/** The JS handler: the dgram baseline's protocol code, with the reply as bytes like hs.reply gives. */
export function jsHandle(store: Map<string, string>, payload: Buffer): Buffer {
  return Buffer.from(handleKvLine(store, payload.toString('latin1')), 'latin1');
}

export interface Enqueuer {
  enqueue(event: ComponentEvent): void;
}

/** Events per second through a queue: enqueue in bounded batches, wait for every reply. */
export async function throughQueue(
  target: Enqueuer,
  events: readonly ComponentEvent[],
  replies: ReplyCounter,
  total: number,
): Promise<number> {
  const start = replies.count;
  const t0 = performance.now();
  for (let sent = 0; sent < total; ) {
    const n = Math.min(BATCH, total - sent);
    for (let i = 0; i < n; i++) target.enqueue(events[(sent + i) % events.length]!);
    sent += n;
    await replies.until(start + sent);
  }
  return total / ((performance.now() - t0) / 1000);
}

/** Calls `step(i)` `total` times and returns calls per second. */
export function loop(total: number, step: (i: number) => void): number {
  const t0 = performance.now();
  for (let i = 0; i < total; i++) step(i);
  return total / ((performance.now() - t0) / 1000);
}

/** A HostServices with no effects except counting replies (for the no-queue paths). */
export function replyingHost(memory: PersistentMemory, replies: ReplyTarget): HostServices {
  return inertHost(memory, { reply: (bytes) => replies.reply(bytes) });
}

/** ModuleInstance over its own memory, with the real import object: the glue without the queue. */
export function instancePath(module: PreparedModule, payloads: readonly Buffer[], prefill: readonly Buffer[]) {
  const memory = new PersistentMemory({ maxBytes: 512 * 1024 * 1024 });
  memory.ensurePages(module.minPages);
  const replies = new ReplyCounter();
  const instance = new ModuleInstance(module, buildImports(replyingHost(memory, replies)), { memory });
  if (instance.init() !== 0) throw new Error('init failed');
  const send = (p: Buffer): void => {
    memory.writeInbox(0, p, '127.0.0.1:40000', undefined);
    instance.onMessage(0, p.byteLength);
  };
  prefill.forEach(send);
  return (total: number): number => loop(total, (i) => send(payloads[i % payloads.length]!));
}

/**
 * A kv instance on its own memory, initialised, with hs.reply a no-op: what the bare-handler
 * measures here and in cases/instrumentation.ts start from. The host sets no fuel: each export's
 * trampoline refills its own budget (host/modules/fuel.ts), as in a component.
 */
export function bareKv(module: PreparedModule): {
  onMessage: (channel: number, len: number) => number;
  meta: Uint32Array;
  bytes: Uint8Array;
} {
  const memory = new PersistentMemory({ maxBytes: 512 * 1024 * 1024 });
  memory.ensurePages(module.minPages);
  const imports = buildImports(replyingHost(memory, new ReplyCounter()));
  (imports.hs as Record<string, unknown>).reply = (): number => 0;
  const ex = new WebAssembly.Instance(module.compiled, imports).exports as Record<string, (...a: number[]) => number>;
  // A prepared module's data segments and top-level code wait in its activation export
  // (docs/ABI.md, "Activation"): a component runs it in the swap, a bare instance here.
  ex[ACTIVATE_EXPORT]?.();
  if (ex.init!(HEADER_OFFSET) !== 0) throw new Error('init failed');
  return {
    onMessage: ex.on_message!,
    meta: new Uint32Array(memory.memory.buffer, INBOX_OFFSET, 4),
    bytes: new Uint8Array(memory.memory.buffer),
  };
}

/** The kv export itself: inbox written through cached views, hs.reply a no-op. */
export function barePath(module: PreparedModule, payloads: readonly Buffer[], prefill: readonly Buffer[]) {
  const { onMessage, meta, bytes } = bareKv(module);
  const send = (p: Buffer): void => {
    meta[InboxField.length >>> 2] = p.byteLength;
    bytes.set(p, INBOX_DATA);
    onMessage(0, p.byteLength);
  };
  prefill.forEach(send);
  return (total: number): number => loop(total, (i) => send(payloads[i % payloads.length]!));
}

/**
 * The floor the ABI itself sets: copy the 64 bytes into the inbox and call a trivial export
 * (`layout_version`), i.e. what dispatch would cost with a handler that does nothing.
 */
export function callFloor(module: PreparedModule, payloads: readonly Buffer[]) {
  const memory = new PersistentMemory({ maxBytes: 512 * 1024 * 1024 });
  memory.ensurePages(module.minPages);
  const ex = new WebAssembly.Instance(module.compiled, buildImports(replyingHost(memory, new ReplyCounter()))).exports as Record<
    string,
    () => number
  >;
  ex[ACTIVATE_EXPORT]?.(); // as in bareKv
  const trivial = ex.layout_version!;
  const bytes = new Uint8Array(memory.memory.buffer);
  const meta = new Uint32Array(memory.memory.buffer, INBOX_OFFSET, 4);
  return (total: number): number =>
    loop(total, (i) => {
      const p = payloads[i % payloads.length]!;
      meta[InboxField.length >>> 2] = p.byteLength;
      bytes.set(p, INBOX_DATA);
      trivial();
    });
}

/** The module's bytes without its on_messages export: a module built before batches existed. */
export function withoutBatchExport(bytes: Uint8Array): Uint8Array {
  const mod = binaryen.readBinary(bytes);
  try {
    mod.removeExport('on_messages');
    return new Uint8Array(mod.emitBinary());
  } finally {
    mod.dispose();
  }
}
