/** Runs the binaryen half of preparing a module (checks and instrumentation) in a worker thread. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ModulePolicy } from './check.js';
import type { CheckedModule } from './checked-bytes.js';
import type { CheckedModuleStore } from './checked-store.js';
import { type ClaimedModule, preparationKey } from './claimed.js';
import { ModuleRejected } from './errors.js';
import type { ModuleInspection } from './inspect.js';

/** Main thread → worker: one module to check and instrument. `bytes` is transferred. */
export interface PrepareRequest {
  id: number;
  bytes: Uint8Array<ArrayBuffer>;
  claimed: ClaimedModule;
  policy: ModulePolicy;
}
/** How a request failed, in a form that survives structured cloning (an Error's class does not). */
export type PrepareFailure =
  | { kind: 'rejected'; module: string; version: string; problems: string[] }
  | { kind: 'error'; name: string; message: string; stack: string };
/**
 * Worker → main thread. `runnable` is transferred. `info` crosses as is: structured cloning
 * keeps ModuleInspection's Map of exports (and its plain arrays and objects).
 */
export type PrepareReply =
  | { id: number; ok: true; runnable: Uint8Array; info: ModuleInspection }
  | { id: number; ok: false; failure: PrepareFailure };

interface Job {
  readonly request: PrepareRequest;
  readonly resolve: (checked: CheckedModule) => void;
  readonly reject: (error: Error) => void;
}

/** The worker failed in a way that is not about the module (it could not start, or it died). */
export class PreparerFailed extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PreparerFailed';
  }
}

/**
 * `bytes` over an ArrayBuffer of its own (a copy when it is a view into a larger buffer, such as
 * binaryen's heap or Node's Buffer pool), so that buffer can be transferred to the other thread.
 */
export function ownBuffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
    ? new Uint8Array(bytes.buffer)
    : new Uint8Array(bytes);
}

/** The failure as the same kind of error the work would have thrown on the main thread. */
function revive(failure: PrepareFailure): Error {
  if (failure.kind === 'rejected') return new ModuleRejected(failure.module, failure.version, failure.problems);
  const error = new Error(failure.message);
  error.name = failure.name;
  error.stack = `${failure.stack}\n    (in the module preparer's worker thread)`;
  return error;
}

/**
 * Starts the worker: the compiled prepare-worker.js when the host runs from build/host, the
 * TypeScript source when it runs under tsx. Node 20 does not apply `--import` loaders inside
 * worker threads (nodejs/node#47747, privatenumber/tsx#354: "Unknown file extension .ts"), so
 * for the source the worker registers tsx's ESM hooks itself, then imports the entry. It loads
 * binaryen before that: through tsx's hooks its 14 MB index.js gets a source map attached and
 * takes 5 s to load instead of 0.3 s (measured on the 2-core machine); loaded first, it is
 * already in the module map when the entry imports it.
 */
function startWorker(): Worker {
  // None of the process's node flags: the worker needs none, and a worker inheriting some of them
  // fails to start (--trace-gc, --cpu-prof: ERR_WORKER_INVALID_EXEC_ARGV; --input-type: its entry
  // can't load).
  const execArgv: string[] = [];
  const compiled = new URL('./prepare-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(compiled))) return new Worker(compiled, { execArgv });
  const source = new URL('./prepare-worker.ts', import.meta.url).href;
  const [binaryen, tsx] = [import.meta.resolve('binaryen'), import.meta.resolve('tsx/esm/api')].map((u) => JSON.stringify(u));
  const bootstrap =
    `import(${binaryen}).then(() => import(${tsx}))` + `.then((api) => { api.register(); return import(${JSON.stringify(source)}); });`;
  return new Worker(bootstrap, { eval: true, execArgv });
}

/**
 * Runs checkAndInstrument (host/modules/checked-bytes.ts: binaryen inspection, checks, fuel
 * metering, dirty-page instrumentation; 100+ ms for kv) in a worker thread, so preparing an
 * upgrade does not stall every component's sockets and timers on the engine's event loop.
 *
 * The worker starts on the first request and is reused. It is referenced only while a request is
 * in flight: an idle preparer never keeps the process alive, and a pending one can't be dropped
 * by the process exiting under it. Requests are served one at a time, in order. If the worker
 * dies, or fails with anything but a rejection (binaryen aborts leave its heap unusable), the
 * request fails and the next one gets a fresh worker. Its owner (the ModuleFactory of an engine,
 * host/component/module-factory.ts) creates it and closes it: there is no process-wide one.
 */
export class ModulePreparer {
  #worker: Worker | null = null;
  /** Checked modules kept on disk: an earlier run's on the same data directory, the build's seeds (null: none). */
  readonly #store: CheckedModuleStore | null;
  readonly #queue: Job[] = [];
  #current: Job | null = null;
  #nextId = 1;

  constructor(options: { store?: CheckedModuleStore } = {}) {
    this.#store = options.store ?? null;
  }

  /**
   * Checks and instruments `bytes` in the worker, or reads the result an earlier run kept in the
   * store. The bytes may be transferred: the caller's view can be left detached, so hand over a
   * copy you don't need any more.
   */
  async check(bytes: Uint8Array<ArrayBuffer>, claimed: ClaimedModule, policy: ModulePolicy): Promise<CheckedModule> {
    const store = this.#store;
    const key = store ? preparationKey(bytes, claimed, policy) : '';
    const stored = store?.read(key);
    if (stored) return stored;
    const checked = await new Promise<CheckedModule>((resolve, reject) => {
      this.#queue.push({ request: { id: this.#nextId++, bytes, claimed, policy }, resolve, reject });
      this.#pump();
    });
    store?.write(key, checked);
    return checked;
  }

  /** Terminates the worker; a request in flight or queued fails. A later request starts a new one. */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = null;
    const stopped = new PreparerFailed('the module preparer was closed');
    for (const job of this.#queue.splice(0)) job.reject(stopped);
    this.#current?.reject(stopped);
    this.#current = null;
    if (worker) await worker.terminate();
  }

  #pump(): void {
    if (this.#current) return;
    const job = this.#queue.shift();
    if (!job) {
      this.#worker?.unref();
      return;
    }
    this.#current = job;
    let worker: Worker;
    try {
      worker = this.#worker ?? this.#start();
    } catch (e) {
      this.#current = null;
      job.reject(new PreparerFailed(`module preparer worker could not start: ${(e as Error).message}`, { cause: e }));
      this.#pump();
      return;
    }
    worker.ref();
    const bytes = ownBuffer(job.request.bytes);
    worker.postMessage({ ...job.request, bytes }, [bytes.buffer]);
  }

  #start(): Worker {
    const worker = startWorker();
    this.#worker = worker;
    worker.on('message', (reply: PrepareReply) => this.#settle(worker, reply));
    worker.on('error', (e) => this.#lose(worker, new PreparerFailed(`module preparer worker failed: ${e.message}`, { cause: e })));
    worker.on('exit', (code) => this.#lose(worker, new PreparerFailed(`module preparer worker exited with code ${code}`)));
    return worker;
  }

  #settle(worker: Worker, reply: PrepareReply): void {
    const job = this.#current;
    if (worker !== this.#worker || !job || job.request.id !== reply.id) return;
    this.#current = null;
    if (reply.ok) job.resolve({ runnable: reply.runnable, info: reply.info });
    else {
      if (reply.failure.kind !== 'rejected') this.#retire(worker);
      job.reject(revive(reply.failure));
    }
    this.#pump();
  }

  /** The worker is gone (crashed, exited, or could not load): fail what it was doing, start afresh next time. */
  #lose(worker: Worker, error: Error): void {
    if (worker !== this.#worker) return;
    this.#worker = null;
    const job = this.#current;
    this.#current = null;
    job?.reject(error);
    this.#pump();
  }

  #retire(worker: Worker): void {
    this.#worker = null;
    void worker.terminate();
  }
}
