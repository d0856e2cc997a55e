// The dashboard's two drawings, in plain SVG: traffic (events/s over time, with each swap marked
// and its pause below), and the phases of the latest swaps, one bar per phase in microseconds.
import { svg } from './dom.js';
import { clock, micros, rate, transition } from './format.js';

/**
 * @typedef {import('./live.js').Sample} Sample
 * @typedef {{ at: number, from: string | null, to: string, reason: string, result: string, pauseUs: number,
 *   phasesUs: Record<string, number | null | undefined> }} Swap
 */

const PAD = { left: 52, right: 14, top: 18, bottom: 22 };
const EVENTS_HEIGHT = 150;
const PAUSE_HEIGHT = 64;

/** A round upper bound for an axis (1, 2, 5 × 10ⁿ), so its ticks are readable. @param {number} max */
function niceMax(max) {
  if (!(max > 0)) return 1;
  const step = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 5, 10].map((m) => m * step).find((v) => v >= max) ?? 10 * step;
}

/**
 * Events per second of one component, and the pause of every swap in the same time window.
 * @param {Sample[]} samples @param {string} name @param {Swap[]} swaps @param {number} width
 * @returns {SVGElement}
 */
export function trafficChart(samples, name, swaps, width) {
  const height = PAD.top + EVENTS_HEIGHT + PAD.bottom + PAUSE_HEIGHT + PAD.bottom;
  const points = samples.map((s) => ({ at: s.at, value: s.components.find((c) => c.name === name)?.eventsPerSec ?? null }));
  const t0 = points[0]?.at ?? Date.now();
  const t1 = Math.max(points.at(-1)?.at ?? t0, t0 + 1000);
  const inWindow = swaps.filter((s) => s.at >= t0 && s.at <= t1);
  const plotWidth = Math.max(width - PAD.left - PAD.right, 10);
  const x = (/** @type {number} */ at) => PAD.left + ((at - t0) / (t1 - t0)) * plotWidth;
  const values = points.flatMap((p) => (p.value === null ? [] : [p.value]));
  const yMax = niceMax(Math.max(...values, 0));
  const y = (/** @type {number} */ v) => PAD.top + EVENTS_HEIGHT - (v / yMax) * EVENTS_HEIGHT;
  const pauseTop = PAD.top + EVENTS_HEIGHT + PAD.bottom;
  const pauseMax = niceMax(Math.max(...inWindow.map((s) => s.pauseUs), 0));
  const py = (/** @type {number} */ us) => pauseTop + PAUSE_HEIGHT - (us / pauseMax) * PAUSE_HEIGHT;

  const now = values.at(-1);
  const summary =
    `Events per second of ${name} from ${clock(t0)} to ${clock(t1)}: now ${rate(now)}, peak ${rate(Math.max(...values, 0))}. ` +
    (inWindow.length === 0
      ? 'No swap in this window.'
      : `Swaps: ${inWindow.map((s) => `${transition(s.from, s.to)} at ${clock(s.at)}, ${s.result}, pause ${micros(s.pauseUs)}`).join('; ')}.`);

  const line = [];
  for (const p of points) {
    if (p.value === null) continue;
    line.push(`${line.length === 0 ? 'M' : 'L'}${x(p.at).toFixed(1)},${y(p.value).toFixed(1)}`);
  }
  const ticks = [0, 0.5, 1].map((f) => f * yMax);
  const times = [0, 1 / 3, 2 / 3, 1].map((f) => t0 + f * (t1 - t0));

  return svg(
    'svg',
    { class: 'chart traffic', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': summary },
    svg('title', {}, summary),
    ticks.map((v) => [
      svg('line', { class: 'grid', x1: PAD.left, x2: width - PAD.right, y1: y(v), y2: y(v) }),
      svg(
        'text',
        { class: 'axis', x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end' },
        yMax >= 10 ? Math.round(v).toLocaleString('en') : rate(v),
      ),
    ]),
    svg('text', { class: 'axis', x: PAD.left, y: PAD.top - 6 }, 'events/s'),
    times.map((t, i) =>
      svg(
        'text',
        { class: 'axis', x: x(t), y: pauseTop + PAUSE_HEIGHT + 16, 'text-anchor': i === 0 ? 'start' : i === 3 ? 'end' : 'middle' },
        clock(t),
      ),
    ),
    svg('path', { class: 'rate', d: line.join(' ') }),
    svg('line', { class: 'grid', x1: PAD.left, x2: width - PAD.right, y1: py(0), y2: py(0) }),
    svg('text', { class: 'axis', x: PAD.left, y: pauseTop - 6 }, `swap pause (max ${micros(pauseMax)})`),
    inWindow.map((s) => {
      const at = x(s.at);
      const cls = `swap ${s.result === 'ok' ? 'ok' : 'failed'}`;
      return svg(
        'g',
        { class: cls },
        svg('line', { class: 'mark', x1: at, x2: at, y1: PAD.top, y2: py(0) }),
        svg('text', { class: 'label', x: at + 3, y: PAD.top + 10 }, `${s.reason === 'rollback' ? '↩ ' : ''}${s.to}`),
        svg('line', { class: 'pause', x1: at, x2: at, y1: py(0), y2: py(s.pauseUs) }),
        svg('circle', { class: 'pause', cx: at, cy: py(s.pauseUs), r: 3 }),
        svg('text', { class: 'label', x: at + 5, y: py(s.pauseUs) + 4 }, micros(s.pauseUs)),
      );
    }),
  );
}

const ROW = 18;
const LABEL = 92;
const VALUE = 70;

/**
 * One swap's phases: a bar per phase, in microseconds, on a scale shared by every swap drawn
 * (`maxUs`) so that bars of different swaps compare. Phases that did not run say so.
 * @param {Swap} swap @param {string[]} phases @param {number} maxUs @param {number} width
 * @returns {SVGElement}
 */
export function phaseChart(swap, phases, maxUs, width) {
  const shown = phases.filter((p) => p !== 'migrate_down' || typeof swap.phasesUs[p] === 'number');
  const height = shown.length * ROW + 4;
  const barWidth = Math.max(width - LABEL - VALUE, 10);
  const summary = `Phases of ${transition(swap.from, swap.to)}: ${shown
    .map((p) => `${p} ${typeof swap.phasesUs[p] === 'number' ? micros(swap.phasesUs[p]) : 'did not run'}`)
    .join(', ')}.`;
  return svg(
    'svg',
    { class: 'chart phases', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': summary },
    svg('title', {}, summary),
    shown.map((phase, i) => {
      const us = swap.phasesUs[phase];
      const top = i * ROW + 2;
      const ran = typeof us === 'number';
      const w = ran ? Math.max((us / maxUs) * barWidth, 1) : 0;
      return svg(
        'g',
        { class: `phase ${phase}` },
        svg('text', { class: 'axis', x: LABEL - 6, y: top + 12, 'text-anchor': 'end' }, phase),
        ran ? svg('rect', { class: 'bar', x: LABEL, y: top + 2, width: w, height: ROW - 6, rx: 2 }) : null,
        svg('text', { class: ran ? 'value' : 'axis', x: LABEL + w + 4, y: top + 12 }, ran ? micros(us) : 'did not run'),
      );
    }),
  );
}
