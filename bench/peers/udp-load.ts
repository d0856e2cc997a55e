/**
 * Reusable UDP load generator for the key-value protocol of
 * bench/peers/dgram-kv-server.ts (and of anything speaking the same protocol,
 * e.g. our hot-swapped wasm component). Meant to run as a separate process so
 * that it does not share an event loop with the server under test:
 *
 *   node --import tsx bench/peers/udp-load.ts --port P [--host 127.0.0.1]
 *       [--count N] [--seconds S] [--window W] [--mix get|set|mixed]
 *       [--keys K] [--timeout-ms T] [--no-prefill] [--rate R] [--trace FILE]
 *
 *  --rate R      paces the measured phase at R requests/s (open loop, still
 *                capped by --window in flight), e.g. "80% of the maximum";
 *  --trace FILE  writes one (send time, latency) pair per received reply of
 *                the measured phase as little-endian float64 µs. The send time
 *                is on the machine-wide monotonic clock (process.hrtime, the
 *                same in every process), so another process's event times
 *                (e.g. an engine's swap windows) can be joined with it.
 *
 * Prints one JSON object as its last stdout line:
 *   {sent, received, lost, duplicated, reordered, late, unexpected, seconds,
 *    rps, latency_us: {p50, p99, ...}, ...}
 *
 * How replies are matched although the protocol has no request ids:
 *  - Prefill: SET k<i> v<i> for every i < K (not counted in the results).
 *  - GET requests ask for k<i> and must get exactly `VALUE v<i>`: the echoed
 *    value identifies the request. The generator never has two GETs for the
 *    same key in flight (it needs K >= W to always find a free key), so a reply
 *    maps to exactly one outstanding request.
 *  - SET requests write SET k<i> v<i> (the same value the prefill wrote, so
 *    GET expectations keep holding under any mix); their `OK` replies are
 *    anonymous and are matched to the oldest outstanding SET (FIFO, which is
 *    what a single server socket on loopback delivers).
 *  - lost: no reply within --timeout-ms (default 1000). A reply that arrives
 *    after its request timed out is counted as `late`, not as received.
 *  - duplicated: a reply that matches no outstanding or timed-out request.
 *  - reordered: a GET reply that arrived after the reply to a newer GET.
 *    Only GETs are judged: identical `OK`s cannot reveal their order. So use
 *    --mix get when ordering matters (with --mix mixed a swap of a GET reply
 *    with a neighbouring SET reply goes unseen).
 *  - With --mix set, lost and duplicated are net counts: a duplicated `OK`
 *    answers for a lost one and the two cancel out. --mix get counts both
 *    exactly (a duplicate that comes after its key timed out counts as late).
 *  - unexpected: any other reply (NOT_FOUND, a wrong VALUE, ERROR ...), e.g.
 *    when the server lost its state.
 * Invariant at the end: sent == received + lost.
 *
 * Bounded: stops sending after --count requests or --seconds, whichever comes
 * first, then waits at most --timeout-ms for the stragglers; a safety timer
 * ends the process regardless. Only loopback targets are accepted.
 */
import dgram from 'node:dgram';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { isLoopback } from './dgram-kv-server.js';
import { round } from './stats.js';
import { type LoadOptions, parseArgs } from './udp-load-options.js';
import { Histogram, type PhaseResult, Trace } from './udp-load-stats.js';

export type { LoadOptions, Mix } from './udp-load-options.js';
export { monotonicUs, type PhaseResult } from './udp-load-stats.js';

const GET = 0;
const SET = 1;

interface Req {
  seq: number;
  kind: typeof GET | typeof SET;
  key: number;
  t: number; // performance.now() at send, ms
}

/**
 * One windowed run over one connected socket. `pick(seq)` says what request
 * number `seq` is (GET or SET); keys are chosen here so in-flight GET keys are
 * unique.
 */
function runPhase(
  o: LoadOptions,
  count: number,
  seconds: number,
  pick: (seq: number) => typeof GET | typeof SET,
  setKey: (seq: number) => number,
  rate = 0,
  trace: Trace | null = null,
): Promise<PhaseResult> {
  return new Promise((done, fail) => {
    // Big socket buffers (as the engine's UdpSource asks for): with many requests in flight, a
    // burst of replies after a server stall must not overflow the default ~200 KB buffer here.
    const sock = dgram.createSocket({ type: o.host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    const outstanding = new Map<number, Req>(); // seq -> request, insertion (= seq) order
    const getByKey = new Int32Array(o.keys).fill(-1); // key -> seq of its in-flight GET
    const setFifo: number[] = []; // seqs of SETs in send order (timed-out ones skipped lazily)
    let setHead = 0;
    const suspects: number[] = []; // SETs presumed lost (see matchSet)
    let suspectHead = 0;
    const lateGetKeys = new Set<number>(); // keys of GETs that timed out: a reply may still come
    let lateSets = 0;
    const hist = new Histogram(o.timeoutMs * 1000);
    let seq = 0;
    let keyCursor = 0;
    let received = 0,
      lost = 0,
      duplicated = 0,
      reordered = 0,
      late = 0,
      unexpected = 0,
      sendErrors = 0;
    let maxMatchedSeq = -1; // newest request answered (any kind)
    let maxMatchedGetSeq = -1; // newest GET answered
    let t0 = 0,
      tLast = 0,
      endSend = 0;
    let finished = false;

    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearInterval(scanner);
      if (pacer) clearInterval(pacer);
      clearTimeout(safety);
      sock.close();
      const secs = Math.max(1e-9, ((tLast || performance.now()) - t0) / 1000);
      done({
        sent: seq,
        received,
        lost,
        duplicated,
        reordered,
        late,
        unexpected,
        send_errors: sendErrors,
        seconds: round(secs, 3),
        rps: Math.round(received / secs),
        latency_us: hist.summary(),
      });
    };

    const freeKey = (): number => {
      // At most `keys` probes; K >= W and at most W-1 GETs in flight here, so one is free.
      for (let i = 0; i < o.keys; i++) {
        const k = keyCursor++ % o.keys;
        if (getByKey[k] === -1) return k;
      }
      throw new Error('no free key: --keys must be >= --window');
    };

    const pump = (): void => {
      if (t0 === 0) return; // not connected yet (the scanner and pacer timers start before)
      const now = performance.now();
      // Keep `window` requests in flight; stop at `count` or when time is up; with a rate,
      // send no more than the schedule allows so far (open loop: a slow reply doesn't slow it).
      const allowed = rate > 0 ? Math.floor(((now - t0) / 1000) * rate) + 1 : count;
      while (outstanding.size < o.window && seq < count && seq < allowed && now < endSend) {
        const kind = pick(seq);
        const key = kind === GET ? freeKey() : setKey(seq);
        const req: Req = { seq, kind, key, t: performance.now() };
        outstanding.set(seq, req);
        if (kind === GET) getByKey[key] = seq;
        else setFifo.push(seq);
        seq++;
        sock.send(kind === GET ? `GET k${key}` : `SET k${key} v${key}`, (err) => {
          if (err) sendErrors++; // the request will time out and count as lost
        });
      }
      if (outstanding.size === 0 && (seq >= count || now >= endSend)) finish();
    };

    /**
     * Which outstanding SET does an anonymous `OK` answer? Assuming in-order
     * delivery (what loopback does), the first SET sent after the newest
     * request already answered. Outstanding SETs older than that one are
     * moved to `suspects` (presumed lost: they will time out, unless their
     * reply shows up late, reordered). Only when no SET newer than the newest
     * answer is outstanding is the oldest suspect taken. This way one lost
     * `OK` costs one `lost`, not a run of false `reordered`; and every step
     * moves the FIFO head forward, so the work per reply is O(1) amortised.
     */
    const matchSet = (): Req | undefined => {
      while (setHead < setFifo.length) {
        const req = outstanding.get(setFifo[setHead]!);
        setHead++;
        if (!req) continue; // timed out already
        if (req.seq > maxMatchedSeq) {
          compact();
          return req;
        }
        suspects.push(req.seq);
      }
      compact();
      while (suspectHead < suspects.length) {
        const req = outstanding.get(suspects[suspectHead++]!);
        if (req) return req;
      }
      return undefined;
    };
    // Drop consumed prefixes now and then so the arrays stay small.
    const compact = (): void => {
      if (setHead > 4096) {
        setFifo.splice(0, setHead);
        setHead = 0;
      }
      if (suspectHead > 4096) {
        suspects.splice(0, suspectHead);
        suspectHead = 0;
      }
    };

    const match = (req: Req, now: number): void => {
      outstanding.delete(req.seq);
      if (req.kind === GET) getByKey[req.key] = -1;
      received++;
      tLast = now;
      hist.add((now - req.t) * 1000);
      trace?.add(req.t, (now - req.t) * 1000);
      if (req.seq > maxMatchedSeq) maxMatchedSeq = req.seq;
      // Reordering is judged on GETs only: their replies identify themselves,
      // whereas a SET's match is an inference (see matchSet) that a single
      // duplicated `OK` would shift, turning every later reply into a false
      // "reordered".
      if (req.kind === GET) {
        if (req.seq < maxMatchedGetSeq) reordered++;
        else maxMatchedGetSeq = req.seq;
      }
    };

    sock.on('message', (msg) => {
      if (finished) return;
      const now = performance.now();
      const s = msg.toString('latin1');
      if (s === 'OK') {
        const req = matchSet();
        if (req) match(req, now);
        else if (lateSets > 0) {
          lateSets--;
          late++;
        } else duplicated++;
      } else if (s.startsWith('VALUE v')) {
        const k = Number(s.slice(7));
        if (!Number.isInteger(k) || k < 0 || k >= o.keys) unexpected++;
        else if (getByKey[k]! >= 0) match(outstanding.get(getByKey[k]!)!, now);
        else if (lateGetKeys.delete(k)) late++;
        else duplicated++;
      } else {
        unexpected++;
      }
      pump();
    });
    // Connected UDP sockets report ICMP port-unreachable as errors: count, go on.
    sock.on('error', () => {
      sendErrors++;
    });

    // Timeout scan, several times per timeout period. Requests are in seq
    // order in the Map and were sent in that order, so stop at the first one
    // that is still young.
    const scanner = setInterval(
      () => {
        const now = performance.now();
        for (const req of outstanding.values()) {
          if (now - req.t < o.timeoutMs) break;
          outstanding.delete(req.seq);
          lost++;
          if (req.kind === GET) {
            getByKey[req.key] = -1;
            lateGetKeys.add(req.key);
          } else lateSets++;
        }
        pump();
      },
      Math.max(5, Math.min(50, o.timeoutMs / 4)),
    );
    // With a rate, sending is also driven by the clock, not only by replies.
    const pacer = rate > 0 ? setInterval(pump, 1) : null;
    // Last-resort bound: sending time + one timeout to drain + 5 s slack.
    const safety = setTimeout(finish, seconds * 1000 + o.timeoutMs + 5000);

    sock.once('error', fail); // before connect: e.g. a bad address
    sock.connect(o.port, o.host, () => {
      sock.off('error', fail); // from now on errors are counted, not fatal
      t0 = performance.now();
      endSend = t0 + seconds * 1000;
      pump();
    });
  });
}

export interface LoadResult extends PhaseResult {
  config: Omit<LoadOptions, 'prefill'> & { prefill: boolean };
  prefill?: Pick<PhaseResult, 'sent' | 'received' | 'lost' | 'seconds'>;
  accounted: boolean;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  if (!isLoopback(o.host)) throw new Error(`refusing non-loopback target ${o.host}`);
  if (o.keys < o.window) throw new Error(`--keys (${o.keys}) must be >= --window (${o.window})`);
  let prefill: LoadResult['prefill'];
  if (o.prefill) {
    // SET k<i> v<i> for each key once, windowed; generous time bound.
    const p = await runPhase(
      o,
      o.keys,
      60,
      () => SET,
      (seq) => seq,
    );
    prefill = { sent: p.sent, received: p.received, lost: p.lost, seconds: p.seconds };
  }
  const pick = o.mix === 'get' ? () => GET : o.mix === 'set' ? () => SET : (seq: number) => (seq & 1 ? SET : GET);
  const trace = o.trace ? new Trace() : null;
  const r = await runPhase(o, o.count, o.seconds, pick as (seq: number) => typeof GET | typeof SET, (seq) => seq % o.keys, o.rate, trace);
  if (trace && o.trace) trace.write(o.trace);
  return { ...r, accounted: r.sent === r.received + r.lost, config: { ...o }, ...(prefill ? { prefill } : {}) };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runLoad(parseArgs(process.argv.slice(2)))
    .then((r) => console.log(JSON.stringify(r)))
    .catch((e: unknown) => {
      console.error(`udp-load: ${(e as Error).message}`);
      process.exit(1);
    });
}
