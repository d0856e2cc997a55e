// The control API's bearer token in the browser: asked for once, kept in this tab's
// sessionStorage (gone when the tab closes), sent only in the Authorization header.
import { byId } from './dom.js';

const KEY = 'hotswap.token';

export class TokenKeeper {
  /** @type {HTMLDialogElement} */
  #dialog;
  /** @type {HTMLInputElement} */
  #input;
  /** @type {((token: string | null) => void) | null} */
  #answer = null;
  /** @type {(() => void)[]} */
  #listeners = [];

  constructor() {
    this.#dialog = /** @type {HTMLDialogElement} */ (byId('token-dialog'));
    this.#input = /** @type {HTMLInputElement} */ (byId('token-input'));
    byId('token-form').addEventListener('submit', (event) => {
      // Never submitted anywhere: the token must not end up in a URL.
      event.preventDefault();
      const token = this.#input.value.trim();
      if (token === '') return;
      sessionStorage.setItem(KEY, token);
      this.#close(token);
    });
    byId('token-cancel').addEventListener('click', () => this.#close(null));
    // Escape closes a modal dialog without a submit.
    this.#dialog.addEventListener('close', () => this.#close(null));
  }

  /** @returns {string | null} */
  get token() {
    return sessionStorage.getItem(KEY);
  }

  /** @param {() => void} listener called when the token is given or forgotten */
  onChange(listener) {
    this.#listeners.push(listener);
  }

  forget() {
    sessionStorage.removeItem(KEY);
    this.#notify();
  }

  /**
   * The token, asking for it when this tab has none yet; null when the user cancels.
   * @param {string} why what the token is needed for, shown in the dialog
   * @returns {Promise<string | null>}
   */
  ensure(why) {
    const token = this.token;
    return token ? Promise.resolve(token) : this.ask(why);
  }

  /** @param {string} why @returns {Promise<string | null>} */
  ask(why) {
    this.#answer?.(null);
    byId('token-why').textContent = why;
    this.#input.value = '';
    if (!this.#dialog.open) this.#dialog.showModal();
    this.#input.focus();
    return new Promise((resolve) => {
      this.#answer = resolve;
    });
  }

  /** @param {string | null} token */
  #close(token) {
    const answer = this.#answer;
    this.#answer = null;
    this.#input.value = '';
    if (this.#dialog.open) this.#dialog.close();
    if (answer) {
      answer(token);
      this.#notify();
    }
  }

  #notify() {
    for (const listener of this.#listeners) listener();
  }
}
