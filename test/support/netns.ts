/**
 * Network-namespace lab harness for RIPv2 interoperability tests.
 *
 * Builds small topologies of Linux network namespaces joined by veth pairs,
 * runs real routing daemons (FRR 8.4 zebra+ripd, BIRD 2.0.x) inside them with
 * fast timers, and offers the queries a test needs: kernel routes, waiting for
 * a route, ping with per-sequence loss accounting, packet capture and a Node
 * RIP listener running inside a namespace.
 *
 * Why a namespace lab: the hot-swap engine must interoperate with real routers
 * and keep forwarding while it upgrades itself. Only real daemons and real
 * kernel routing tables show that; mocks would only repeat our own assumptions.
 *
 * Rules this file keeps (they are workplace rules, not style):
 * - Traffic stays inside namespaces this lab creates (or loopback).
 * - Every wait/poll loop is bounded in time.
 * - Everything started is torn down by `cleanup()`, also on process exit and on
 *   SIGINT/SIGTERM/SIGHUP, and every name carries a per-process prefix so that
 *   parallel runs never collide.
 *
 * Needs root, iproute2, iputils-ping, tcpdump, frr and bird2 (Debian packages).
 * Only Node built-ins are used.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

// ---------------------------------------------------------------------------
// Paths of external tools. Kept in one place so that a distribution with other
// paths needs one edit.
// ---------------------------------------------------------------------------
export const TOOL_PATHS = {
  ip: "ip",
  zebra: "/usr/lib/frr/zebra",
  ripd: "/usr/lib/frr/ripd",
  vtysh: "vtysh",
  bird: "bird",
  birdc: "birdc",
  ping: "ping",
  tcpdump: "tcpdump",
} as const;

/** The repository root (this file is test/support/netns.ts). */
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Default bound for a single command run through `exec`. */
const DEFAULT_EXEC_TIMEOUT_MS = 15_000;

// ---------------------------------------------------------------------------
// Availability check
// ---------------------------------------------------------------------------

export type Availability = { ok: true } | { ok: false; reason: string };

/** Finds an executable by absolute path or on $PATH. */
function findExecutable(name: string): string | undefined {
  const candidates = name.includes("/")
    ? [name]
    : (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin")
        .split(":")
        .concat(["/usr/sbin", "/sbin"]) // root tools live here even when PATH lacks them
        .map((dir) => path.join(dir, name));
  for (const c of candidates) {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      return c;
    } catch {
      /* try next */
    }
  }
  return undefined;
}

/**
 * Tells whether this machine can run the lab, and if not, exactly what is
 * missing, so that a test can skip with a useful message instead of failing.
 * Synchronous on purpose: it is meant for test-suite setup code.
 */
export function netnsAvailable(): Availability {
  const missing: string[] = [];
  if (process.platform !== "linux") return { ok: false, reason: `network namespaces need Linux, this is ${process.platform}` };
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    missing.push(`root privileges (running as uid ${process.getuid()})`);
  }
  const tools: Array<[string, string]> = [
    [TOOL_PATHS.ip, "iproute2 (`ip`)"],
    [TOOL_PATHS.zebra, "FRR zebra (/usr/lib/frr/zebra, package frr)"],
    [TOOL_PATHS.ripd, "FRR ripd (/usr/lib/frr/ripd, package frr)"],
    [TOOL_PATHS.vtysh, "FRR vtysh (package frr)"],
    [TOOL_PATHS.bird, "BIRD (`bird`, package bird2)"],
    [TOOL_PATHS.birdc, "BIRD client (`birdc`, package bird2)"],
    [TOOL_PATHS.ping, "iputils ping (package iputils-ping)"],
  ];
  for (const [tool, label] of tools) {
    if (!findExecutable(tool)) missing.push(label);
  }
  if (missing.length === 0) {
    // `ip netns list` only reads /run/netns; adding and deleting a namespace is
    // the real test (it fails in containers without CAP_SYS_ADMIN).
    const probe = `hsprobe${process.pid}`;
    try {
      execFileSync(TOOL_PATHS.ip, ["netns", "add", probe], { stdio: "pipe", timeout: 5000 });
      execFileSync(TOOL_PATHS.ip, ["netns", "del", probe], { stdio: "pipe", timeout: 5000 });
    } catch (err) {
      missing.push(`working \`ip netns add\` (${oneLine(errText(err))})`);
      try {
        execFileSync(TOOL_PATHS.ip, ["netns", "del", probe], { stdio: "pipe", timeout: 5000 });
      } catch {
        /* was never created */
      }
    }
  }
  if (missing.length > 0) return { ok: false, reason: `missing: ${missing.join("; ")}` };
  return { ok: true };
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

function errText(err: unknown): string {
  if (err && typeof err === "object") {
    const e = err as { stderr?: unknown; message?: unknown };
    const stderr = e.stderr ? String(e.stderr).trim() : "";
    return stderr || String(e.message ?? err);
  }
  return String(err);
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Synchronous sleep for exit handlers, where the event loop no longer runs. */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM means it exists but belongs to someone else: still alive.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Zombies count as dead: they hold no sockets and cannot be killed further. */
function pidRunning(pid: number): boolean {
  if (!pidAlive(pid)) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

function ipToInt(ip: string): number {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${ip}`);
  }
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

function intToIp(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Parses "10.0.1.0/24" into its network address and length (host bits cleared). */
export function parseCidr(cidr: string): { network: string; len: number } {
  const m = /^(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?$/.exec(cidr.trim());
  if (!m) throw new Error(`not an IPv4 prefix: ${cidr}`);
  const len = m[2] === undefined ? 32 : Number(m[2]);
  if (len < 0 || len > 32) throw new Error(`bad prefix length in ${cidr}`);
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return { network: intToIp((ipToInt(m[1]!) & mask) >>> 0), len };
}

/** The n-th host address of a subnet: hostAddr("10.0.1.0/24", 2) = "10.0.1.2". */
export function hostAddr(subnet: string, n: number): string {
  const { network, len } = parseCidr(subnet);
  const size = 2 ** (32 - len);
  if (len < 31 && (n <= 0 || n >= size - 1)) throw new Error(`host ${n} does not fit in ${subnet}`);
  return intToIp((ipToInt(network) + n) >>> 0);
}

/** Normalises "10.0.0.1" and "10.0.0.1/32" (ip -j prints host routes without /32). */
export function normalizePrefix(p: string): string {
  if (p === "default") return "0.0.0.0/0";
  const { network, len } = parseCidr(p);
  return `${network}/${len}`;
}

// ---------------------------------------------------------------------------
// Exit handling: one process-wide registry, so a crashing test still tears
// its namespaces and daemons down.
// ---------------------------------------------------------------------------

const liveLabs = new Set<Lab>();
let handlersInstalled = false;

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // 'exit' also fires after an uncaught exception or an unhandled rejection.
  process.on("exit", () => {
    for (const lab of [...liveLabs]) lab.cleanupSync();
  });
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = (): void => {
      for (const lab of [...liveLabs]) lab.cleanupSync();
      // Re-raise with the default action so the exit status says "signal".
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

let labCounter = 0;

// ---------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------

export interface ExecOptions {
  /** Kill the command after this long (default 15 s). */
  timeoutMs?: number;
  /** Written to the command's stdin. */
  input?: string;
  /** Resolve even on a non-zero exit (default false: reject with stderr). */
  allowFailure?: boolean;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface SpawnOptions {
  /** Name for the log file and messages; defaults to the command's basename. */
  label?: string;
  /**
   * Pipe stdout/stderr to the caller (child.stdout/stderr readable) instead of
   * writing them to `<lab dir>/<label>.log`. Piped streams keep Node alive.
   */
  pipe?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** A long-lived process in a namespace; `lab.cleanup()` kills it. */
export interface LabProcess {
  readonly ns: string;
  readonly label: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Path of the file collecting stdout+stderr (undefined when piped). */
  readonly logFile: string | undefined;
  /** Resolves with the exit code (or signal name) when the process has ended. */
  readonly exited: Promise<number | string>;
  running(): boolean;
  /** SIGTERM, then SIGKILL after graceMs (default 3 s). Idempotent. */
  stop(graceMs?: number): Promise<void>;
  /** Current content of the log file ("" when piped). */
  log(): string;
}

export interface Endpoint {
  /** Full namespace name. */
  ns: string;
  /** Interface name inside that namespace. */
  ifname: string;
  /** Address without length, e.g. "10.0.1.1". */
  addr: string;
  /** Address with length, e.g. "10.0.1.1/24". */
  cidr: string;
}

export interface LinkInfo {
  subnet: string;
  a: Endpoint;
  b: Endpoint;
}

export interface LinkOptions {
  /** Host number of a's address in the subnet (default 1). */
  aHost?: number;
  /** Host number of b's address in the subnet (default 2). */
  bHost?: number;
  /** Interface names (default eth0, eth1, … numbered per namespace). */
  aIfname?: string;
  bIfname?: string;
}

export interface StubInfo {
  ns: string;
  subnet: string;
  /** The addressed end (a connected route for `subnet` appears on it). */
  ifname: string;
  /** The other end, also up and in the same namespace, unaddressed. */
  peerIfname: string;
  addr: string;
  cidr: string;
}

/** One entry of `ip -j route show`. Only fields we rely on are typed. */
export interface KernelRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  metric?: number;
  prefsrc?: string;
  flags: string[];
  [key: string]: unknown;
}

export interface WaitForRouteOptions {
  /** Only accept a route via this gateway. */
  via?: string;
  /** Only accept a route with this protocol ("rip", "bird", "kernel", …). */
  protocol?: string;
  /** Wait for the route to be ABSENT instead (e.g. after a withdrawal). */
  absent?: boolean;
  /** Poll period (default 100 ms). */
  pollMs?: number;
}

export interface WaitForRouteResult {
  route: KernelRoute | undefined;
  /** Milliseconds from the call until the condition held. */
  elapsedMs: number;
}

export interface PingOptions {
  /** Number of echo requests (default 10). */
  count?: number;
  /** Interval between requests in ms (default 50; < 200 needs root). */
  intervalMs?: number;
  /** Seconds to wait for the last reply (ping -W, default 1). */
  replyWaitS?: number;
  /** ICMP payload size (ping -s). */
  size?: number;
  /** Source address or interface (ping -I). */
  source?: string;
}

export interface PingReply {
  seq: number;
  rttMs: number;
  ttl: number;
  /** Unix time in seconds, from ping -D. */
  at: number;
  from: string;
}

/** A run of consecutive sequence numbers without a reply. */
export interface PingOutage {
  fromSeq: number;
  toSeq: number;
  count: number;
  /** count × interval: the forwarding gap as seen by this probe. */
  approxMs: number;
}

export interface PingResult {
  dst: string;
  intervalMs: number;
  /** Requests sent (from the summary line, else highest seq seen). */
  sent: number;
  /** Distinct sequence numbers answered. */
  received: number;
  lost: number;
  /** Sequence numbers (1-based) never answered. */
  lostSeqs: number[];
  outages: PingOutage[];
  /** Longest outage in ms (0 when nothing was lost). */
  maxOutageMs: number;
  replies: PingReply[];
  duplicates: number;
  /** ICMP errors and send errors, e.g. "From 10.0.1.1 icmp_seq=3 Destination Net Unreachable". */
  errors: string[];
  rtt: { min: number; avg: number; max: number } | undefined;
  /** Raw output, for debugging a failed assertion. */
  raw: string;
}

export interface PingStream {
  readonly dst: string;
  /** Replies so far (live). */
  readonly replies: PingReply[];
  /** Stops ping (SIGINT, so it prints its summary) and returns the result. */
  stop(): Promise<PingResult>;
}

export interface StreamPingOptions extends Omit<PingOptions, "count"> {
  /** Hard upper bound: ping exits by itself after this long (default 600 s). */
  maxDurationMs?: number;
  /** Called for every reply as it arrives. */
  onReply?: (reply: PingReply) => void;
}

export interface RipTimers {
  update: number;
  timeout: number;
  garbage: number;
}

export interface FrrRipOptions {
  /** `network` statements: prefixes (enable RIP on interfaces inside) or interface names. */
  networks: string[];
  /** `redistribute connected` (how stub networks get advertised). */
  redistributeConnected?: boolean;
  /** Seconds; FRR's floor is 5/15/10 (`timers basic 5 15 10`), which is the default here. */
  timers?: RipTimers;
  /** `passive-interface` statements. */
  passiveInterfaces?: string[];
  /** Explicit `neighbor` statements (unicast updates). */
  neighbors?: string[];
  /** Extra lines inside `router rip` (verbatim). */
  extraRipConfig?: string[];
  /** Extra top-level lines for ripd.conf, e.g. interface auth settings. */
  extraConfig?: string[];
  /** Turn on `debug rip events/packet/zebra` into ripd's log file. */
  debug?: boolean;
  /** Wait this long for the vty sockets to appear (default 10 s). */
  startTimeoutMs?: number;
}

export interface FrrRipInstance {
  readonly ns: string;
  /** Directory holding configs, pid files, vty sockets and logs. */
  readonly dir: string;
  readonly zebra: LabProcess;
  readonly ripd: LabProcess;
  readonly ripdConf: string;
  /** Runs `vtysh -c cmd` against this instance's vty sockets; returns stdout. */
  vtysh(...commands: string[]): Promise<string>;
  /** Stops ripd then zebra (graceful: they flush their kernel routes). */
  stop(): Promise<void>;
  /** Stops only ripd (zebra keeps running), for daemon-restart experiments. */
  stopRipd(): Promise<void>;
}

export interface BirdRipOptions {
  /** Interfaces (names or BIRD patterns like "eth*") that speak RIP. */
  interfaces: string[];
  /**
   * Interfaces whose connected networks are imported by `protocol direct` and
   * exported into RIP (the BIRD equivalent of `redistribute connected`).
   * Default: all interfaces ("*"). Empty array: no protocol direct.
   */
  directInterfaces?: string[];
  /** Router id (default: derived from the lab to stay unique). */
  routerId?: string;
  /**
   * Seconds. Default update 1, timeout 15, garbage 10. BIRD accepts
   * `update time 1`, but its timeout must outlast the NEIGHBOUR's update
   * interval: FRR with `timers basic 5 …` was measured sending 5.0–6.0 s
   * apart (jitter), so a BIRD timeout of 6 s made routes learned from FRR
   * expire and flap.
   */
  timers?: RipTimers;
  /** `kernel { persist; }`: keep kernel routes when BIRD stops. */
  kernelPersist?: boolean;
  /** Extra lines in each RIP `interface` block, e.g. "split horizon off;". */
  extraInterfaceConfig?: string[];
  /** Extra top-level config text (verbatim). */
  extraConfig?: string[];
  /** `debug all` on the RIP protocol. */
  debug?: boolean;
  startTimeoutMs?: number;
}

export interface BirdRipInstance {
  readonly ns: string;
  readonly dir: string;
  readonly bird: LabProcess;
  readonly conf: string;
  readonly socket: string;
  /** Runs `birdc -s <socket> <args…>`; returns stdout. */
  birdc(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export interface CaptureOptions {
  /** tcpdump filter expression (default "udp port 520"). */
  filter?: string;
  /** Stop after this many packets (tcpdump -c). */
  count?: number;
  /** Hard bound on the capture's life (default 120 s). */
  maxDurationMs?: number;
}

export interface Capture {
  /** Stops tcpdump (if still running) and returns its text output (-nn -vvv -X). */
  stop(): Promise<string>;
  /** Resolves when tcpdump has exited by itself (count reached or bound hit). */
  readonly done: Promise<string>;
}

export interface UdpDatagram {
  /** Unix time in ms at reception. */
  at: number;
  from: string;
  port: number;
  data: Buffer;
}

export interface RipListener {
  readonly received: UdpDatagram[];
  /** Resolves once the socket is bound and joined (or rejects with the error). */
  readonly ready: Promise<void>;
  stop(): Promise<UdpDatagram[]>;
}

/** Our engine (`node bin/hotswap.js start`) running inside a namespace. */
export interface EngineProcessOptions {
  /** The engine configuration (written to a file in the lab dir). */
  config: Record<string, unknown>;
  /** Wait this long for the "ready:" log line (default 15 s). */
  startTimeoutMs?: number;
  label?: string;
}

export interface EngineInstance {
  readonly ns: string;
  readonly proc: LabProcess;
  readonly configFile: string;
  /** Runs `node bin/hotswap.js <args>` inside the namespace (the control API is on its loopback). */
  cli(...args: string[]): Promise<string>;
  /** SIGTERM (the engine's clean shutdown), SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

// ---------------------------------------------------------------------------
// The lab
// ---------------------------------------------------------------------------

export interface LabOptions {
  /** Name prefix for namespaces. Default `hs<pid>` (+ `_<n>` for later labs in the same process). */
  prefix?: string;
  /** Progress messages (default: silent). */
  log?: (msg: string) => void;
}

export class Lab {
  /** Prefix of every namespace this lab owns. */
  readonly prefix: string;
  /** Temporary directory for configs, sockets and logs; removed by cleanup unless `keepDir`. */
  readonly dir: string;
  /** Set to true to keep `dir` after cleanup (for post-mortem reading of daemon logs). */
  keepDir = false;

  private readonly log: (msg: string) => void;
  private readonly namespaces = new Map<string, string>(); // short name -> full ns name
  private readonly ifCounters = new Map<string, number>(); // full ns -> next ethN
  private readonly stubCounters = new Map<string, number>();
  private readonly procs = new Set<LabProcess>();
  private instanceCounter = 0;
  private cleaned = false;

  constructor(opts: LabOptions = {}) {
    const n = labCounter++;
    this.prefix = opts.prefix ?? `hs${process.pid}${n === 0 ? "" : `_${n}`}`;
    if (!/^[A-Za-z0-9_]+$/.test(this.prefix)) throw new Error(`bad lab prefix: ${this.prefix}`);
    this.log = opts.log ?? (() => {});
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `netns-lab-${this.prefix}-`));
    // FRR drops to the `frr` user; it must be able to traverse into its
    // per-instance directory below this one.
    fs.chmodSync(this.dir, 0o711);
    // A namespace with our prefix can only be a leftover from an earlier
    // process that had the same pid and died without cleanup: remove it.
    for (const ns of listNamespaces()) {
      if (ns.startsWith(`${this.prefix}-`)) removeNamespaceSync(ns);
    }
    liveLabs.add(this);
    installExitHandlers();
  }

  /** Full namespace name for a host's short name (throws if unknown). */
  ns(name: string): string {
    const full = this.namespaces.get(name) ?? ([...this.namespaces.values()].includes(name) ? name : undefined);
    if (!full) throw new Error(`unknown host ${name} (create it with lab.host())`);
    return full;
  }

  /** Names of the hosts created so far (short names). */
  hosts(): string[] {
    return [...this.namespaces.keys()];
  }

  /**
   * Creates a namespace `<prefix>-<name>` with loopback up, IPv4 forwarding on
   * (every host can act as a router) and reverse-path filtering off (failover
   * experiments create asymmetric paths that rp_filter would drop).
   * Returns the full namespace name.
   */
  async host(name: string): Promise<string> {
    this.assertLive();
    if (!/^[A-Za-z0-9_.]+$/.test(name)) throw new Error(`bad host name: ${name}`);
    if (this.namespaces.has(name)) throw new Error(`host ${name} exists`);
    const full = `${this.prefix}-${name}`;
    await run(TOOL_PATHS.ip, ["netns", "add", full]);
    this.namespaces.set(name, full);
    this.log(`host ${name} = netns ${full}`);
    await run(TOOL_PATHS.ip, ["-n", full, "link", "set", "lo", "up"]);
    await this.exec(name, "sysctl", [
      "-qw",
      "net.ipv4.ip_forward=1",
      "net.ipv4.conf.all.rp_filter=0",
      "net.ipv4.conf.default.rp_filter=0",
    ]);
    return full;
  }

  private nextIfname(full: string): string {
    const n = this.ifCounters.get(full) ?? 0;
    this.ifCounters.set(full, n + 1);
    return `eth${n}`;
  }

  /**
   * Joins two hosts with a veth pair on `subnet` (e.g. "10.0.1.0/24" or a /30).
   * Both ends are created directly inside their namespaces, so interface names
   * never clash in the root namespace and can be short (eth0, eth1, …).
   * Waits until both ends report carrier, because daemons and Node's
   * os.networkInterfaces() ignore an interface without it.
   */
  async link(a: string, b: string, subnet: string, opts: LinkOptions = {}): Promise<LinkInfo> {
    this.assertLive();
    const nsA = this.ns(a);
    const nsB = this.ns(b);
    if (nsA === nsB) throw new Error("link() joins two different hosts; use stub() for a network inside one host");
    const { len } = parseCidr(subnet);
    const ifA = opts.aIfname ?? this.nextIfname(nsA);
    const ifB = opts.bIfname ?? this.nextIfname(nsB);
    const addrA = hostAddr(subnet, opts.aHost ?? 1);
    const addrB = hostAddr(subnet, opts.bHost ?? 2);
    await run(TOOL_PATHS.ip, ["link", "add", ifA, "netns", nsA, "type", "veth", "peer", "name", ifB, "netns", nsB]);
    await run(TOOL_PATHS.ip, ["-n", nsA, "addr", "add", `${addrA}/${len}`, "dev", ifA]);
    await run(TOOL_PATHS.ip, ["-n", nsB, "addr", "add", `${addrB}/${len}`, "dev", ifB]);
    await run(TOOL_PATHS.ip, ["-n", nsA, "link", "set", ifA, "up"]);
    await run(TOOL_PATHS.ip, ["-n", nsB, "link", "set", ifB, "up"]);
    await this.waitCarrier(nsA, ifA);
    await this.waitCarrier(nsB, ifB);
    const info: LinkInfo = {
      subnet: normalizePrefix(subnet),
      a: { ns: nsA, ifname: ifA, addr: addrA, cidr: `${addrA}/${len}` },
      b: { ns: nsB, ifname: ifB, addr: addrB, cidr: `${addrB}/${len}` },
    };
    this.log(`link ${a}:${ifA} ${info.a.cidr} <-> ${b}:${ifB} ${info.b.cidr}`);
    return info;
  }

  /**
   * A stub network (a connected subnet with no neighbour) inside one host.
   * The `dummy` link type is not available on this kernel, so this is a veth
   * pair with both ends in the same namespace; only one end is addressed.
   */
  async stub(host: string, subnet: string, opts: { hostNum?: number; ifname?: string } = {}): Promise<StubInfo> {
    this.assertLive();
    const full = this.ns(host);
    const n = this.stubCounters.get(full) ?? 0;
    this.stubCounters.set(full, n + 1);
    const ifname = opts.ifname ?? `stub${n}`;
    const peerIfname = `${ifname}p`.slice(0, 15);
    const { len } = parseCidr(subnet);
    const addr = hostAddr(subnet, opts.hostNum ?? 1);
    await run(TOOL_PATHS.ip, ["-n", full, "link", "add", ifname, "type", "veth", "peer", "name", peerIfname]);
    await run(TOOL_PATHS.ip, ["-n", full, "addr", "add", `${addr}/${len}`, "dev", ifname]);
    await run(TOOL_PATHS.ip, ["-n", full, "link", "set", ifname, "up"]);
    await run(TOOL_PATHS.ip, ["-n", full, "link", "set", peerIfname, "up"]);
    await this.waitCarrier(full, ifname);
    this.log(`stub ${host}:${ifname} ${addr}/${len}`);
    return { ns: full, subnet: normalizePrefix(subnet), ifname, peerIfname, addr, cidr: `${addr}/${len}` };
  }

  /** Sets an interface down or up (link failure experiments). */
  async setLink(host: string, ifname: string, up: boolean): Promise<void> {
    await run(TOOL_PATHS.ip, ["-n", this.ns(host), "link", "set", ifname, up ? "up" : "down"]);
  }

  private async waitCarrier(full: string, ifname: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const out = await run(TOOL_PATHS.ip, ["-n", full, "-j", "link", "show", "dev", ifname]);
        const links = JSON.parse(out.stdout) as Array<{ flags?: string[]; operstate?: string }>;
        const l = links[0];
        if (l && l.flags?.includes("LOWER_UP")) return;
      } catch {
        /* retry until the deadline */
      }
      if (Date.now() > deadline) throw new Error(`${full}:${ifname} has no carrier after ${timeoutMs} ms`);
      await sleep(20);
    }
  }

  /**
   * Runs a command inside a host's namespace and returns its stdout.
   * Rejects (with stderr in the message) on a non-zero exit or timeout.
   */
  async exec(host: string, cmd: string, args: string[] = [], opts: ExecOptions = {}): Promise<string> {
    return (await this.execFull(host, cmd, args, opts)).stdout;
  }

  /** Like exec, but returns stdout, stderr and the exit code. */
  async execFull(host: string, cmd: string, args: string[] = [], opts: ExecOptions = {}): Promise<ExecResult> {
    this.assertLive();
    return run(TOOL_PATHS.ip, ["netns", "exec", this.ns(host), cmd, ...args], opts);
  }

  /**
   * Starts a long-lived process inside a namespace. `ip netns exec` execs the
   * command, so the pid is the command's own. The process gets its own process
   * group (detached) so that a Ctrl-C in the terminal reaches only us, and we
   * stop it in order during cleanup. Its handle is unref'd: a test that forgets
   * cleanup still exits, and the exit handler then kills the process.
   */
  spawn(host: string, cmd: string, args: string[] = [], opts: SpawnOptions = {}): LabProcess {
    this.assertLive();
    const full = this.ns(host);
    const label = opts.label ?? `${host}-${path.basename(cmd)}`;
    let logFile: string | undefined;
    let stdio: Array<"ignore" | "pipe" | number>;
    if (opts.pipe) {
      stdio = ["ignore", "pipe", "pipe"];
    } else {
      logFile = path.join(this.dir, `${label}.log`);
      const fd = fs.openSync(logFile, "a");
      stdio = ["ignore", fd, fd];
    }
    const child = spawn(TOOL_PATHS.ip, ["netns", "exec", full, cmd, ...args], {
      stdio,
      detached: true,
      env: opts.env ?? process.env,
    });
    if (!opts.pipe) fs.closeSync(stdio[1] as number); // the child holds its own copy
    if (child.pid === undefined) {
      throw new Error(`could not spawn ${cmd} in ${full}`);
    }
    const pid = child.pid;
    const exited = new Promise<number | string>((resolve) => {
      child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
      child.once("error", (err) => resolve(`error: ${err.message}`));
    });
    let done = false;
    void exited.then(() => {
      done = true;
    });
    if (!opts.pipe) child.unref();
    const proc: LabProcess = {
      ns: full,
      label,
      pid,
      child,
      logFile,
      exited,
      running: () => !done,
      stop: async (graceMs = 3000) => {
        if (!done) {
          signalGroup(pid, "SIGTERM");
          const t = setTimeout(() => signalGroup(pid, "SIGKILL"), graceMs);
          await exited;
          clearTimeout(t);
        }
        this.procs.delete(proc);
      },
      log: () => (logFile && fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : ""),
    };
    this.procs.add(proc);
    const shown = args.map((a) => (a.length > 60 ? `${a.slice(0, 40).replace(/\s+/g, " ")}…` : a)).join(" ");
    this.log(`spawn [${pid}] ${full}: ${cmd} ${shown}`);
    return proc;
  }

  /**
   * Runs `node` inside a namespace with an ES-module script given as text.
   * Used for Node UDP sockets on port 520 that must live in a namespace (a
   * process cannot hold sockets in two namespaces through the dgram API).
   */
  spawnNodeScript(host: string, source: string, args: string[] = [], opts: SpawnOptions = {}): LabProcess {
    return this.spawn(host, process.execPath, ["--input-type=module", "-e", source, "--", ...args], {
      label: opts.label ?? `${host}-node`,
      ...opts,
    });
  }

  // -------------------------------------------------------------------------
  // Routing daemons
  // -------------------------------------------------------------------------

  private newInstanceDir(kind: string, host: string): string {
    const dir = path.join(this.dir, `${kind}-${host}-${this.instanceCounter++}`);
    fs.mkdirSync(dir, { mode: 0o755 });
    return dir;
  }

  /**
   * Starts FRR zebra + ripd inside a namespace.
   *
   * Each instance gets its own directory for config, pid files, the zserv API
   * socket (-z, shared by zebra and ripd of that instance) and vty sockets
   * (--vty_socket), so several instances never touch /var/run/frr. The TCP
   * vty is switched off (-P 0). Daemons run in the foreground as user frr, so
   * the directory is chowned to frr.
   */
  async startFrrRip(host: string, opts: FrrRipOptions): Promise<FrrRipInstance> {
    this.assertLive();
    const full = this.ns(host);
    const dir = this.newInstanceDir("frr", host);
    const timers = opts.timers ?? { update: 5, timeout: 15, garbage: 10 };
    if (timers.update < 5 || timers.timeout < 5 || timers.garbage < 5) {
      throw new Error("FRR ripd refuses timers below 5 s (`timers basic 5 15 10` is the floor)");
    }
    const zebraConf = path.join(dir, "zebra.conf");
    const ripdConf = path.join(dir, "ripd.conf");
    fs.writeFileSync(zebraConf, `hostname ${host}-zebra\n`);
    const lines: string[] = [`hostname ${host}-ripd`];
    if (opts.debug) lines.push("debug rip events", "debug rip packet", "debug rip zebra");
    lines.push(...(opts.extraConfig ?? []));
    lines.push("router rip", " version 2");
    for (const n of opts.networks) lines.push(` network ${n}`);
    for (const n of opts.neighbors ?? []) lines.push(` neighbor ${n}`);
    for (const p of opts.passiveInterfaces ?? []) lines.push(` passive-interface ${p}`);
    if (opts.redistributeConnected) lines.push(" redistribute connected");
    lines.push(` timers basic ${timers.update} ${timers.timeout} ${timers.garbage}`);
    for (const l of opts.extraRipConfig ?? []) lines.push(` ${l.trim()}`);
    lines.push("exit", "");
    fs.writeFileSync(ripdConf, lines.join("\n"));
    chownToFrr(dir);

    const zserv = path.join(dir, "zserv.api");
    const common = (name: string): string[] => [
      "-i",
      path.join(dir, `${name}.pid`),
      "-z",
      zserv,
      "--vty_socket",
      dir,
      "-P",
      "0",
      "--log",
      `file:${path.join(dir, `${name}.log`)}`,
    ];
    const startTimeoutMs = opts.startTimeoutMs ?? 10_000;
    const zebra = this.spawn(host, TOOL_PATHS.zebra, ["-f", zebraConf, ...common("zebra")], { label: `${host}-zebra-${path.basename(dir)}` });
    await waitForFile(path.join(dir, "zebra.vty"), startTimeoutMs, zebra, () => `zebra in ${full}: ${zebra.log()}`);
    await waitForFile(zserv, startTimeoutMs, zebra, () => `zebra in ${full}: ${zebra.log()}`);
    const ripd = this.spawn(host, TOOL_PATHS.ripd, ["-f", ripdConf, ...common("ripd")], { label: `${host}-ripd-${path.basename(dir)}` });
    await waitForFile(path.join(dir, "ripd.vty"), startTimeoutMs, ripd, () => `ripd in ${full}: ${ripd.log()}`);
    this.log(`FRR ripd up in ${full} (dir ${dir})`);
    return {
      ns: full,
      dir,
      zebra,
      ripd,
      ripdConf,
      vtysh: async (...commands: string[]) =>
        (await run(TOOL_PATHS.vtysh, ["--vty_socket", dir, ...commands.flatMap((c) => ["-c", c])])).stdout,
      stop: async () => {
        await ripd.stop();
        await zebra.stop();
      },
      stopRipd: () => ripd.stop(),
    };
  }

  /**
   * Starts BIRD with one `protocol rip` inside a namespace, in the foreground
   * (-f) with its own control socket (-s) and pid file (-P).
   * The kernel protocol exports everything except device routes (those are the
   * kernel's own connected routes already) into the main table.
   */
  async startBirdRip(host: string, opts: BirdRipOptions): Promise<BirdRipInstance> {
    this.assertLive();
    const full = this.ns(host);
    const dir = this.newInstanceDir("bird", host);
    const timers = opts.timers ?? { update: 1, timeout: 15, garbage: 10 };
    const conf = path.join(dir, "bird.conf");
    const socket = path.join(dir, "bird.ctl");
    const routerId = opts.routerId ?? intToIp((0x0a_fe_00_00 + (this.instanceCounter & 0xffff)) >>> 0);
    const direct = opts.directInterfaces ?? ["*"];
    const q = (s: string): string => JSON.stringify(s);
    const text: string[] = [
      `log ${q(path.join(dir, "bird.log"))} all;`,
      `router id ${routerId};`,
      // Fast device scan so interface changes are noticed within a second.
      "protocol device { scan time 1; }",
    ];
    if (direct.length > 0) {
      text.push(`protocol direct { ipv4; interface ${direct.map(q).join(", ")}; }`);
    }
    text.push(
      "protocol kernel {",
      "  ipv4 { import none; export filter { if source = RTS_DEVICE then reject; accept; }; };",
      "  scan time 1;",
      ...(opts.kernelPersist ? ["  persist;"] : []),
      "}",
      "protocol rip {",
      ...(opts.debug ? ["  debug all;"] : []),
      "  ipv4 { import all; export all; };",
      ...opts.interfaces.map((i) =>
        [
          `  interface ${q(i)} {`,
          "    version 2;",
          `    update time ${timers.update};`,
          `    timeout time ${timers.timeout};`,
          `    garbage time ${timers.garbage};`,
          ...(opts.extraInterfaceConfig ?? []).map((l) => `    ${l}`),
          "  };",
        ].join("\n"),
      ),
      "}",
      ...(opts.extraConfig ?? []),
      "",
    );
    fs.writeFileSync(conf, text.join("\n"));
    // Parse check first: a config error then surfaces as a clear message.
    const check = await run(TOOL_PATHS.bird, ["-p", "-c", conf], { allowFailure: true });
    if (check.code !== 0) throw new Error(`bird.conf rejected: ${check.stderr || check.stdout}\n${text.join("\n")}`);
    const bird = this.spawn(host, TOOL_PATHS.bird, ["-f", "-c", conf, "-s", socket, "-P", path.join(dir, "bird.pid")], {
      label: `${host}-bird-${path.basename(dir)}`,
    });
    await waitForFile(socket, opts.startTimeoutMs ?? 10_000, bird, () => `bird in ${full}: ${bird.log()}`);
    this.log(`BIRD up in ${full} (dir ${dir})`);
    return {
      ns: full,
      dir,
      bird,
      conf,
      socket,
      birdc: async (...args: string[]) => (await run(TOOL_PATHS.birdc, ["-s", socket, ...args])).stdout,
      stop: () => bird.stop(),
    };
  }

  // -------------------------------------------------------------------------
  // Queries
  // -------------------------------------------------------------------------

  /** The main IPv4 routing table of a host, parsed from `ip -j route show`. */
  async routes(host: string): Promise<KernelRoute[]> {
    const out = await run(TOOL_PATHS.ip, ["-n", this.ns(host), "-j", "route", "show"]);
    const parsed = JSON.parse(out.stdout || "[]") as KernelRoute[];
    return parsed.map((r) => ({ ...r, flags: r.flags ?? [] }));
  }

  /** The route for exactly `prefix` (or undefined). */
  async route(host: string, prefix: string, opts: Pick<WaitForRouteOptions, "via" | "protocol"> = {}): Promise<KernelRoute | undefined> {
    const want = normalizePrefix(prefix);
    const routes = await this.routes(host);
    return routes.find(
      (r) =>
        normalizePrefix(r.dst) === want &&
        (opts.via === undefined || r.gateway === opts.via) &&
        (opts.protocol === undefined || r.protocol === opts.protocol),
    );
  }

  /**
   * Polls the kernel table until `prefix` is present (or absent, with
   * `absent: true`). Rejects after timeoutMs with the table in the message.
   */
  async waitForRoute(host: string, prefix: string, timeoutMs: number, opts: WaitForRouteOptions = {}): Promise<WaitForRouteResult> {
    const start = Date.now();
    const deadline = start + timeoutMs;
    const pollMs = opts.pollMs ?? 100;
    let last: KernelRoute[] = [];
    for (;;) {
      const r = await this.route(host, prefix, opts);
      if (opts.absent ? r === undefined : r !== undefined) return { route: r, elapsedMs: Date.now() - start };
      if (Date.now() >= deadline) {
        last = await this.routes(host).catch(() => []);
        throw new Error(
          `${this.ns(host)}: route ${prefix} ${opts.absent ? "still present" : "not seen"} after ${timeoutMs} ms; table: ` +
            last.map((x) => `${x.dst}${x.gateway ? ` via ${x.gateway}` : ""} dev ${x.dev} proto ${x.protocol}`).join("; "),
        );
      }
      await sleep(pollMs);
    }
  }

  private pingArgs(dst: string, opts: PingOptions, extra: string[]): string[] {
    const intervalMs = opts.intervalMs ?? 50;
    // -n: no DNS; -D: timestamps; -O: report missing replies as they happen;
    // -W: how long to wait for a reply at the end.
    const args = ["-n", "-D", "-O", "-i", (intervalMs / 1000).toString(), "-W", String(opts.replyWaitS ?? 1)];
    if (opts.size !== undefined) args.push("-s", String(opts.size));
    if (opts.source !== undefined) args.push("-I", opts.source);
    return [...args, ...extra, dst];
  }

  /** Pings `dst` from a host with iputils ping; resolves with per-seq results (never rejects on loss). */
  async ping(host: string, dst: string, opts: PingOptions = {}): Promise<PingResult> {
    const count = opts.count ?? 10;
    const intervalMs = opts.intervalMs ?? 50;
    const timeoutMs = count * intervalMs + (opts.replyWaitS ?? 1) * 1000 + 10_000;
    const res = await this.execFull(host, TOOL_PATHS.ping, this.pingArgs(dst, opts, ["-c", String(count)]), {
      timeoutMs,
      allowFailure: true, // ping exits 1 when something was lost
    });
    return parsePing(res.stdout + res.stderr, dst, intervalMs);
  }

  /**
   * Starts ping in the background for the length of an experiment. `stop()`
   * sends SIGINT so ping prints its summary, then returns the parsed result.
   * Bounded by `maxDurationMs` (ping -w), so a forgotten stream ends by itself.
   */
  startPing(host: string, dst: string, opts: StreamPingOptions = {}): PingStream {
    const intervalMs = opts.intervalMs ?? 50;
    const maxS = Math.ceil((opts.maxDurationMs ?? 600_000) / 1000);
    // Bounded by `timeout`, not by ping's own -w: with a deadline set, iputils ping EXITS at the
    // first ICMP error (e.g. "Destination Net Unreachable" while a router has no route), which
    // would end the measurement exactly when an outage starts.
    const proc = this.spawn(host, "timeout", ["-s", "INT", String(maxS), TOOL_PATHS.ping, ...this.pingArgs(dst, opts, [])], {
      pipe: true,
      label: `${host}-ping-${dst}`,
    });
    let raw = "";
    let partial = "";
    const replies: PingReply[] = [];
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString("utf8");
      raw += text;
      partial += text;
      const lines = partial.split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        const r = parseReplyLine(line);
        if (r) {
          replies.push(r);
          opts.onReply?.(r);
        }
      }
    };
    proc.child.stdout?.on("data", onData);
    proc.child.stderr?.on("data", (c: Buffer) => {
      raw += c.toString("utf8");
    });
    let result: Promise<PingResult> | undefined;
    return {
      dst,
      replies,
      stop: () => {
        result ??= (async () => {
          if (proc.running()) {
            signalGroup(proc.pid, "SIGINT");
            const t = setTimeout(() => signalGroup(proc.pid, "SIGKILL"), 3000);
            await proc.exited;
            clearTimeout(t);
          }
          await proc.stop();
          return parsePing(raw, dst, intervalMs);
        })();
        return result;
      },
    };
  }

  /**
   * Runs tcpdump inside a namespace (-nn -vvv -X, line-buffered). Useful to
   * see what a daemon really puts on the wire.
   */
  startCapture(host: string, ifname: string, opts: CaptureOptions = {}): Capture {
    const maxS = Math.ceil((opts.maxDurationMs ?? 120_000) / 1000);
    const args = ["-i", ifname, "-l", "-nn", "-vvv", "-X"];
    if (opts.count !== undefined) args.push("-c", String(opts.count));
    args.push(...(opts.filter ?? "udp port 520").split(/\s+/));
    // `timeout` bounds the capture even if nobody calls stop().
    const proc = this.spawn(host, "timeout", ["-s", "INT", String(maxS), TOOL_PATHS.tcpdump, ...args], {
      pipe: true,
      label: `${host}-tcpdump-${ifname}`,
    });
    let out = "";
    proc.child.stdout?.on("data", (c: Buffer) => (out += c.toString("utf8")));
    proc.child.stderr?.on("data", (c: Buffer) => (out += c.toString("utf8")));
    const done = proc.exited.then(() => out);
    return {
      done,
      stop: async () => {
        if (proc.running()) signalGroup(proc.pid, "SIGINT");
        const t = setTimeout(() => signalGroup(proc.pid, "SIGKILL"), 3000);
        await proc.exited;
        clearTimeout(t);
        await proc.stop();
        return out;
      },
    };
  }

  /**
   * A Node UDP socket in a namespace, set up the way the engine will listen:
   * bound to 0.0.0.0:520 with reuseAddr (so it coexists with a daemon on the
   * same port) and joined to 224.0.0.9 on each given interface address.
   * Every datagram is reported back to this process; stop() ends it.
   */
  startRipListener(host: string, ifaddrs: string[], opts: { maxDurationMs?: number } = {}): RipListener {
    const source = `
import dgram from "node:dgram";
const ifaddrs = JSON.parse(process.argv[process.argv.length - 2]);
const maxMs = Number(process.argv[process.argv.length - 1]);
const sock = dgram.createSocket({ type: "udp4", reuseAddr: true });
sock.on("error", (e) => { console.log(JSON.stringify({ error: String(e) })); process.exit(1); });
sock.on("message", (msg, rinfo) => {
  console.log(JSON.stringify({ at: Date.now(), from: rinfo.address, port: rinfo.port, hex: msg.toString("hex") }));
});
sock.bind(520, "0.0.0.0", () => {
  for (const a of ifaddrs) sock.addMembership("224.0.0.9", a);
  console.log(JSON.stringify({ ready: true }));
});
setTimeout(() => process.exit(0), maxMs).unref();
process.on("SIGTERM", () => process.exit(0));
setInterval(() => {}, 1 << 30);
`;
    const proc = this.spawnNodeScript(host, source, [JSON.stringify(ifaddrs), String(opts.maxDurationMs ?? 120_000)], {
      pipe: true,
      label: `${host}-riplistener`,
    });
    const received: UdpDatagram[] = [];
    let partial = "";
    let stderr = "";
    let markReady: () => void = () => {};
    let failReady: (e: Error) => void = () => {};
    const ready = new Promise<void>((res, rej) => {
      markReady = res;
      failReady = rej;
    });
    proc.child.stderr?.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    proc.child.stdout?.on("data", (c: Buffer) => {
      partial += c.toString("utf8");
      const lines = partial.split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.trim()) continue;
        const m = JSON.parse(line) as { ready?: boolean; error?: string; at?: number; from?: string; port?: number; hex?: string };
        if (m.ready) markReady();
        else if (m.error) failReady(new Error(`RIP listener in ${proc.ns}: ${m.error}`));
        else received.push({ at: m.at ?? 0, from: m.from ?? "", port: m.port ?? 0, data: Buffer.from(m.hex ?? "", "hex") });
      }
    });
    void proc.exited.then((code) => failReady(new Error(`RIP listener in ${proc.ns} exited (${code}): ${stderr}`)));
    return {
      received,
      ready,
      stop: async () => {
        await proc.stop();
        return received;
      },
    };
  }

  // -------------------------------------------------------------------------
  // Our engine
  // -------------------------------------------------------------------------

  /**
   * Starts our engine as a real process inside a namespace:
   * `ip netns exec NS node bin/hotswap.js start --config FILE`. Needs `npm run build` first
   * (bin/hotswap.js runs build/host and loads build/modules). Resolves once it logged "ready:".
   */
  async startEngine(host: string, opts: EngineProcessOptions): Promise<EngineInstance> {
    this.assertLive();
    const dir = this.newInstanceDir("engine", host);
    const configFile = path.join(dir, "config.json");
    fs.writeFileSync(configFile, JSON.stringify({ dataDir: path.join(dir, "data"), ...opts.config }, null, 2));
    const bin = path.join(REPO_ROOT, "bin", "hotswap.js");
    const proc = this.spawn(host, process.execPath, [bin, "start", "--config", configFile], { label: opts.label ?? `${host}-engine` });
    const deadline = Date.now() + (opts.startTimeoutMs ?? 15_000);
    while (!/\bready: /.test(proc.log())) {
      if (!proc.running()) throw new Error(`engine in ${proc.ns} exited before it was ready:\n${proc.log()}`);
      if (Date.now() > deadline) throw new Error(`engine in ${proc.ns} not ready after ${opts.startTimeoutMs ?? 15_000} ms:\n${proc.log()}`);
      await sleep(25);
    }
    return {
      ns: proc.ns,
      proc,
      configFile,
      cli: (...args: string[]) => this.exec(host, process.execPath, [bin, ...args], { timeoutMs: 20_000 }),
      stop: (graceMs = 5000) => proc.stop(graceMs),
    };
  }

  // -------------------------------------------------------------------------
  // Cleanup
  // -------------------------------------------------------------------------

  private assertLive(): void {
    if (this.cleaned) throw new Error(`lab ${this.prefix} was cleaned up`);
  }

  /**
   * Stops every process (SIGTERM, then SIGKILL), kills anything else still
   * inside our namespaces, deletes the namespaces (which deletes their veths)
   * and removes the temp dir. Idempotent.
   */
  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    await Promise.all([...this.procs].map((p) => p.stop(2000).catch(() => {})));
    for (const full of this.namespaces.values()) removeNamespaceSync(full);
    this.finish();
  }

  /** Synchronous cleanup for exit/signal handlers, where promises no longer run. */
  cleanupSync(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    const pids = [...this.procs].filter((p) => p.running()).map((p) => p.pid);
    for (const pid of pids) signalGroup(pid, "SIGTERM");
    const deadline = Date.now() + 1500;
    while (pids.some(pidRunning) && Date.now() < deadline) sleepSync(20);
    for (const pid of pids) if (pidRunning(pid)) signalGroup(pid, "SIGKILL");
    for (const full of this.namespaces.values()) removeNamespaceSync(full);
    this.finish();
  }

  private finish(): void {
    this.procs.clear();
    this.namespaces.clear();
    liveLabs.delete(this);
    if (!this.keepDir) fs.rmSync(this.dir, { recursive: true, force: true });
    this.log(`lab ${this.prefix} cleaned up`);
  }
}

// ---------------------------------------------------------------------------
// Process and namespace plumbing
// ---------------------------------------------------------------------------

/** Runs a command (not in a namespace); rejects on non-zero exit unless allowFailure. */
function run(cmd: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, killSignal: "SIGKILL" },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : -1) : 0;
        if (err && !opts.allowFailure) {
          const killed = (err as { killed?: boolean }).killed ? " (timed out)" : "";
          reject(new Error(`${cmd} ${args.join(" ")} failed${killed}: ${oneLine(String(stderr) || err.message)}`));
          return;
        }
        resolve({ stdout: String(stdout), stderr: String(stderr), code });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  // Negative pid: the whole process group (we spawn detached, so pgid = pid).
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}

function listNamespaces(): string[] {
  try {
    return fs.readdirSync("/run/netns");
  } catch {
    return [];
  }
}

/** Kills whatever still runs in a namespace, then deletes it. Never throws. */
function removeNamespaceSync(full: string): void {
  for (let attempt = 0; attempt < 3; attempt++) {
    let pids: number[] = [];
    try {
      pids = execFileSync(TOOL_PATHS.ip, ["netns", "pids", full], { stdio: "pipe", timeout: 5000 })
        .toString()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number)
        .filter((p) => p !== process.pid);
    } catch {
      break; // namespace is gone
    }
    const running = pids.filter(pidRunning);
    if (running.length === 0) break;
    for (const pid of running) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    sleepSync(50);
  }
  try {
    execFileSync(TOOL_PATHS.ip, ["netns", "del", full], { stdio: "pipe", timeout: 5000 });
  } catch {
    /* already gone */
  }
}

/**
 * Removes namespaces left behind by labs whose process died without cleanup
 * (e.g. SIGKILL), and their temp dirs. Only touches names of the form
 * hs<pid>[_n]-… whose pid is no longer running. Returns what it removed.
 */
export function sweepStaleLabs(): string[] {
  const removed: string[] = [];
  for (const ns of listNamespaces()) {
    const m = /^hs(\d+)(?:_\d+)?-/.exec(ns);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || pidRunning(pid)) continue;
    removeNamespaceSync(ns);
    removed.push(ns);
  }
  // Their temp dirs (configs, logs) too.
  for (const entry of fs.readdirSync(os.tmpdir())) {
    const m = /^netns-lab-hs(\d+)(?:_\d+)?-/.exec(entry);
    if (!m || Number(m[1]) === process.pid || pidRunning(Number(m[1]))) continue;
    fs.rmSync(path.join(os.tmpdir(), entry), { recursive: true, force: true });
    removed.push(path.join(os.tmpdir(), entry));
  }
  return removed;
}

function chownToFrr(dir: string): void {
  // Look the ids up in /etc/passwd and /etc/group: no extra dependency.
  const passwd = fs.readFileSync("/etc/passwd", "utf8");
  const m = /^frr:[^:]*:(\d+):(\d+):/m.exec(passwd);
  if (!m) throw new Error("user frr not found (is the frr package installed?)");
  const uid = Number(m[1]);
  const gid = Number(m[2]);
  fs.chownSync(dir, uid, gid);
  for (const f of fs.readdirSync(dir)) fs.chownSync(path.join(dir, f), uid, gid);
}

async function waitForFile(file: string, timeoutMs: number, proc: LabProcess, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(file)) {
    if (!proc.running()) throw new Error(`${proc.label} exited before creating ${file}: ${describe()}`);
    if (Date.now() > deadline) throw new Error(`${file} did not appear within ${timeoutMs} ms: ${describe()}`);
    await sleep(25);
  }
}

// ---------------------------------------------------------------------------
// Ping output parsing (iputils 20221126 with -n -D -O)
// ---------------------------------------------------------------------------

const REPLY_RE = /^\[(\d+\.\d+)\] \d+ bytes from ([\d.]+): icmp_seq=(\d+) ttl=(\d+) time=([\d.]+) ms(.*)$/;

function parseReplyLine(line: string): PingReply | undefined {
  const m = REPLY_RE.exec(line.trim());
  if (!m || m[6]?.includes("DUP!")) return undefined;
  return { at: Number(m[1]), from: m[2]!, seq: Number(m[3]), ttl: Number(m[4]), rttMs: Number(m[5]) };
}

/**
 * Parses ping output into per-sequence results. A sequence number counts as
 * lost when no reply carries it; runs of lost numbers become outages, which
 * is what the hot-swap experiments measure.
 */
export function parsePing(raw: string, dst: string, intervalMs: number): PingResult {
  const replies: PingReply[] = [];
  const seen = new Set<number>();
  const errors: string[] = [];
  let duplicates = 0;
  let maxSeq = 0;
  let sent: number | undefined;
  let rtt: PingResult["rtt"];
  for (const rawLine of raw.split("\n")) {
    const line = rawLine.trim();
    if (!line) continue;
    const rep = REPLY_RE.exec(line);
    if (rep) {
      const seq = Number(rep[3]);
      maxSeq = Math.max(maxSeq, seq);
      if (rep[6]?.includes("DUP!") || seen.has(seq)) {
        duplicates++;
        continue;
      }
      seen.add(seq);
      replies.push({ at: Number(rep[1]), from: rep[2]!, seq, ttl: Number(rep[4]), rttMs: Number(rep[5]) });
      continue;
    }
    const noAnswer = /no answer yet for icmp_seq=(\d+)/.exec(line);
    if (noAnswer) {
      maxSeq = Math.max(maxSeq, Number(noAnswer[1]));
      continue;
    }
    const icmpErr = /From ([\d.]+) icmp_seq=(\d+) (.*)$/.exec(line);
    if (icmpErr) {
      maxSeq = Math.max(maxSeq, Number(icmpErr[2]));
      errors.push(line.replace(/^\[\d+\.\d+\]\s*/, ""));
      continue;
    }
    if (/^ping: /.test(line)) {
      errors.push(line);
      continue;
    }
    const summary = /^(\d+) packets transmitted, (\d+) received/.exec(line);
    if (summary) {
      sent = Number(summary[1]);
      continue;
    }
    const r = /^rtt min\/avg\/max\/mdev = ([\d.]+)\/([\d.]+)\/([\d.]+)\//.exec(line);
    if (r) rtt = { min: Number(r[1]), avg: Number(r[2]), max: Number(r[3]) };
  }
  const total = sent ?? maxSeq;
  const lostSeqs: number[] = [];
  for (let s = 1; s <= total; s++) if (!seen.has(s)) lostSeqs.push(s);
  const outages: PingOutage[] = [];
  for (const s of lostSeqs) {
    const last = outages[outages.length - 1];
    if (last && last.toSeq === s - 1) {
      last.toSeq = s;
      last.count++;
      last.approxMs = last.count * intervalMs;
    } else {
      outages.push({ fromSeq: s, toSeq: s, count: 1, approxMs: intervalMs });
    }
  }
  replies.sort((a, b) => a.seq - b.seq);
  return {
    dst,
    intervalMs,
    sent: total,
    received: replies.filter((x) => x.seq <= total).length,
    lost: lostSeqs.length,
    lostSeqs,
    outages,
    maxOutageMs: outages.reduce((m, o) => Math.max(m, o.approxMs), 0),
    replies,
    duplicates,
    errors,
    rtt,
    raw,
  };
}

// ---------------------------------------------------------------------------
// RIPv2 packet decoding (RFC 2453), for asserting on what daemons send
// ---------------------------------------------------------------------------

export interface RipEntry {
  afi: number;
  routeTag: number;
  prefix: string;
  mask: string;
  nextHop: string;
  metric: number;
}

export interface RipPacket {
  command: "request" | "response" | number;
  version: number;
  /** Bytes 2–3, "must be zero" in RIPv2. */
  mbz: number;
  /** Authentication entry (AFI 0xFFFF) if the first entry is one. */
  auth?: { type: number; data: Buffer };
  entries: RipEntry[];
}

export function parseRipPacket(buf: Buffer): RipPacket {
  if (buf.length < 4 || (buf.length - 4) % 20 !== 0) throw new Error(`bad RIP length ${buf.length}`);
  const cmd = buf.readUInt8(0);
  const pkt: RipPacket = {
    command: cmd === 1 ? "request" : cmd === 2 ? "response" : cmd,
    version: buf.readUInt8(1),
    mbz: buf.readUInt16BE(2),
    entries: [],
  };
  for (let off = 4; off < buf.length; off += 20) {
    const afi = buf.readUInt16BE(off);
    if (afi === 0xffff && off === 4) {
      pkt.auth = { type: buf.readUInt16BE(off + 2), data: buf.subarray(off + 4, off + 20) };
      continue;
    }
    const ip = (o: number): string => intToIp(buf.readUInt32BE(o));
    pkt.entries.push({
      afi,
      routeTag: buf.readUInt16BE(off + 2),
      prefix: ip(off + 4),
      mask: ip(off + 8),
      nextHop: ip(off + 12),
      metric: buf.readUInt32BE(off + 16),
    });
  }
  return pkt;
}
