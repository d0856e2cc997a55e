/**
 * The namespace lab: owns a set of namespaces (named `<prefix>-<host>`, the prefix carrying the
 * process id so parallel runs never collide), the processes started in them and a temp dir, and
 * tears all of it down in `cleanup()`, also on exit and on signals (lab-registry.ts). The daemon,
 * ping, capture, route and engine helpers are reached through it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type BirdRipInstance, type BirdRipOptions, startBirdRip } from './bird.js';
import { type Capture, type CaptureOptions, startCapture } from './capture.js';
import { type EngineInstance, type EngineProcessOptions, startEngineIn } from './engine.js';
import { type FrrRipInstance, type FrrRipOptions, startFrrRip } from './frr.js';
import { type LabHandle, type LabProcess, type SpawnOptions, spawnInNamespace } from './lab-process.js';
import { labRegistry } from './lab-registry.js';
import { listNamespaces, removeNamespaceSync } from './namespaces.js';
import { runPing, startPing } from './ping.js';
import type { PingOptions, PingResult, PingStream, StreamPingOptions } from './ping-result.js';
import { type ExecOptions, type ExecResult, pidRunning, run, signalGroup, sleepSync } from './processes.js';
import { type RipListener, startRipListener } from './rip-listener.js';
import { type KernelRoute, routeOf, routesOf, type WaitForRouteOptions, type WaitForRouteResult, waitForRouteOf } from './routes.js';
import { TOOL_PATHS } from './tools.js';
import { addHost, addLink, addStub, type LinkInfo, type LinkOptions, type StubInfo, setLinkState } from './topology.js';

export interface LabOptions {
  /** Name prefix for namespaces. Default `hs<pid>` (+ `_<n>` for later labs in the same process). */
  prefix?: string;
  /** Progress messages (default: silent). */
  log?: (msg: string) => void;
}

export class Lab implements LabHandle {
  /** Prefix of every namespace this lab owns. */
  readonly prefix: string;
  /** Temporary directory for configs, sockets and logs; removed by cleanup unless `keepDir`. */
  readonly dir: string;
  /** Set to true to keep `dir` after cleanup (for post-mortem reading of daemon logs). */
  keepDir = false;

  readonly #log: (msg: string) => void;
  readonly #namespaces = new Map<string, string>(); // short name -> full namespace name
  readonly #ifCounters = new Map<string, number>(); // full namespace -> next ethN
  readonly #stubCounters = new Map<string, number>();
  readonly #procs = new Set<LabProcess>();
  #instances = 0;
  #cleaned = false;

  constructor(opts: LabOptions = {}) {
    const n = labRegistry.nextNumber();
    this.prefix = opts.prefix ?? `hs${process.pid}${n === 0 ? '' : `_${n}`}`;
    if (!/^[A-Za-z0-9_]+$/.test(this.prefix)) throw new Error(`bad lab prefix: ${this.prefix}`);
    this.#log = opts.log ?? (() => {});
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `netns-lab-${this.prefix}-`));
    // FRR drops to the `frr` user; it must be able to traverse into its instance directory.
    fs.chmodSync(this.dir, 0o711);
    // A namespace with our prefix can only be a leftover from an earlier process that had the
    // same pid and died without cleanup: remove it.
    for (const ns of listNamespaces()) {
      if (ns.startsWith(`${this.prefix}-`)) removeNamespaceSync(ns);
    }
    labRegistry.add(this);
  }

  /** Full namespace name for a host's short name (throws if unknown). */
  ns(name: string): string {
    const full = this.#namespaces.get(name) ?? ([...this.#namespaces.values()].includes(name) ? name : undefined);
    if (!full) throw new Error(`unknown host ${name} (create it with lab.host())`);
    return full;
  }

  /** Names of the hosts created so far (short names). */
  hosts(): string[] {
    return [...this.#namespaces.keys()];
  }

  note(msg: string): void {
    this.#log(msg);
  }

  instanceDir(kind: string, host: string): { dir: string; n: number } {
    const n = this.#instances++;
    const dir = path.join(this.dir, `${kind}-${host}-${n}`);
    fs.mkdirSync(dir, { mode: 0o755 });
    return { dir, n };
  }

  /** Creates namespace `<prefix>-<name>` (see topology.ts) and returns its full name. */
  async host(name: string): Promise<string> {
    this.#assertLive();
    if (!/^[A-Za-z0-9_.]+$/.test(name)) throw new Error(`bad host name: ${name}`);
    if (this.#namespaces.has(name)) throw new Error(`host ${name} exists`);
    const full = `${this.prefix}-${name}`;
    this.#namespaces.set(name, full); // before it exists, so cleanup removes a half-made one
    await addHost(full);
    this.#log(`host ${name} = netns ${full}`);
    return full;
  }

  /** Joins two hosts with a veth pair on `subnet` (e.g. "10.0.1.0/24" or a /30). */
  async link(a: string, b: string, subnet: string, opts: LinkOptions = {}): Promise<LinkInfo> {
    this.#assertLive();
    const nsA = this.ns(a);
    const nsB = this.ns(b);
    if (nsA === nsB) throw new Error('link() joins two different hosts; use stub() for a network inside one host');
    const ifA = opts.aIfname ?? this.#nextIfname(nsA);
    const ifB = opts.bIfname ?? this.#nextIfname(nsB);
    const info = await addLink(nsA, nsB, subnet, ifA, ifB, { a: opts.aHost ?? 1, b: opts.bHost ?? 2 });
    this.#log(`link ${a}:${ifA} ${info.a.cidr} <-> ${b}:${ifB} ${info.b.cidr}`);
    return info;
  }

  /** A stub network (a connected subnet with no neighbour) inside one host. */
  async stub(host: string, subnet: string, opts: { hostNum?: number; ifname?: string } = {}): Promise<StubInfo> {
    this.#assertLive();
    const full = this.ns(host);
    const n = this.#stubCounters.get(full) ?? 0;
    this.#stubCounters.set(full, n + 1);
    const info = await addStub(full, subnet, opts.ifname ?? `stub${n}`, opts.hostNum ?? 1);
    this.#log(`stub ${host}:${info.ifname} ${info.cidr}`);
    return info;
  }

  /** Sets an interface down or up (link failure experiments). */
  setLink(host: string, ifname: string, up: boolean): Promise<void> {
    return setLinkState(this.ns(host), ifname, up);
  }

  /** Runs a command inside a host's namespace and returns its stdout; rejects on failure or timeout. */
  async exec(host: string, cmd: string, args: string[] = [], opts: ExecOptions = {}): Promise<string> {
    return (await this.execFull(host, cmd, args, opts)).stdout;
  }

  /** Like exec, but returns stdout, stderr and the exit code. */
  execFull(host: string, cmd: string, args: string[] = [], opts: ExecOptions = {}): Promise<ExecResult> {
    this.#assertLive();
    return run(TOOL_PATHS.ip, ['netns', 'exec', this.ns(host), cmd, ...args], opts);
  }

  /** Starts a long-lived process inside a host's namespace (see lab-process.ts). */
  spawn(host: string, cmd: string, args: string[] = [], opts: SpawnOptions = {}): LabProcess {
    this.#assertLive();
    const full = this.ns(host);
    const label = opts.label ?? `${host}-${path.basename(cmd)}`;
    const proc = spawnInNamespace(full, cmd, args, { ...opts, label, logDir: this.dir, onStopped: (p) => this.#procs.delete(p) });
    this.#procs.add(proc);
    const shown = args.map((a) => (a.length > 60 ? `${a.slice(0, 40).replace(/\s+/g, ' ')}…` : a)).join(' ');
    this.#log(`spawn [${proc.pid}] ${full}: ${cmd} ${shown}`);
    return proc;
  }

  startFrrRip(host: string, opts: FrrRipOptions): Promise<FrrRipInstance> {
    this.#assertLive();
    return startFrrRip(this, host, opts);
  }

  startBirdRip(host: string, opts: BirdRipOptions): Promise<BirdRipInstance> {
    this.#assertLive();
    return startBirdRip(this, host, opts);
  }

  startEngine(host: string, opts: EngineProcessOptions): Promise<EngineInstance> {
    this.#assertLive();
    return startEngineIn(this, host, opts);
  }

  routes(host: string): Promise<KernelRoute[]> {
    return routesOf(this, host);
  }

  route(host: string, prefix: string, opts: Pick<WaitForRouteOptions, 'via' | 'protocol'> = {}): Promise<KernelRoute | undefined> {
    return routeOf(this, host, prefix, opts);
  }

  waitForRoute(host: string, prefix: string, timeoutMs: number, opts: WaitForRouteOptions = {}): Promise<WaitForRouteResult> {
    return waitForRouteOf(this, host, prefix, timeoutMs, opts);
  }

  ping(host: string, dst: string, opts: PingOptions = {}): Promise<PingResult> {
    return runPing(this, host, dst, opts);
  }

  startPing(host: string, dst: string, opts: StreamPingOptions = {}): PingStream {
    return startPing(this, host, dst, opts);
  }

  startCapture(host: string, ifname: string, opts: CaptureOptions = {}): Capture {
    return startCapture(this, host, ifname, opts);
  }

  startRipListener(host: string, ifaddrs: string[], opts: { maxDurationMs?: number } = {}): RipListener {
    return startRipListener(this, host, ifaddrs, opts);
  }

  /**
   * Stops every process (SIGTERM, then SIGKILL), kills anything else still inside our
   * namespaces, deletes the namespaces (which deletes their veths) and removes the temp dir.
   * Idempotent.
   */
  async cleanup(): Promise<void> {
    if (this.#cleaned) return;
    this.#cleaned = true;
    // The processes' handles are unref'd: without this the event loop could run empty while a
    // stop waits for an exit, and the test process would end mid-cleanup ("Exiting early").
    const keepAlive = setInterval(() => {}, 1000);
    try {
      await Promise.all([...this.#procs].map((p) => p.stop(2000).catch(() => {})));
    } finally {
      clearInterval(keepAlive);
    }
    for (const full of this.#namespaces.values()) removeNamespaceSync(full);
    this.#finish();
  }

  /** Synchronous cleanup for exit/signal handlers, where promises no longer run. */
  cleanupSync(): void {
    if (this.#cleaned) return;
    this.#cleaned = true;
    const pids = [...this.#procs].filter((p) => p.running()).map((p) => p.pid);
    for (const pid of pids) signalGroup(pid, 'SIGTERM');
    const deadline = Date.now() + 1500;
    while (pids.some(pidRunning) && Date.now() < deadline) sleepSync(20);
    for (const pid of pids) if (pidRunning(pid)) signalGroup(pid, 'SIGKILL');
    for (const full of this.#namespaces.values()) removeNamespaceSync(full);
    this.#finish();
  }

  #nextIfname(full: string): string {
    const n = this.#ifCounters.get(full) ?? 0;
    this.#ifCounters.set(full, n + 1);
    return `eth${n}`;
  }

  #assertLive(): void {
    if (this.#cleaned) throw new Error(`lab ${this.prefix} was cleaned up`);
  }

  #finish(): void {
    this.#procs.clear();
    this.#namespaces.clear();
    labRegistry.delete(this);
    if (!this.keepDir) fs.rmSync(this.dir, { recursive: true, force: true });
    this.#log(`lab ${this.prefix} cleaned up`);
  }
}
