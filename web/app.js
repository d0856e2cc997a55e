// The dashboard page: components with their live rates, then, for the component shown, its
// traffic, its latest swaps phase by phase, its versions (Upgrade, Rollback), the upload form,
// its status text and its history. Reads the control API and the live stream; changes go
// through the API with the bearer token, under the same checks as the CLI.
import { Api, paths } from './api.js';
import { phaseChart, trafficChart } from './charts.js';
import { byId, el, fill } from './dom.js';
import { clock, micros, transition } from './format.js';
import { LiveStream } from './live.js';
import { TokenKeeper } from './token.js';
import { UploadForm } from './upload.js';
import { renderComponents, renderHistory, renderVersions } from './views.js';

const HISTORY_LIMIT = 50;
/** How many of the latest swaps get their phases drawn. */
const PHASE_SWAPS = 3;

/** @typedef {import('./views.js').HistoryEntry} HistoryEntry */

class Dashboard {
  #tokens = new TokenKeeper();
  #api = new Api(this.#tokens);
  #live = new LiveStream();
  /** @type {string | null} */
  #selected = null;
  /** @type {import('./views.js').ComponentRow[]} */
  #statuses = [];
  /** @type {import('./views.js').VersionRow[]} */
  #versions = [];
  /** @type {HistoryEntry[]} */
  #history = [];
  #busy = false;
  #redraw = 0;

  start() {
    this.#tokens.onChange(() => this.#renderToken());
    byId('token-set').addEventListener('click', () => void this.#tokens.ask('Give the token to upload, upgrade and roll back.'));
    byId('token-forget').addEventListener('click', () => this.#tokens.forget());
    byId('rollback-previous').addEventListener('click', () => void this.#swap('rollback', null));
    new UploadForm(
      this.#api,
      () => this.#selected,
      () => void this.#refreshSelected(),
    );
    this.#live.on('state', (state) => {
      const node = byId('connection');
      node.textContent = state === 'live' ? 'live' : `${state}…`;
      node.className = `dot ${state}`;
    });
    this.#live.on('hello', () => this.#renderLive());
    this.#live.on('sample', () => this.#renderLive());
    for (const event of /** @type {const} */ (['swap', 'fault', 'rejected'])) {
      this.#live.on(event, (what) => {
        if (event === 'swap' && what.result === 'ok') this.#ran(what.component, what.to);
        void this.#refreshComponents();
        if (what.component === this.#selected) void this.#refreshSelected();
      });
    }
    window.addEventListener('resize', () => {
      cancelAnimationFrame(this.#redraw);
      this.#redraw = requestAnimationFrame(() => this.#renderCharts());
    });
    this.#renderToken();
    this.#live.start();
    void this.#refreshComponents().then(() => this.#refreshSelected());
  }

  /** @param {string} name */
  #select(name) {
    if (name === this.#selected) return;
    this.#selected = name;
    this.#versions = [];
    this.#history = [];
    this.#renderAll();
    void this.#refreshSelected();
  }

  async #refreshComponents() {
    try {
      this.#statuses = await this.#api.get(paths.components());
      if (this.#selected === null || !this.#statuses.some((c) => c.name === this.#selected))
        this.#selected = this.#statuses[0]?.name ?? null;
      this.#renderComponents();
    } catch (e) {
      this.#notice(`Could not read the components: ${/** @type {Error} */ (e).message}`, 'error');
    }
  }

  async #refreshSelected() {
    const name = this.#selected;
    if (!name) return;
    try {
      const [versions, history, show] = await Promise.all([
        this.#api.get(paths.versions(name)),
        this.#api.get(paths.history(name, HISTORY_LIMIT)),
        this.#api.text(paths.show(name)),
      ]);
      if (name !== this.#selected) return; // another component was chosen meanwhile
      this.#versions = versions;
      this.#history = history;
      fill(byId('show'), show);
      this.#renderAll();
    } catch (e) {
      this.#notice(`Could not read ${name}: ${/** @type {Error} */ (e).message}`, 'error');
    }
  }

  /**
   * Upgrade to a version, roll back to one, or (version null) roll back the way the engine
   * chooses: the API's rules and messages, exactly as the CLI gets them.
   * @param {'upgrade' | 'rollback'} reason @param {string | null} version
   */
  async #swap(reason, version) {
    const name = this.#selected;
    if (!name || this.#busy) return;
    const what = reason === 'upgrade' ? `Upgrade ${name} to ${version}` : `Roll back ${name}${version ? ` to ${version}` : ''}`;
    this.#setBusy(true);
    this.#notice(`${what}…`, null);
    try {
      const report = await this.#api.post(paths[reason](name), version ? { version } : {}, `${what}: give the bearer token.`);
      this.#ran(name, report.to);
      this.#notice(
        `${name}: ${transition(report.from, report.to)} ${report.result}, pause ${micros(report.pauseUs)}, ` +
          `${report.queued} events queued during the swap`,
        'ok',
      );
    } catch (e) {
      this.#notice(/** @type {Error} */ (e).message, 'error');
    } finally {
      this.#setBusy(false);
      await Promise.all([this.#refreshComponents(), this.#refreshSelected()]);
    }
  }

  /** A swap to `version` succeeded: shown at once, before the next sample or read says so. */
  #ran(/** @type {string} */ name, /** @type {string} */ version) {
    for (const c of [...this.#statuses, ...(this.#live.samples.at(-1)?.components ?? [])]) {
      if (c.name === name) c.version = version;
    }
    for (const v of this.#versions) v.running = v.version === version;
    this.#renderAll();
  }

  /** @param {boolean} busy */
  #setBusy(busy) {
    this.#busy = busy;
    byId('rollback-previous').toggleAttribute('disabled', busy);
    this.#renderVersions();
  }

  /** @param {string} text @param {'ok' | 'error' | null} kind */
  #notice(text, kind) {
    const node = byId('notice');
    fill(node, text);
    node.className = kind ? `notice ${kind}` : 'notice';
  }

  #renderToken() {
    const has = this.#tokens.token !== null;
    byId('token-state').textContent = has ? 'Token given (kept in this tab)' : 'No token: read only';
    byId('token-set').textContent = has ? 'Change token' : 'Give token';
    byId('token-forget').hidden = !has;
  }

  #renderAll() {
    for (const node of document.querySelectorAll('.component-name')) node.textContent = this.#selected ?? '';
    this.#renderComponents();
    this.#renderVersions();
    renderHistory(/** @type {HTMLElement} */ (byId('history').querySelector('tbody')), this.#history);
    this.#renderCharts();
  }

  #renderLive() {
    this.#renderComponents();
    this.#renderTraffic();
  }

  #renderComponents() {
    // The live sample is the newest word on every component; the API's answer fills in before it.
    const live = this.#live.samples.at(-1)?.components;
    const rows = live && live.length > 0 ? live : this.#statuses;
    renderComponents(/** @type {HTMLElement} */ (byId('components').querySelector('tbody')), rows, this.#selected, (n) => this.#select(n));
  }

  #renderVersions() {
    if (!this.#selected) return;
    renderVersions(/** @type {HTMLElement} */ (byId('versions').querySelector('tbody')), this.#selected, this.#versions, {
      upgrade: (v) => void this.#swap('upgrade', v),
      rollback: (v) => void this.#swap('rollback', v),
      busy: this.#busy,
    });
  }

  #renderCharts() {
    this.#renderTraffic();
    this.#renderPhases();
  }

  /** The swaps in the history that ran (not the refusals), newest first, as drawn. */
  #swaps() {
    return this.#history
      .filter((h) => (h.kind === 'upgrade' || h.kind === 'rollback') && h.detail?.phasesUs)
      .map((h) => ({ ...h.detail, at: Date.parse(h.at) }));
  }

  #renderTraffic() {
    const box = byId('traffic');
    if (!this.#selected) return;
    const width = Math.max(box.clientWidth, 280);
    fill(box, trafficChart(this.#live.samples, this.#selected, this.#swaps(), width));
  }

  #renderPhases() {
    const box = byId('phases');
    const swaps = this.#swaps().slice(0, PHASE_SWAPS);
    if (swaps.length === 0) return fill(box, el('p', { class: 'muted' }, 'No swap yet.'));
    const phases = this.#live.phases.length > 0 ? this.#live.phases : Object.keys(swaps[0].phasesUs);
    const maxUs = Math.max(1, ...swaps.flatMap((s) => Object.values(s.phasesUs).filter((v) => typeof v === 'number')));
    const width = Math.max(box.clientWidth, 280);
    fill(
      box,
      swaps.map((s) =>
        el(
          'figure',
          { class: 'swap-phases', 'data-to': s.to },
          el(
            'figcaption',
            {},
            el('strong', {}, `${s.reason} ${transition(s.from, s.to)}`),
            ` ${s.result} · pause ${micros(s.pauseUs)} · ${s.queued} queued · ${clock(s.at)}`,
          ),
          phaseChart(s, phases, maxUs, width),
        ),
      ),
    );
  }
}

new Dashboard().start();
