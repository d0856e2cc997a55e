/**
 * Ping from a lab host: a fixed count (`runPing`), or a stream for the length of an experiment
 * (`startPing`) that reports replies as they arrive and the parsed result when stopped.
 */
import type { LabHandle } from './lab-process.js';
import {
  type PingOptions,
  type PingReply,
  type PingResult,
  type PingStream,
  parsePing,
  parseReplyLine,
  type StreamPingOptions,
} from './ping-result.js';
import { signalGroup } from './processes.js';
import { TOOL_PATHS } from './tools.js';

function pingArgs(dst: string, opts: PingOptions, extra: string[]): string[] {
  const intervalMs = opts.intervalMs ?? 50;
  // -n: no DNS; -D: timestamps; -O: report missing replies as they happen;
  // -W: how long to wait for a reply at the end.
  const args = ['-n', '-D', '-O', '-i', (intervalMs / 1000).toString(), '-W', String(opts.replyWaitS ?? 1)];
  if (opts.size !== undefined) args.push('-s', String(opts.size));
  if (opts.source !== undefined) args.push('-I', opts.source);
  return [...args, ...extra, dst];
}

/** Pings `dst` from a host with iputils ping; resolves with per-seq results (never rejects on loss). */
export async function runPing(lab: LabHandle, host: string, dst: string, opts: PingOptions = {}): Promise<PingResult> {
  const count = opts.count ?? 10;
  const intervalMs = opts.intervalMs ?? 50;
  const timeoutMs = count * intervalMs + (opts.replyWaitS ?? 1) * 1000 + 10_000;
  const res = await lab.execFull(host, TOOL_PATHS.ping, pingArgs(dst, opts, ['-c', String(count)]), {
    timeoutMs,
    allowFailure: true, // ping exits 1 when something was lost
  });
  return parsePing(res.stdout + res.stderr, dst, intervalMs);
}

/**
 * Starts ping in the background for the length of an experiment. `stop()` sends SIGINT so ping
 * prints its summary, then returns the parsed result. Bounded by `maxDurationMs`, so a forgotten
 * stream ends by itself.
 */
export function startPing(lab: LabHandle, host: string, dst: string, opts: StreamPingOptions = {}): PingStream {
  const intervalMs = opts.intervalMs ?? 50;
  const maxS = Math.ceil((opts.maxDurationMs ?? 600_000) / 1000);
  // Bounded by `timeout`, not by ping's own -w: with a deadline set, iputils ping EXITS at the
  // first ICMP error (e.g. "Destination Net Unreachable" while a router has no route), which
  // would end the measurement exactly when an outage starts.
  const proc = lab.spawn(host, 'timeout', ['-s', 'INT', String(maxS), TOOL_PATHS.ping, ...pingArgs(dst, opts, [])], {
    pipe: true,
    label: `${host}-ping-${dst}`,
  });
  let raw = '';
  let partial = '';
  const replies: PingReply[] = [];
  proc.child.stdout?.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    raw += text;
    partial += text;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const r = parseReplyLine(line);
      if (r) {
        replies.push(r);
        opts.onReply?.(r);
      }
    }
  });
  proc.child.stderr?.on('data', (c: Buffer) => {
    raw += c.toString('utf8');
  });
  let result: Promise<PingResult> | undefined;
  return {
    dst,
    replies,
    stop: () => {
      result ??= (async () => {
        if (proc.running()) {
          signalGroup(proc.pid, 'SIGINT');
          const t = setTimeout(() => signalGroup(proc.pid, 'SIGKILL'), 3000);
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
