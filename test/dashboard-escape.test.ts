// Text from modules and uploads is shown as text on the dashboard, never run: a module whose
// status text carries an HTML payload, and an upload whose version does (the repository refuses
// such a version, and its 400 message quotes it). In a real browser (Debian's chromium) against
// a real engine process; the page must open no dialog and fetch no image the payload names.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Browser, browserMissing, launchBrowser } from './support/browser.js';
import { kvAs } from './support/control-plane.js';
import { type RunningEngine, startEngine } from './support/engine-process.js';
import { skipBecause } from './support/skip.js';

const PAYLOAD = '<img src=x onerror=alert(1)>';
/** The last line of kv's status text: the same number of UTF-16 units keeps the module valid. */
const COMMANDS_LINE = '  Commands: SET GET COUNT VERSION';

/** kv 1.0.0 as version 1.0.9, whose status text says PAYLOAD where it lists its commands. */
function hostileKv(): Buffer {
  const bytes = kvAs('1.0.9');
  const from = Buffer.from(COMMANDS_LINE, 'utf16le');
  const at = bytes.indexOf(from);
  if (at < 0 || bytes.indexOf(from, at + 1) >= 0) throw new Error('kv 1.0.0 no longer holds its commands line exactly once');
  Buffer.from(PAYLOAD.padEnd(COMMANDS_LINE.length), 'utf16le').copy(bytes, at);
  return bytes;
}

let engine: RunningEngine;
let browser: Browser;
let token: string;
let page: Page;
let urls: string[];
let dialogs: string[];

async function call(method: string, path: string, body: Buffer | object): Promise<Response> {
  const wasm = Buffer.isBuffer(body);
  return fetch(`http://${engine.control}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': wasm ? 'application/wasm' : 'application/json' },
    body: wasm ? new Uint8Array(body) : JSON.stringify(body),
  });
}

/** No element the payload would have made, no request for its image, no dialog. */
async function assertInert(where: string): Promise<void> {
  assert.is(await page.locator('img').count(), 0, `no <img> element in the page (${where})`);
  assert.equal(
    urls.filter((u) => new URL(u).pathname === '/x'),
    [],
    `no request for the payload's image (${where})`,
  );
  assert.equal(dialogs, [], `no dialog (${where})`);
}

const missing = browserMissing();
if (missing) {
  skipBecause(test, 'module and upload text shown as text in a real browser', missing);
} else {
  test.before(async () => {
    // uvu does not print what failed in a hook: say it here.
    try {
      engine = await startEngine([{ name: 'kv', version: '1.0.0', udp: false, tcp: false }]);
      token = readFileSync(join(engine.dataDir, 'control.token'), 'utf8').trim();
      const put = await call('PUT', '/v1/components/kv/versions/1.0.9', hostileKv());
      assert.is(put.status, 201, await put.text());
      const upgrade = await call('POST', '/v1/components/kv/upgrade', { version: '1.0.9' });
      assert.is(upgrade.status, 200, await upgrade.text());
      browser = await launchBrowser();
    } catch (e) {
      console.error('setup failed:', e);
      throw e;
    }
  });
  test.after(async () => {
    await browser?.close();
    await engine?.stop();
  });

  test("a module's status text with HTML in it is shown as text", async () => {
    ({ page, urls, dialogs } = await browser.open(`http://${engine.control}/`, { width: 390, height: 844 }));
    const show = page.locator('#show');
    await show.filter({ hasText: 'Module version = 1.0.9' }).waitFor({ timeout: 5000 });
    const text = (await show.textContent())!;
    assert.ok(text.includes(PAYLOAD), `the status text shows the payload as written:\n${text}`);
    assert.is(await show.locator('*').count(), 0, 'the status text is one text node, no element');
    await page.locator('#history tbody tr[data-kind="upgrade"]').filter({ hasText: '1.0.0 → 1.0.9' }).waitFor({ timeout: 2000 });
    await assertInert('status text');
  });

  test('an upload whose version is HTML shows the refusal, quoting it, as text', async () => {
    await page.getByRole('button', { name: 'Give token' }).click();
    await page.getByRole('textbox', { name: 'Token' }).fill(token);
    await page.getByRole('button', { name: 'Use this token' }).click();
    await page.getByLabel('Drop a .wasm file on the page, or choose one').setInputFiles({
      name: 'kv.wasm',
      mimeType: 'application/wasm',
      buffer: hostileKv(),
    });
    await page.getByRole('textbox', { name: 'Version' }).fill(PAYLOAD);
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    const verdict = page.locator('#upload-verdict.error');
    await verdict.waitFor({ timeout: 5000 });
    assert.is(
      await verdict.textContent(),
      `version "${PAYLOAD}" must be a semantic version such as 1.2.3 or 1.2.3-rc.1 (at most 64 characters)`,
    );
    assert.is(await verdict.locator('*').count(), 0, 'the verdict is one text node, no element');
    await assertInert('upload verdict');
  });
}

test.run();
