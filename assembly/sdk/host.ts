// Typed wrappers over the host imports (the `hs` namespace of docs/ABI.md).
// They are the module's only door out of the sandbox: the clock and randomness come from here
// too, so a future journal can replay a module deterministically.
import {
  INBOX_OFFSET, INBOX_PEER, INBOX_DATA, INBOX_PEER_LENGTH, INBOX_IFACE, BUS_CHANNEL,
  LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, NET_CHANNEL_BASE, NET_IF_ACTIVE, HOST_OK,
  BATCH_DATA, BATCH_LENGTH, BATCH_CHANNEL, BATCH_IFACE, BATCH_PEER, BATCH_PEER_LENGTH,
} from "./generated/abi";
// The declarations are generated from HOST_IMPORTS in host/abi/abi.ts (scripts/gen-abi.ts).
import {
  hs_log, hs_reply, hs_send, hs_timer_set, hs_timer_cancel, hs_timer_due_in, hs_now_ms, hs_monotonic_ms,
  hs_random_fill, hs_output, hs_data_root, hs_net_if_count, hs_net_if_addr, hs_net_if_prefix_len,
  hs_net_if_flags, hs_net_if_name, hs_route_install, hs_route_withdraw, hs_settings_get, hs_engine_stopping,
} from "./generated/imports";

function withUtf8(text: string, fn: (ptr: usize, len: usize) => void): void {
  const buf = String.UTF8.encode(text);
  fn(changetype<usize>(buf), <usize>buf.byteLength);
}

export namespace log {
  export function debug(text: string): void { const b = String.UTF8.encode(text); hs_log(LOG_DEBUG, changetype<usize>(b), b.byteLength); }
  export function info(text: string): void { const b = String.UTF8.encode(text); hs_log(LOG_INFO, changetype<usize>(b), b.byteLength); }
  export function warn(text: string): void { const b = String.UTF8.encode(text); hs_log(LOG_WARN, changetype<usize>(b), b.byteLength); }
  export function error(text: string): void { const b = String.UTF8.encode(text); hs_log(LOG_ERROR, changetype<usize>(b), b.byteLength); }
}

/**
 * Replies to the message being handled (UDP: to its sender; TCP: one line on its connection).
 * Returns HOST_OK or a negative HostResult code, HOST_QUOTA_EXCEEDED (-6) over the sends quota.
 */
export function reply(text: string): i32 {
  const b = String.UTF8.encode(text);
  return hs_reply(changetype<usize>(b), b.byteLength);
}
/** Replies with raw bytes already in memory (no copy into a string first). */
export function replyBytes(ptr: usize, len: usize): i32 { return hs_reply(ptr, len); }

/** Sends bytes on a channel to a peer address ("ip:port" on UDP, "tcp#N" on TCP); -6 over quota. */
export function sendTo(channel: u32, peer: string, ptr: usize, len: usize): i32 {
  const p = String.UTF8.encode(peer);
  return hs_send(channel, changetype<usize>(p), p.byteLength, ptr, len);
}
/** Sends a text message to another component of the same engine, addressed by its name; -6 over quota or when its queue is full. */
export function sendToComponent(name: string, text: string): i32 {
  const p = String.UTF8.encode(name);
  const b = String.UTF8.encode(text);
  return hs_send(BUS_CHANNEL, changetype<usize>(p), p.byteLength, changetype<usize>(b), b.byteLength);
}

/** Host-owned timers: they keep running while modules are swapped. Ids are chosen by the module. */
export namespace timers {
  export function set(id: u32, delayMs: f64, repeatMs: f64 = 0): void { hs_timer_set(id, delayMs, repeatMs); }
  export function cancel(id: u32): bool { return hs_timer_cancel(id) == HOST_OK; }
  /** Milliseconds until the timer is due, or -1 when it is not set. */
  export function dueIn(id: u32): f64 { return hs_timer_due_in(id); }
}

export namespace clock {
  /** Wall-clock time in ms since the Unix epoch. */
  export function now(): f64 { return hs_now_ms(); }
  /** Monotonic time in ms, for measuring intervals. */
  export function monotonic(): f64 { return hs_monotonic_ms(); }
}

export function randomU32(): u32 {
  const scratch = memory.data(4);
  hs_random_fill(scratch, 4);
  return load<u32>(scratch);
}

/** Appends text to the output of `version`/`status` (what `hotswap show` prints). */
export function output(text: string): void { withUtf8(text, (p: usize, l: usize): void => { hs_output(p, l); }); }

/** The persistent header's address (the paper's permanent data reference). */
export function dataRoot(): usize { return hs_data_root(); }

/**
 * The message being handled, read straight from where the host wrote it: the inbox
 * (on_message) or a record of the batch inbox (on_messages). Its fields are loaded once per
 * message; the payload and the peer's bytes stay where they are.
 *
 * Unmanaged: the one Message (exports.ts) lives as long as its instance and holds no managed
 * reference, so the collector need not know it, and the runtime does not spill it to the
 * shadow stack at each use (six spills per batch record loaded; kv's handler in a loop went
 * 175–183 → 167–169 ns, docs/PERFORMANCE.md).
 */
@unmanaged
export class Message {
  channel: u32 = 0;
  length: u32 = 0;
  /** Address of the payload. */
  ptr: usize = <usize>INBOX_DATA;
  iface: u32 = 0;
  peerPtr: usize = <usize>INBOX_PEER;
  peerLength: usize = 0;

  /** The single message of on_message. */
  fromInbox(channel: u32, length: u32): void {
    this.channel = channel;
    this.length = length;
    this.ptr = <usize>INBOX_DATA;
    this.iface = load<u32>(INBOX_OFFSET + INBOX_IFACE);
    this.peerPtr = <usize>INBOX_PEER;
    this.peerLength = <usize>load<u32>(INBOX_OFFSET + INBOX_PEER_LENGTH);
  }

  /** The batch record at `rec` (BatchField of host/abi/abi.ts). */
  fromRecord(rec: usize): void {
    this.ptr = <usize>load<u32>(rec + BATCH_DATA);
    this.length = load<u32>(rec + BATCH_LENGTH);
    this.channel = load<u32>(rec + BATCH_CHANNEL);
    this.iface = load<u32>(rec + BATCH_IFACE);
    this.peerPtr = <usize>load<u32>(rec + BATCH_PEER);
    this.peerLength = <usize>load<u32>(rec + BATCH_PEER_LENGTH);
  }

  get peer(): string { return String.UTF8.decodeUnsafe(this.peerPtr, this.peerLength); }
  get fromComponent(): bool { return this.channel == BUS_CHANNEL; }
  text(): string { return String.UTF8.decodeUnsafe(this.ptr, this.length); }
  byte(i: u32): u8 { return load<u8>(this.ptr + i); }
}

// ---- Host capabilities (docs/ABI.md, "Capability imports"). Each answers HOST_DENIED
// unless the component's configuration grants it. Addresses are IPv4 as u32 (10.0.1.2 = 0x0A000102).

/** The `net` capability: the host's IPv4 interfaces and their sockets (channel NET_CHANNEL_BASE + i). */
export namespace net {
  /** Number of interfaces (negative when the capability is not granted). */
  export function count(): i32 { return hs_net_if_count(); }
  export function addr(i: i32): u32 { return hs_net_if_addr(i); }
  export function prefixLen(i: i32): i32 { return hs_net_if_prefix_len(i); }
  /** True when the interface has sockets (speaks the protocol); false: connected network only. */
  export function active(i: i32): bool { return (hs_net_if_flags(i) & NET_IF_ACTIVE) != 0; }
  /** Every flag bit: NET_IF_ACTIVE, NET_IF_UP (link up with an address), NET_IF_RIP (named in net.interfaces). */
  export function flags(i: i32): u32 { return <u32>hs_net_if_flags(i); }
  export function name(i: i32): string {
    const buf = memory.data(64);
    const n = hs_net_if_name(i, buf, 64);
    return n > 0 ? String.UTF8.decodeUnsafe(buf, <usize>n) : "";
  }
  /** The channel on which interface i sends (hs.send) and receives. */
  export function channel(i: i32): u32 { return NET_CHANNEL_BASE + <u32>i; }
}

/** The `routes` capability: kernel routes installed by the host (they outlive swaps). */
export namespace routes {
  export function install(prefix: u32, len: i32, nextHop: u32, iface: i32): i32 { return hs_route_install(prefix, len, nextHop, iface); }
  export function withdraw(prefix: u32, len: i32): i32 { return hs_route_withdraw(prefix, len); }
}

/** The `settings` capability: the component's configuration values, as text. */
export namespace settings {
  /** The value of `key`, or `fallback` when it is not set (or the capability is not granted). */
  export function get(key: string, fallback: string = ""): string {
    const k = String.UTF8.encode(key);
    const buf = memory.data(1024);
    const n = hs_settings_get(changetype<usize>(k), <usize>k.byteLength, buf, 1024);
    return n >= 0 ? String.UTF8.decodeUnsafe(buf, <usize>n) : fallback;
  }
  export function number(key: string, fallback: f64): f64 {
    const v = get(key, "");
    if (v.length == 0) return fallback;
    const x = parseFloat(v);
    return isNaN(x) ? fallback : x;
  }
  export function flag(key: string, fallback: bool): bool {
    const v = get(key, "");
    return v.length == 0 ? fallback : v == "true" || v == "1" || v == "yes";
  }
}

/** True during the engine's final TERM (shutdown), false during a swap's TERM. */
export function engineStopping(): bool { return hs_engine_stopping() == 1; }
