// The dashboard's client of the control API (docs/API.md): reads are open, changes carry the
// bearer token in the Authorization header, and an error keeps the server's message word for word.

/** An answer other than 2xx: `message` is the API's `error` field, unchanged. */
export class ApiError extends Error {
  /** @param {number} status @param {Record<string, unknown>} body */
  constructor(status, body) {
    super(typeof body.error === 'string' ? body.error : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** Components and versions are checked names on the server; encoded anyway, as any path part. */
const part = encodeURIComponent;

export const paths = {
  components: () => '/v1/components',
  show: (/** @type {string} */ name) => `/v1/components/${part(name)}/show`,
  versions: (/** @type {string} */ name) => `/v1/components/${part(name)}/versions`,
  version: (/** @type {string} */ name, /** @type {string} */ version) => `/v1/components/${part(name)}/versions/${part(version)}`,
  history: (/** @type {string} */ name, /** @type {number} */ limit) => `/v1/components/${part(name)}/history?limit=${limit}`,
  upgrade: (/** @type {string} */ name) => `/v1/components/${part(name)}/upgrade`,
  rollback: (/** @type {string} */ name) => `/v1/components/${part(name)}/rollback`,
};

/** @param {number} status @param {string} text @returns {Record<string, unknown>} */
function parse(status, text) {
  try {
    const body = JSON.parse(text);
    return body !== null && typeof body === 'object' ? body : { value: body };
  } catch {
    return { error: `HTTP ${status}: ${text.slice(0, 200)}` };
  }
}

export class Api {
  /** @type {import('./token.js').TokenKeeper} */
  #tokens;

  /** @param {import('./token.js').TokenKeeper} tokens */
  constructor(tokens) {
    this.#tokens = tokens;
  }

  /** @param {string} path @returns {Promise<any>} */
  async get(path) {
    const res = await fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store' });
    const body = parse(res.status, await res.text());
    if (!res.ok) throw new ApiError(res.status, body);
    return body;
  }

  /** @param {string} path @returns {Promise<string>} */
  async text(path) {
    const res = await fetch(path, { cache: 'no-store' });
    const text = await res.text();
    if (!res.ok) throw new ApiError(res.status, parse(res.status, text));
    return text;
  }

  /**
   * POSTs JSON with the token (asking for it first when the tab has none).
   * @param {string} path @param {unknown} body @param {string} why
   * @returns {Promise<any>}
   */
  async post(path, body, why) {
    const token = await this.#token(why);
    const res = await fetch(path, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });
    return this.#answer(res.status, await res.text());
  }

  /**
   * PUTs module bytes with the token; XMLHttpRequest because fetch() reports no upload progress.
   * @param {string} path @param {Blob} file @param {string} why
   * @param {(fraction: number) => void} progress
   * @returns {Promise<{ status: number, body: any }>}
   */
  async upload(path, file, why, progress) {
    const token = await this.#token(why);
    const { status, text } = await new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('PUT', path);
      xhr.setRequestHeader('authorization', `Bearer ${token}`);
      xhr.setRequestHeader('content-type', 'application/wasm');
      xhr.setRequestHeader('x-hotswap-uploader', 'dashboard');
      xhr.upload.addEventListener('progress', (e) => {
        if (e.lengthComputable && e.total > 0) progress(e.loaded / e.total);
      });
      xhr.addEventListener('load', () => resolve({ status: xhr.status, text: xhr.responseText }));
      xhr.addEventListener('error', () => reject(new ApiError(0, { error: 'the upload failed: the engine did not answer' })));
      xhr.send(file);
    });
    return { status, body: this.#answer(status, text) };
  }

  /** @param {string} why @returns {Promise<string>} */
  async #token(why) {
    const token = await this.#tokens.ensure(why);
    if (!token) throw new ApiError(0, { error: 'Nothing was changed: changing anything needs the bearer token.' });
    return token;
  }

  /** @param {number} status @param {string} text */
  #answer(status, text) {
    const body = parse(status, text);
    if (status === 401) this.#tokens.forget(); // a wrong token is asked for again on the next change
    if (status < 200 || status >= 300) throw new ApiError(status, body);
    return body;
  }
}
