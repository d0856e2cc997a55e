/**
 * Ping results, per sequence number: parsing iputils ping output (20221126, run with -n -D -O)
 * into replies, losses and outages, which is what the hot-swap experiments measure.
 */
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

export interface StreamPingOptions extends Omit<PingOptions, 'count'> {
  /** Hard upper bound: ping exits by itself after this long (default 600 s). */
  maxDurationMs?: number;
  /** Called for every reply as it arrives. */
  onReply?: (reply: PingReply) => void;
}

const REPLY_RE = /^\[(\d+\.\d+)\] \d+ bytes from ([\d.]+): icmp_seq=(\d+) ttl=(\d+) time=([\d.]+) ms(.*)$/;

export function parseReplyLine(line: string): PingReply | undefined {
  const m = REPLY_RE.exec(line.trim());
  if (!m || m[6]?.includes('DUP!')) return undefined;
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
  let rtt: PingResult['rtt'];
  for (const rawLine of raw.split('\n')) {
    const line = rawLine.trim();
    if (!line) continue;
    const rep = REPLY_RE.exec(line);
    if (rep) {
      const seq = Number(rep[3]);
      maxSeq = Math.max(maxSeq, seq);
      if (rep[6]?.includes('DUP!') || seen.has(seq)) {
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
      errors.push(line.replace(/^\[\d+\.\d+\]\s*/, ''));
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
