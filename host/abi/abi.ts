/**
 * The Wasm ABI between the engine and an implementation module: the ONE place it is defined.
 *
 * `scripts/gen-abi.ts` turns the numbers below into `assembly/sdk/generated/abi.ts` and
 * HOST_IMPORTS into the SDK's `hs` declarations (`assembly/sdk/generated/imports.ts`), and checks
 * the SDK's exports against EXPORTS, so the AssemblyScript SDK can never disagree with the host.
 * Numbers that follow from others are computed here, never restated. `docs/ABI.md` explains
 * every entry and lists what is derived from what.
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
export const FLAG_INITIALISED = 1;

/**
 * The persistent allocator (assembly/sdk/palloc.ts) hands out power-of-two blocks, each
 * starting with a header of PALLOC_BLOCK_HEADER bytes: the block's size class (a u32) and
 * padding that keeps payloads 8-byte aligned. A free block keeps its next-pointer right after
 * the header. Size class c is a block of 2^c bytes, header included.
 */
export const PALLOC_BLOCK_HEADER = 8;
/** The smallest class: 16-byte blocks. */
export const PALLOC_MIN_CLASS = 4;
/** One free list per class, PALLOC_MIN_CLASS .. 31: every power of two a u32 offset can hold. */
export const FREE_LIST_CLASSES = 32 - PALLOC_MIN_CLASS;

/** Default start of the transient region; modules are built with asc `--memoryBase` = this. */
export const MEMORY_BASE = 256 * 1024 * 1024;

/**
 * The asc flags the ABI needs (docs/ABI.md, "Build flags"): the memory the host owns and keeps,
 * and the runtime's data above MEMORY_BASE. `hotswap build` passes them, so a module project's
 * own configuration cannot drift from the engine it runs on.
 */
export const ASC_ABI_FLAGS: readonly string[] = Object.freeze(['--importMemory', '--memoryBase', String(MEMORY_BASE)]);

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
  /** Index of the network interface the message arrived on, or NO_IFACE when unknown. */
  iface: 12,
} as const;
/** InboxField.iface when no interface's subnet holds the sender's address (and for the bus). */
export const NO_IFACE = 0xffffffff;
/** Peer address as UTF-8 ("127.0.0.1:5000", "tcp#12", or a component's name for the bus). */
export const INBOX_PEER = INBOX_OFFSET + 64;
export const INBOX_PEER_CAPACITY = 192;
export const INBOX_DATA = 8192;
/** Largest payload a module can receive in one message (one full UDP datagram). */
export const INBOX_CAPACITY = 65536;

/**
 * The batch inbox (optional export `on_messages`, docs/ABI.md "Batched messages"): up to
 * BATCH_MAX_EVENTS messages at once, one record each in a table between the peer and the data,
 * their payloads (and each new peer's bytes) packed in the inbox data area. A module walks them
 * with hs.next_message, which tells the host where each message starts, so the host keeps its
 * per-message work (reply target, quotas, journal) and the fuel is refilled per message.
 */
export const BATCH_TABLE_OFFSET = INBOX_PEER + INBOX_PEER_CAPACITY;
/** Fields of one record, relative to its start (u32 each). */
export const BatchField = {
  /** Address of the payload in the inbox data area. */
  data: 0,
  /** Payload length in bytes. */
  length: 4,
  channel: 8,
  /** As InboxField.iface: NO_IFACE when unknown. */
  iface: 12,
  /** Address and length of the peer's UTF-8 bytes (records of one peer share them). */
  peer: 16,
  peerLength: 20,
} as const;
export const BATCH_RECORD_SIZE = 24;
/** As many records as fit between the table's start and INBOX_DATA. */
export const BATCH_MAX_EVENTS = Math.floor((INBOX_DATA - BATCH_TABLE_OFFSET) / BATCH_RECORD_SIZE);

/**
 * The dirty-page map: one byte per page below MEMORY_BASE, set to 1 by code that the host
 * instruments into every store, memory.copy and memory.fill (host/modules/dirty-pages.ts).
 * It lets a swap keep a rollback copy of persistent memory by copying only the pages written
 * since the last checkpoint, instead of every byte in use. The byte just past the map is a
 * sink for writes to the transient region, so the instrumentation needs no branch.
 */
export const DIRTY_PAGE_SHIFT = 12;
/** 4 KiB: the granularity of the dirty-page map and of the incremental rollback copy. */
export const DIRTY_PAGE_SIZE = 1 << DIRTY_PAGE_SHIFT;
export const DIRTY_MAP_OFFSET = INBOX_DATA + INBOX_CAPACITY;
/**
 * One byte per page below MEMORY_BASE plus the sink byte, rounded up to a whole page so that
 * the arena starts on a page boundary (the map's own pages are never tracked). 69,632 bytes
 * for the default MEMORY_BASE.
 */
export const DIRTY_MAP_SIZE = alignUp((MEMORY_BASE >>> DIRTY_PAGE_SHIFT) + 1, DIRTY_PAGE_SIZE);

/** Start of the persistent arena: the SDK's persistent allocator hands out memory from here. */
export const ARENA_OFFSET = DIRTY_MAP_OFFSET + DIRTY_MAP_SIZE;

/** Channel number used for messages between components (the bus); peer = component name. */
export const BUS_CHANNEL = 0xffff;

/**
 * Channels of the `net` capability: interface i sends and receives its RIP/multicast datagrams on
 * channel NET_CHANNEL_BASE + i (hs.send peer "224.0.0.9:520" or "10.0.1.2:520").
 */
export const NET_CHANNEL_BASE = 0x1000;
/** Bit of hs.net_if_flags: the interface has open sockets (it speaks the protocol and is up now);
 * without it the interface is only a connected network (passive), or it is down. */
export const NET_IF_ACTIVE = 1;
/** Bit of hs.net_if_flags: the link is up (administratively, with carrier and an IPv4 address). */
export const NET_IF_UP = 2;
/** Bit of hs.net_if_flags: the interface is named in `net.interfaces` (speaks the protocol when up). */
export const NET_IF_RIP = 4;
/**
 * Channel of link-change messages from the `net` capability: when an interface's address or
 * state changes, the module gets a message on this channel with `iface` = the interface and a
 * 4-byte payload, its new hs.net_if_flags (little-endian u32); peer = the interface's name. A
 * module that ignores the channel keeps working as before; the flags it reads with
 * hs.net_if_flags are current in any case.
 */
export const NET_LINK_CHANNEL = 0x0fff;

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
  /** Refused because the component is over an import quota (docs/SAFETY.md, "Import quotas"). */
  quotaExceeded: -6,
} as const;

/**
 * Results of the SDK's init and restart exports. The host only tells success (0) from failure;
 * the code names the failure in its error message.
 */
export const StartResult = {
  ok: 0,
  /** The header address is not HEADER_OFFSET, or (restart) the memory was never initialised. */
  badHeader: 1,
  /** The application refused: its onInit or onRestart returned false. */
  refused: 2,
  /** restart: the data is at another layout version than the module's (a migration is missing). */
  layoutMismatch: 3,
} as const;
/** Results of the SDK's migrate and migrate_down exports. */
export const MigrateResult = {
  ok: 0,
  /** The application's migrate or migrateDown returned false; the layout version is unchanged. */
  refused: 1,
} as const;

/** Namespace of every host function offered to modules ("library API symbols"). */
export const HOST_NAMESPACE = 'hs';

type WasmType = 'i32' | 'i64' | 'f32' | 'f64';
export interface Signature {
  readonly params: readonly WasmType[];
  readonly results: readonly WasmType[];
}
const sig = (params: WasmType[], results: WasmType[] = []): Signature => ({ params, results });

/** The AssemblyScript types the ABI's functions are declared with, and the Wasm type each lowers to. */
export const AS_TYPES = { i32: 'i32', u32: 'i32', usize: 'i32', f64: 'f64' } as const satisfies Record<string, WasmType>;
export type AsType = keyof typeof AS_TYPES;

/**
 * A function of the ABI: its Wasm signature, plus its parameters' names and AssemblyScript
 * types, from which scripts/gen-abi.ts writes the SDK's declarations (usize for addresses and
 * lengths, u32 for ids and IPv4 addresses, i32 where negative values mean something).
 */
export interface AbiFunction extends Signature {
  readonly args: readonly (readonly [name: string, type: AsType])[];
  readonly returns: AsType | 'void';
}
/** `fn({ ptr: 'usize', len: 'usize' }, 'i32')`: parameters in order (object keys keep their order). */
function fn(args: Readonly<Record<string, AsType>>, returns: AsType | 'void' = 'void'): AbiFunction {
  const list = Object.entries(args);
  return {
    params: list.map(([, type]) => AS_TYPES[type]),
    results: returns === 'void' ? [] : [AS_TYPES[returns]],
    args: list,
    returns,
  };
}

/** Host imports in the `hs` namespace. The SDK declares each as `hs_<name>` (generated). */
export const HOST_IMPORTS = {
  log: fn({ level: 'i32', ptr: 'usize', len: 'usize' }),
  reply: fn({ ptr: 'usize', len: 'usize' }, 'i32'),
  send: fn({ channel: 'u32', peerPtr: 'usize', peerLen: 'usize', ptr: 'usize', len: 'usize' }, 'i32'),
  timer_set: fn({ id: 'u32', delayMs: 'f64', repeatMs: 'f64' }),
  timer_cancel: fn({ id: 'u32' }, 'i32'),
  timer_due_in: fn({ id: 'u32' }, 'f64'),
  now_ms: fn({}, 'f64'),
  monotonic_ms: fn({}, 'f64'),
  random_fill: fn({ ptr: 'usize', len: 'usize' }),
  output: fn({ ptr: 'usize', len: 'usize' }),
  data_root: fn({}, 'usize'),
  // ---- Host capabilities (host/capabilities/, docs/ABI.md "Capability imports"). Every module
  // may import them, but they answer HostResult.denied unless the component's configuration
  // grants the capability ("capabilities": {"net", "routes", "settings"}).
  /** Number of IPv4 interfaces the `net` capability knows (index = InboxField.iface). */
  net_if_count: fn({}, 'i32'),
  /** Interface i's IPv4 address as a big-endian u32 in an i32. */
  net_if_addr: fn({ i: 'i32' }, 'u32'),
  /** Interface i's prefix length (0..32). */
  net_if_prefix_len: fn({ i: 'i32' }, 'i32'),
  /** Interface i's flags: NET_IF_ACTIVE, NET_IF_UP, NET_IF_RIP. */
  net_if_flags: fn({ i: 'i32' }, 'i32'),
  /** Copies interface i's name (UTF-8) to (ptr, cap); returns its length. */
  net_if_name: fn({ i: 'i32', ptr: 'usize', cap: 'usize' }, 'i32'),
  /** Installs or replaces a kernel route: (prefix, prefixLen, nextHop, iface). */
  route_install: fn({ prefix: 'u32', len: 'i32', nextHop: 'u32', iface: 'i32' }, 'i32'),
  /** Withdraws a kernel route this component installed: (prefix, prefixLen). */
  route_withdraw: fn({ prefix: 'u32', len: 'i32' }, 'i32'),
  /** Copies the setting named (keyPtr, keyLen) to (ptr, cap); returns its length or -1 when unset. */
  settings_get: fn({ keyPtr: 'usize', keyLen: 'usize', ptr: 'usize', cap: 'usize' }, 'i32'),
  /** 1 while the engine is shutting down (TERM for good, not for a swap), else 0. */
  engine_stopping: fn({}, 'i32'),
  /**
   * Inside `on_messages`: the host starts the batch's next message and returns its record's
   * index (0, 1, …), or -1 when the batch is over (always -1 outside `on_messages`). Fuel
   * metering refills the message budget after every call that returns an index.
   */
  next_message: fn({}, 'i32'),
} as const satisfies Record<string, AbiFunction>;
export type HostImportName = keyof typeof HOST_IMPORTS;

/** AssemblyScript runtime imports from `env` that the host also satisfies (the SDK declares none). */
export const ENV_IMPORTS = {
  abort: sig(['i32', 'i32', 'i32', 'i32']),
  trace: sig(['i32', 'i32', 'f64', 'f64', 'f64', 'f64', 'f64']),
  seed: sig([], ['f64']),
  'Date.now': sig([], ['f64']),
} as const satisfies Record<string, Signature>;

/**
 * The fuel budget a callback runs under (docs/SAFETY.md, "Fuel"); host/modules/fuel-budgets.ts
 * sets their sizes. `lifecycle` also pays for a module's top-level (start) code.
 */
export type FuelKind = 'message' | 'timer' | 'signal' | 'init' | 'restart' | 'migrate' | 'lifecycle';

/** An export the host calls: whether every module must have it, and the budget it runs under. */
export interface AbiExport extends AbiFunction {
  readonly required: boolean;
  readonly fuel: FuelKind;
}
const required = (fuel: FuelKind, f: AbiFunction) => ({ ...f, required: true as const, fuel });
const optional = (fuel: FuelKind, f: AbiFunction) => ({ ...f, required: false as const, fuel });

/**
 * Every export the host calls, defined once: the paper's lifecycle and event-receive callbacks,
 * and the optional layout migrations (docs/ABI.md, "Exports" and "Migrations"). Module checks,
 * fuel trampolines and ModuleInstance's bindings are derived from it, and scripts/gen-abi.ts
 * verifies the SDK's assembly/sdk/exports.ts against it.
 */
export const EXPORTS = {
  abi_version: required('lifecycle', fn({}, 'u32')),
  layout_version: required('lifecycle', fn({}, 'u32')),
  init: required('init', fn({ header: 'u32' }, 'i32')),
  restart: required('restart', fn({ header: 'u32' }, 'i32')),
  term: required('lifecycle', fn({})),
  hold: required('lifecycle', fn({})),
  on_message: required('message', fn({ channel: 'u32', len: 'u32' })),
  /** Optional: up to `count` messages of the batch inbox, walked with hs.next_message. */
  on_messages: optional('message', fn({ count: 'u32' })),
  on_timer: required('timer', fn({ id: 'u32' })),
  on_signal: required('signal', fn({ signo: 'u32' })),
  version: required('lifecycle', fn({})),
  status: required('lifecycle', fn({})),
  migrate: optional('migrate', fn({ from: 'u32' }, 'i32')),
  migrate_down: optional('migrate', fn({ to: 'u32' }, 'i32')),
} as const satisfies Record<string, AbiExport>;

export type ExportName = keyof typeof EXPORTS;
export type RequiredExportName = { [K in ExportName]: (typeof EXPORTS)[K]['required'] extends true ? K : never }[ExportName];
export type OptionalExportName = Exclude<ExportName, RequiredExportName>;
export const EXPORT_NAMES = Object.keys(EXPORTS) as readonly ExportName[];

/** Exports every module must provide (derived from EXPORTS). */
export const REQUIRED_EXPORTS = pickExports((e) => e.required) as Readonly<Record<RequiredExportName, AbiExport>>;
/** Exports a module may provide (derived from EXPORTS). */
export const OPTIONAL_EXPORTS = pickExports((e) => !e.required) as Readonly<Record<OptionalExportName, AbiExport>>;

function pickExports(keep: (e: AbiExport) => boolean): Readonly<Partial<Record<ExportName, AbiExport>>> {
  return Object.fromEntries(EXPORT_NAMES.filter((name) => keep(EXPORTS[name])).map((name) => [name, EXPORTS[name]]));
}

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

/**
 * Name of the function the host adds to every module it prepares (host/modules/activation.ts)
 * and exports: it copies the module's data segments, made passive, to where they were meant to
 * land (`memory.init`, `data.drop`) and then runs what was the module's start function. With it
 * `new WebAssembly.Instance` writes no memory and runs no module code, so a swap can create the
 * new instance while the old one still serves and only activate it inside the pause
 * (docs/ABI.md, "Activation"). A module may not export this name itself.
 */
export const ACTIVATE_EXPORT = 'hs_activate';

/** `n` rounded up to a multiple of `to`. */
function alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
