// Attack module for test/quota-corpus*.test.ts: kv that calls the host's imports with wild
// arguments. "ATTACK <n>" runs case n alone: an `hs.*` (or `env.abort`/`env.trace`) import with
// pointers outside the memory, negative or huge lengths, or absurd numbers, then replies
// "RESULT <n> <code>" if the import came back. Each import must fail cleanly: a trap (the
// host's RangeError) or an error code, never a crash or a read outside the memory.
// "ATTACK count" answers the number of cases.
// Built by scripts/build-modules.ts into build/hostile/attack-wild-pointers.wasm.
export * from "../../../assembly/sdk/exports";
import { register, Message } from "../../../assembly/sdk";
import { BUS_CHANNEL, INBOX_DATA, LOG_INFO } from "../../../assembly/sdk/generated/abi";
import {
  hs_log, hs_reply, hs_send, hs_timer_set, hs_timer_cancel, hs_timer_due_in, hs_random_fill, hs_output,
  hs_net_if_count, hs_net_if_addr, hs_net_if_prefix_len, hs_net_if_flags, hs_net_if_name,
  hs_route_install, hs_route_withdraw, hs_settings_get,
} from "../../../assembly/sdk/generated/imports";
import { AttackApp, Blob, attackArg, reply } from "./lib/attack";

// The runtime's own env imports, declared again with raw addresses (the SDK never calls them so).
// @ts-ignore: decorator
@external("env", "abort") declare function rawAbort(msg: usize, file: usize, line: u32, col: u32): void;
// @ts-ignore: decorator
@external("env", "trace") declare function rawTrace(msg: usize, n: i32, a0: f64, a1: f64, a2: f64, a3: f64, a4: f64): void;

const WILD: usize = 0xfffffff0; // negative as an i32
const HUGE: usize = 0xffffffff; // -1 as an i32
const BIG: usize = 0x7fffffff; // the largest positive i32
const SELF = Blob.of("kv");
const UDP_PEER = Blob.of("127.0.0.1:9");
const DATA = Blob.of("data");
const LONG_PEER = Blob.filled(60000, 0x39);

/** One past the last byte of the memory. */
function memEnd(): usize { return <usize>memory.size() << 16; }

/** Case n; returns the import's code (0 for imports that return nothing). Aborts on a bad n. */
function wild(n: i32): i32 {
  switch (n) {
    case 0: hs_log(LOG_INFO, WILD, 64); return 0;
    case 1: hs_log(LOG_INFO, INBOX_DATA, HUGE); return 0;
    case 2: hs_log(LOG_INFO, memEnd() - 8, 64); return 0;
    case 3: hs_log(99, INBOX_DATA, BIG); return 0;
    case 4: return hs_reply(WILD, 16);
    case 5: return hs_reply(INBOX_DATA, BIG);
    case 6: return hs_reply(memEnd(), 1);
    case 7: return hs_send(BUS_CHANNEL, WILD, 4, DATA.ptr, DATA.len);
    case 8: return hs_send(BUS_CHANNEL, SELF.ptr, HUGE, DATA.ptr, DATA.len);
    case 9: return hs_send(BUS_CHANNEL, SELF.ptr, SELF.len, WILD, 16);
    case 10: return hs_send(0, UDP_PEER.ptr, UDP_PEER.len, DATA.ptr, BIG);
    case 11: return hs_send(0, UDP_PEER.ptr, UDP_PEER.len, memEnd() - 2, 4);
    case 12: return hs_send(0x7fffffff, UDP_PEER.ptr, UDP_PEER.len, DATA.ptr, DATA.len);
    case 13: return hs_send(0, LONG_PEER.ptr, LONG_PEER.len, DATA.ptr, DATA.len);
    case 14: hs_random_fill(WILD, 16); return 0;
    case 15: hs_random_fill(memEnd() - 4, 64); return 0;
    case 16: hs_random_fill(INBOX_DATA, HUGE); return 0;
    case 17: hs_output(WILD, 16); return 0;
    case 18: hs_output(INBOX_DATA, BIG); return 0;
    case 19: hs_timer_set(0xffffffff, NaN, NaN); return 0;
    case 20: hs_timer_set(0xfffffffe, -1e308, -Infinity); return 0;
    case 21: hs_timer_set(0xfffffffd, 1e308, 1e308); return 0;
    case 22: hs_timer_set(0xfffffffc, Infinity, Infinity); return 0;
    case 23: hs_timer_set(0xfffffffb, 5e-324, 5e-324); return 0;
    case 24: return hs_timer_cancel(0xffffffff) + <i32>hs_timer_due_in(0xffffffff);
    case 25: return hs_net_if_name(-1, WILD, HUGE);
    case 26: return hs_net_if_name(0x7fffffff, memEnd() - 1, BIG);
    case 27: return hs_settings_get(WILD, HUGE, WILD, HUGE);
    case 28: return hs_route_install(0xffffffff, -1, 0xffffffff, -1) + hs_route_withdraw(0, 99);
    case 29: return hs_net_if_count() + <i32>hs_net_if_addr(-1) + hs_net_if_prefix_len(0x7fffffff) + hs_net_if_flags(-5);
    case 30: rawTrace(WILD, 99, NaN, Infinity, -Infinity, 1e308, -0.0); return 0;
    case 31: rawAbort(WILD, memEnd() - 2, 0xffffffff, 0xffffffff); return 0;
  }
  abort("no such case");
  return -1;
}
const CASES: i32 = 32;

class WildPointers extends AttackApp {
  attack(msg: Message): void {
    const arg = attackArg(msg);
    if (arg == "count") { reply(CASES.toString()); return; }
    const n = I32.parseInt(arg);
    reply("RESULT " + n.toString() + " " + wild(n).toString());
  }
}
register(new WildPointers("6.6.6-attack-wild-pointers", true));
