/**
 * The Wasm ABI between the engine and an implementation module: the ONE place it is defined.
 *
 * `scripts/gen-abi.ts` turns the constants below into `assembly/sdk/generated/abi.ts`, so the
 * AssemblyScript SDK can never disagree with the host. `docs/ABI.md` explains every entry.
 *
 * Why a fixed layout: the paper keeps user data inside the persistent "main task module" and
 * hands its reference to each new module on RESTART. Here that data lives in one imported
 * `WebAssembly.Memory` that the host owns. Everything below `MEMORY_BASE` is persistent and is
 * never written by a module's AssemblyScript runtime (asc `--memoryBase`); everything at or
 * above it is the module's transient runtime (static data, shadow stack, GC heap), rebuilt on
 * every swap.
 */

/** Bumped on any incompatible change to the layout, imports or exports below. */
export const ABI_VERSION = 1;

/** "HSWP" as a little-endian u32: marks a memory that a module has initialised. */
export const HEADER_MAGIC = 0x50575348;

/** Bytes 0..NULL_GUARD_END are never used, so a null pointer can't alias persistent data. */
export const NULL_GUARD_END = 256;

/** The persistent header: the paper's "permanent module data reference" table. */
export const HEADER_OFFSET = 256;
export const HEADER_SIZE = 256;
/** Byte offsets of the header's fields, relative to HEADER_OFFSET. All fields are u32. */
export const HeaderField = {
  magic: 0,
  abiVersion: 4,
  /** Data-layout version written by the module that last owned the memory (see migrate). */
  layoutVersion: 8,
  /** Bit 0: init completed. */
  flags: 12,
  /** The application's root object in the persistent arena (0 = none). */
  root: 16,
  /** Persistent allocator bump pointer: its high-water mark. Everything above is free. */
  heapTop: 20,
  /** First byte past the persistent arena (= MEMORY_BASE of the module that initialised it). */
  heapLimit: 24,
  /** Incremented by the host on every successful swap; lets a module notice a restart. */
  generation: 28,
  /** Free-list heads of the persistent allocator, one u32 per size class. */
  freeLists: 32,
} as const;
/** Size classes 2^4 .. 2^(4+FREE_LIST_CLASSES-1) bytes, block header included. */
export const FREE_LIST_CLASSES = 28;
export const FLAG_INITIALISED = 1;

/** The inbox: the host writes each incoming message here before calling on_message. */
export const INBOX_OFFSET = 4096;
/** Metadata fields, relative to INBOX_OFFSET (u32 each). */
export const InboxField = {
  /** Payload length in bytes (also passed as on_message's second argument). */
  length: 0,
  /** Channel index the message came in on (also on_message's first argument). */
  channel: 4,
  /** Length of the peer string at INBOX_PEER. */
  peerLength: 8,
  /** Index of the network interface the message arrived on, or 0xFFFFFFFF when unknown. */
  iface: 12,
} as const;
/** Peer address as UTF-8 ("127.0.0.1:5000", "tcp#12", or a component's name for the bus). */
export const INBOX_PEER = INBOX_OFFSET + 64;
export const INBOX_PEER_CAPACITY = 192;
export const INBOX_DATA = 8192;
/** Largest payload a module can receive in one message (one full UDP datagram). */
export const INBOX_CAPACITY = 65536;

/**
 * The dirty-page map: one byte per 4 KiB page below MEMORY_BASE, set to 1 by code that the host
 * instruments into every store, memory.copy and memory.fill (host/modules/dirty-pages.ts).
 * It lets a swap keep a rollback copy of persistent memory by copying only the pages written
 * since the last checkpoint, instead of every byte in use. The byte just past the map is a
 * sink for writes to the transient region, so the instrumentation needs no branch.
 */
export const DIRTY_PAGE_SHIFT = 12;
export const DIRTY_MAP_OFFSET = INBOX_DATA + INBOX_CAPACITY;
/** Map bytes (one per page below MEMORY_BASE, 256 MiB / 4 KiB), plus the sink byte, rounded up to a page. */
export const DIRTY_MAP_SIZE = 65536 + 4096;

/** Start of the persistent arena: the SDK's persistent allocator hands out memory from here. */
export const ARENA_OFFSET = DIRTY_MAP_OFFSET + DIRTY_MAP_SIZE;

/** Default start of the transient region; modules are built with asc `--memoryBase` = this. */
export const MEMORY_BASE = 256 * 1024 * 1024;

/** Channel number used for messages between components (the bus); peer = component name. */
export const BUS_CHANNEL = 0xffff;

/**
 * Channels of the `net` capability: interface i sends and receives its RIP/multicast datagrams on
 * channel NET_CHANNEL_BASE + i (hs.send peer "224.0.0.9:520" or "10.0.1.2:520").
 */
export const NET_CHANNEL_BASE = 0x1000;
/** Bit of hs.net_if_flags: the interface has open sockets (it speaks the protocol); without it
 * the interface is only a connected network (passive). */
export const NET_IF_ACTIVE = 1;

/** Log levels for hs.log. */
export const LogLevel = { debug: 0, info: 1, warn: 2, error: 3 } as const;

/** Return codes of host imports (negative = error). */
export const HostResult = {
  ok: 0,
  unknownChannel: -1,
  unknownPeer: -2,
  tooLarge: -3,
  noCurrentMessage: -4,
  denied: -5,
} as const;

/** Namespace of every host function offered to modules ("library API symbols"). */
export const HOST_NAMESPACE = 'hs';

type WasmType = 'i32' | 'i64' | 'f32' | 'f64';
export interface Signature {
  readonly params: readonly WasmType[];
  readonly results: readonly WasmType[];
}
const sig = (params: WasmType[], results: WasmType[] = []): Signature => ({ params, results });

/** Host imports in the `hs` namespace, with their exact Wasm signatures. */
export const HOST_IMPORTS = {
  log: sig(['i32', 'i32', 'i32']),
  reply: sig(['i32', 'i32'], ['i32']),
  send: sig(['i32', 'i32', 'i32', 'i32', 'i32'], ['i32']),
  timer_set: sig(['i32', 'f64', 'f64']),
  timer_cancel: sig(['i32'], ['i32']),
  timer_due_in: sig(['i32'], ['f64']),
  now_ms: sig([], ['f64']),
  monotonic_ms: sig([], ['f64']),
  random_fill: sig(['i32', 'i32']),
  output: sig(['i32', 'i32']),
  data_root: sig([], ['i32']),
  // ---- Host capabilities (host/capabilities/, docs/ABI.md "Capability imports"). Every module
  // may import them, but they answer HostResult.denied unless the component's configuration
  // grants the capability ("capabilities": {"net", "routes", "settings"}).
  /** Number of IPv4 interfaces the `net` capability knows (index = InboxField.iface). */
  net_if_count: sig([], ['i32']),
  /** Interface i's IPv4 address as a big-endian u32 in an i32. */
  net_if_addr: sig(['i32'], ['i32']),
  /** Interface i's prefix length (0..32). */
  net_if_prefix_len: sig(['i32'], ['i32']),
  /** Interface i's flags: NET_IF_ACTIVE. */
  net_if_flags: sig(['i32'], ['i32']),
  /** Copies interface i's name (UTF-8) to (ptr, capacity); returns its length. */
  net_if_name: sig(['i32', 'i32', 'i32'], ['i32']),
  /** Installs or replaces a kernel route: (prefix, prefixLen, nextHop, iface). */
  route_install: sig(['i32', 'i32', 'i32', 'i32'], ['i32']),
  /** Withdraws a kernel route this component installed: (prefix, prefixLen). */
  route_withdraw: sig(['i32', 'i32'], ['i32']),
  /** Copies the setting named (keyPtr, keyLen) to (ptr, capacity); returns its length or -1 when unset. */
  settings_get: sig(['i32', 'i32', 'i32', 'i32'], ['i32']),
  /** 1 while the engine is shutting down (TERM for good, not for a swap), else 0. */
  engine_stopping: sig([], ['i32']),
} as const satisfies Record<string, Signature>;
export type HostImportName = keyof typeof HOST_IMPORTS;

/** AssemblyScript runtime imports from `env` that the host also satisfies. */
export const ENV_IMPORTS = {
  abort: sig(['i32', 'i32', 'i32', 'i32']),
  trace: sig(['i32', 'i32', 'f64', 'f64', 'f64', 'f64', 'f64']),
  seed: sig([], ['f64']),
  'Date.now': sig([], ['f64']),
} as const satisfies Record<string, Signature>;

/** Exports every module must provide: the paper's lifecycle and event-receive callbacks. */
export const REQUIRED_EXPORTS = {
  abi_version: sig([], ['i32']),
  layout_version: sig([], ['i32']),
  init: sig(['i32'], ['i32']),
  restart: sig(['i32'], ['i32']),
  term: sig([]),
  hold: sig([]),
  on_message: sig(['i32', 'i32']),
  on_timer: sig(['i32']),
  on_signal: sig(['i32']),
  version: sig([]),
  status: sig([]),
} as const satisfies Record<string, Signature>;

/** Exports a module may provide: layout migrations (see docs/ABI.md, "Migrations"). */
export const OPTIONAL_EXPORTS = {
  migrate: sig(['i32'], ['i32']),
  migrate_down: sig(['i32'], ['i32']),
} as const satisfies Record<string, Signature>;

export type RequiredExportName = keyof typeof REQUIRED_EXPORTS;
export type OptionalExportName = keyof typeof OPTIONAL_EXPORTS;

/** POSIX signals a component may subscribe to, with the numbers passed to on_signal. */
export const SIGNALS = { SIGHUP: 1, SIGUSR1: 10, SIGUSR2: 12 } as const;
export type SignalName = keyof typeof SIGNALS;

/**
 * WASI functions a module may import (modules built with @assemblyscript/wasi-shim): stdout and
 * stderr, the clock, randomness and exit. No filesystem, environment or arguments.
 */
export const WASI_NAMESPACE = 'wasi_snapshot_preview1';
export const WASI_ALLOWED = ['fd_write', 'clock_time_get', 'random_get', 'proc_exit'] as const;

/**
 * Name of the mutable i32 global the host adds to every module it meters for fuel
 * (host/modules/fuel.ts) and exports, so it can set each callback's budget before calling it.
 * A module may not define an export of this name itself. See docs/SAFETY.md, "Fuel".
 */
export const FUEL_GLOBAL = 'hs_fuel';
