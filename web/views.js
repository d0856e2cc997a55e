// The dashboard's tables: components (live), the versions of one component with their Upgrade
// and Rollback buttons, and its history. Rows are built with dom.js, so every value is text.
import { el, fill } from './dom.js';
import { dateTime, micros, rate, size, transition } from './format.js';

/**
 * @typedef {{ name: string, version: string | null, state: string, queueDepth: number, faults: number,
 *   dropped: number, eventsPerSec?: number | null }} ComponentRow
 */

/**
 * @param {HTMLElement} tbody
 * @param {ComponentRow[]} rows
 * @param {string | null} selected
 * @param {(name: string) => void} select
 */
export function renderComponents(tbody, rows, selected, select) {
  fill(
    tbody,
    rows.map((c) =>
      el(
        'tr',
        { class: c.name === selected ? 'selected' : null, 'data-component': c.name },
        el(
          'th',
          { scope: 'row' },
          el(
            'button',
            {
              type: 'button',
              class: 'link',
              'aria-pressed': String(c.name === selected),
              'aria-label': `Show ${c.name}`,
              onclick: () => select(c.name),
            },
            c.name,
          ),
        ),
        el('td', { class: 'version' }, c.version ?? '—'),
        el('td', {}, el('span', { class: `state ${c.state}` }, c.state)),
        el('td', { class: 'num' }, c.queueDepth),
        el('td', { class: 'num rate' }, rate(c.eventsPerSec)),
        el('td', { class: 'num' }, c.faults, c.dropped > 0 ? el('span', { class: 'muted' }, ` (${c.dropped} dropped)`) : null),
      ),
    ),
  );
}

/**
 * @typedef {{ version: string, sha256: string, size: number, abiVersion: number | null, layoutVersion: number | null,
 *   signature: string | null, uploadedAt: string, uploadedBy: string, running: boolean }} VersionRow
 * @param {HTMLElement} tbody
 * @param {string} component
 * @param {VersionRow[]} versions
 * @param {{ upgrade: (version: string) => void, rollback: (version: string) => void, busy: boolean }} actions
 */
export function renderVersions(tbody, component, versions, actions) {
  // Newest first: what an operator is most likely to act on is on top.
  const rows = [...versions].reverse();
  fill(
    tbody,
    rows.map((v) =>
      el(
        'tr',
        { class: v.running ? 'running' : null, 'data-version': v.version },
        el(
          'th',
          { scope: 'row', class: 'version', 'data-label': 'Version' },
          v.version,
          v.running ? el('span', { class: 'badge' }, 'running') : null,
        ),
        el(
          'td',
          { 'data-label': 'sha256' },
          el('code', { class: 'sha', title: v.sha256 }, v.sha256.slice(0, 12), el('span', { class: 'rest' }, v.sha256.slice(12))),
        ),
        el('td', { class: 'num', 'data-label': 'Size' }, size(v.size)),
        el('td', { class: 'num', 'data-label': 'ABI / layout' }, v.abiVersion ?? '?', ' / ', v.layoutVersion ?? '?'),
        el('td', { 'data-label': 'Signature' }, v.signature ? 'signed' : 'unsigned'),
        el('td', { 'data-label': 'Uploaded' }, dateTime(v.uploadedAt), el('br'), el('span', { class: 'muted' }, v.uploadedBy)),
        el(
          'td',
          { class: 'actions', 'data-label': 'Actions' },
          el(
            'button',
            {
              type: 'button',
              'aria-label': `Upgrade ${component} to ${v.version}`,
              disabled: v.running || actions.busy,
              onclick: () => actions.upgrade(v.version),
            },
            'Upgrade',
          ),
          el(
            'button',
            {
              type: 'button',
              class: 'secondary',
              'aria-label': `Roll back ${component} to ${v.version}`,
              disabled: v.running || actions.busy,
              onclick: () => actions.rollback(v.version),
            },
            'Rollback',
          ),
        ),
      ),
    ),
  );
}

/**
 * Why it happened: the engine's cause for a failure, a refusal or a fault; the probation verdict
 * of an automatic rollback; an operator for any other rollback.
 * @param {HistoryEntry} h
 */
function causeOf(h) {
  if (h.cause) return h.cause;
  if (h.detail?.automatic) return h.detail.automatic;
  return h.kind === 'rollback' ? 'asked for by an operator' : '';
}

/**
 * @typedef {{ id: number, at: string, kind: string, from: string | null, to: string | null, result: string,
 *   cause: string | null, pauseUs: number | null, queued: number | null, detail: any }} HistoryEntry
 * @param {HTMLElement} tbody
 * @param {HistoryEntry[]} entries newest first, as the API gives them
 */
export function renderHistory(tbody, entries) {
  fill(
    tbody,
    entries.length === 0 ? el('tr', {}, el('td', { colspan: 6, class: 'muted' }, 'Nothing yet.')) : null,
    entries.map((h) =>
      el(
        'tr',
        { class: `result-${h.result}`, 'data-kind': h.kind },
        el('td', { 'data-label': 'When' }, dateTime(h.at)),
        el('td', { 'data-label': 'What' }, h.kind, h.detail?.automatic ? el('span', { class: 'muted' }, ' (automatic)') : null),
        el('td', { class: 'version', 'data-label': 'Versions' }, transition(h.from, h.to)),
        el('td', { 'data-label': 'Result' }, el('span', { class: `result ${h.result}` }, h.result)),
        el('td', { class: 'num', 'data-label': 'Pause' }, micros(h.pauseUs)),
        el('td', { class: 'cause', 'data-label': 'Cause' }, causeOf(h)),
      ),
    ),
  );
}
