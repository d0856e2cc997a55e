/**
 * Draws the ping RTT timeline of a testbed run as an SVG (no dependencies): one panel per
 * upgrade method, replies as dots, lost pings as red bars, and the upgrade moments as lines.
 */
import type { PingResult } from '../test/support/netns/index.js';

export interface Marker {
  /** Unix time in seconds. */
  at: number;
  label: string;
}

export interface Panel {
  title: string;
  ping: PingResult;
  /** Unix time (s) the ping was started: the x origin, and where lost sequence numbers are placed. */
  startedAt: number;
  markers: Marker[];
}

const W = 900;
const PANEL_H = 220;
const M = { left: 60, right: 20, top: 34, bottom: 36 };

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function timelineSvg(panels: Panel[], caption: string): string {
  const height = panels.length * PANEL_H + 40;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(caption)}</text>`,
  ];
  for (const [i, p] of panels.entries()) parts.push(panelSvg(p, 30 + i * PANEL_H));
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/**
 * When each sequence number was sent, on the same wall clock as the markers. Received pings are
 * placed at their real send time (reply time minus RTT); lost ones are interpolated between
 * their received neighbours. Multiplying the sequence number by the nominal interval would
 * drift: ping's real interval is a little longer, so after a few seconds the bars and dots sit
 * hundreds of milliseconds away from the upgrade and stop markers.
 */
function sendClock(p: Panel): (seq: number) => number {
  const interval = p.ping.intervalMs / 1000;
  const known = p.ping.replies.map((r) => ({ seq: r.seq, at: r.at - r.rttMs / 1000 })).sort((a, b) => a.seq - b.seq);
  if (known.length === 0) return (seq) => p.startedAt + (seq - 1) * interval;
  return (seq) => {
    let hi = known.findIndex((k) => k.seq >= seq);
    if (hi === 0 || (hi > 0 && known[hi]!.seq === seq)) return known[hi]!.at + (seq - known[hi]!.seq) * interval;
    if (hi === -1) hi = known.length;
    const a = known[hi - 1]!;
    const b = known[hi];
    if (!b) return a.at + (seq - a.seq) * interval;
    return a.at + ((seq - a.seq) / (b.seq - a.seq)) * (b.at - a.at);
  };
}

function panelSvg(p: Panel, y0: number): string {
  const interval = p.ping.intervalMs / 1000;
  const sentAt = sendClock(p);
  const duration = Math.max(1, sentAt(p.ping.sent) - p.startedAt + interval);
  const maxRtt = Math.max(1, ...p.ping.replies.map((r) => r.rttMs)) * 1.15;
  const plotW = W - M.left - M.right;
  const plotH = PANEL_H - M.top - M.bottom;
  const x = (t: number): number => M.left + ((t - p.startedAt) / duration) * plotW;
  const y = (rtt: number): number => y0 + M.top + plotH - (rtt / maxRtt) * plotH;
  const out: string[] = [];
  out.push(
    `<text x="${M.left}" y="${y0 + 22}" font-weight="bold">${esc(p.title)}: ${p.ping.sent} sent, ${p.ping.lost} lost, longest gap ${p.ping.maxOutageMs} ms</text>`,
  );
  out.push(`<rect x="${M.left}" y="${y0 + M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`);
  for (let k = 0; k <= 4; k++) {
    const v = (maxRtt * k) / 4;
    out.push(`<text x="${M.left - 6}" y="${y(v) + 4}" text-anchor="end" fill="#555">${v.toFixed(2)}</text>`);
  }
  out.push(
    `<text x="14" y="${y0 + M.top + plotH / 2}" transform="rotate(-90 14 ${y0 + M.top + plotH / 2})" text-anchor="middle" fill="#555">RTT (ms)</text>`,
  );
  const step = duration > 20 ? 5 : 1;
  for (let t = 0; t <= duration; t += step) {
    out.push(`<text x="${x(p.startedAt + t)}" y="${y0 + PANEL_H - M.bottom + 16}" text-anchor="middle" fill="#555">${t}s</text>`);
  }
  for (const seq of p.ping.lostSeqs) {
    const at = sentAt(seq);
    out.push(
      `<rect x="${x(at).toFixed(1)}" y="${y0 + M.top}" width="${Math.max(1, (interval / duration) * plotW).toFixed(2)}" height="${plotH}" fill="#e33" opacity="0.35"/>`,
    );
  }
  const dots = p.ping.replies.map(
    (r) => `<circle cx="${x(sentAt(r.seq)).toFixed(1)}" cy="${y(r.rttMs).toFixed(1)}" r="1.6" fill="#1f5fbf"/>`,
  );
  out.push(...dots);
  for (const m of p.markers) {
    const mx = x(m.at).toFixed(1);
    out.push(
      `<line x1="${mx}" y1="${y0 + M.top}" x2="${mx}" y2="${y0 + M.top + plotH}" stroke="#2a2" stroke-width="2" stroke-dasharray="5,3"/>`,
    );
    out.push(`<text x="${Number(mx) + 4}" y="${y0 + M.top + 12}" fill="#2a2">${esc(m.label)}</text>`);
  }
  return out.join('\n');
}
