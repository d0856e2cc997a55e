// The upload form: a .wasm dropped on it or chosen, the version it claims, a progress bar, and
// the checks' verdict: the engine's message, word for word, when the module is refused.
import { paths } from './api.js';
import { byId, fill } from './dom.js';
import { size } from './format.js';

/** A version in a file name such as `kv-2.0.0.wasm` or `2.0.0.wasm`, offered as the version. */
const VERSION_IN_NAME = /(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)\.wasm$/;

export class UploadForm {
  /** @type {import('./api.js').Api} */
  #api;
  /** @type {() => string | null} */
  #component;
  /** @type {() => void} */
  #stored;
  #form = /** @type {HTMLFormElement} */ (byId('upload'));
  #file = /** @type {HTMLInputElement} */ (byId('upload-file'));
  #version = /** @type {HTMLInputElement} */ (byId('upload-version'));
  #progress = /** @type {HTMLProgressElement} */ (byId('upload-progress'));
  #verdict = byId('upload-verdict');
  /** The version the last file's name gave, to tell it from one the user typed. @type {string | null} */
  #fromName = null;

  /**
   * @param {import('./api.js').Api} api
   * @param {() => string | null} component the component the page shows
   * @param {() => void} stored called after a version was stored
   */
  constructor(api, component, stored) {
    this.#api = api;
    this.#component = component;
    this.#stored = stored;
    this.#form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#submit();
    });
    this.#file.addEventListener('change', () => this.#chosen());
    // A file dropped anywhere on the page is for this form: left to the browser, the drop would
    // navigate away from the dashboard to the file.
    const zone = byId('drop-zone');
    document.addEventListener('dragover', (event) => {
      event.preventDefault();
      zone.classList.add('dropping');
    });
    document.addEventListener('dragleave', (event) => {
      if (event.relatedTarget === null) zone.classList.remove('dropping');
    });
    document.addEventListener('drop', (event) => {
      event.preventDefault();
      zone.classList.remove('dropping');
      const files = event.dataTransfer?.files;
      if (!files || files.length === 0) return;
      // The input holds the file either way, so there is one place the form reads it from.
      this.#file.files = files;
      this.#chosen();
      zone.scrollIntoView({ block: 'nearest' });
    });
  }

  #chosen() {
    const file = this.#file.files?.[0];
    if (!file) return;
    byId('drop-name').textContent = `${file.name} (${size(file.size)})`;
    // A version the user typed stays; one taken from the previous file's name is replaced.
    const claimed = VERSION_IN_NAME.exec(file.name)?.[1];
    const typed = this.#version.value.trim();
    if (claimed && (typed === '' || typed === this.#fromName)) this.#version.value = claimed;
    this.#fromName = claimed ?? null;
    this.#say('', null);
    this.#progress.value = 0;
  }

  async #submit() {
    const name = this.#component();
    const file = this.#file.files?.[0];
    const version = this.#version.value.trim();
    if (!name) return this.#say('No component is selected.', 'error');
    if (!file) return this.#say('Choose or drop a .wasm file first.', 'error');
    if (version === '') return this.#say('Give the version the module reports (its `version` export).', 'error');
    this.#progress.value = 0;
    this.#say(`Uploading ${file.name}…`, null);
    try {
      const { status, body } = await this.#api.upload(
        paths.version(name, version),
        file,
        `Uploading ${file.name} as ${name} ${version}`,
        (f) => {
          this.#progress.value = f;
        },
      );
      this.#progress.value = 1;
      this.#say(
        status === 201
          ? `Stored ${body.module} ${body.version}: it passed the checks (sha256 ${body.sha256}, ${size(body.size)}).`
          : `${body.module} ${body.version} is already stored with exactly these bytes (sha256 ${body.sha256}).`,
        'ok',
      );
      this.#stored();
    } catch (e) {
      this.#progress.value = 0;
      this.#say(/** @type {Error} */ (e).message, 'error');
    }
  }

  /** @param {string} text @param {'ok' | 'error' | null} kind */
  #say(text, kind) {
    fill(this.#verdict, text);
    this.#verdict.className = kind ? `verdict ${kind}` : 'verdict';
  }
}
