// The dashboard in a real browser (Debian's chromium, headless) against a real engine process:
// a change asks for the token, an upload through the file input, an Upgrade clicked while a UDP
// client keeps sending (nothing lost, the new version and its phases on the page within a
// second), a non-Wasm upload refused with the checks' own words, a Rollback at phone width,
// and the token never in a URL or the log. Writes the screenshot the README shows when
// HOTSWAP_DASHBOARD_SCREENSHOT names a file (docs/DASHBOARD.md).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Browser, browserMissing, launchBrowser } from './support/browser.js';
import { UdpClient } from './support/clients.js';
import { type RunningEngine, repoRoot, startEngine } from './support/engine-process.js';
import { skipBecause } from './support/skip.js';
import { waitFor } from './support/wait-for.js';

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let engine: RunningEngine;
let browser: Browser;
let token: string;
let page: Page;
let urls: string[];
let dialogs: string[];
const shotDir = mkdtempSync(join(tmpdir(), 'hotswap-dashboard-'));

// biome-ignore lint/suspicious/noExplicitAny: JSON answers of the API; each assertion reads its own fields
const api = async (path: string): Promise<any> => (await fetch(`http://${engine.control}${path}`)).json();
/** Where to keep the screenshot (docs/dashboard.png for the README); a temp file otherwise. */
const shotFile = process.env.HOTSWAP_DASHBOARD_SCREENSHOT;

/** Waits until the traffic chart has drawn `n` more samples. */
async function samplesLater(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const drawn = await page.locator('#traffic svg').getAttribute('aria-label');
    await waitFor(async () => (await page.locator('#traffic svg').getAttribute('aria-label')) !== drawn, {
      what: 'the next sample in the traffic chart',
      timeoutMs: 3000,
    });
  }
}

const versionCell = (version: string) => page.locator(`#components tr[data-component="kv"] td.version:text-is("${version}")`);

const missing = browserMissing();
if (missing) {
  skipBecause(test, 'the dashboard in a real browser', missing);
} else {
  test.before(async () => {
    // uvu does not print what failed in a hook: say it here.
    try {
      engine = await startEngine([{ name: 'kv', version: '1.0.0', tcp: false }]);
      token = readFileSync(join(engine.dataDir, 'control.token'), 'utf8').trim();
      browser = await launchBrowser();
      ({ page, urls, dialogs } = await browser.open(`http://${engine.control}/`, DESKTOP));
    } catch (e) {
      console.error('setup failed:', e);
      throw e;
    }
  });
  test.after(async () => {
    await browser?.close();
    await engine?.stop();
    rmSync(shotDir, { recursive: true, force: true });
  });

  test('without a token the page shows the components, and a change asks for the token first', async () => {
    await versionCell('1.0.0').waitFor({ timeout: 5000 });
    assert.is(await page.locator('#components tr[data-component="kv"] .state').textContent(), 'running');
    await page.getByRole('button', { name: 'Upgrade kv to 2.0.0', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Bearer token' });
    await dialog.waitFor({ state: 'visible', timeout: 2000 });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('#notice.error').filter({ hasText: 'Nothing was changed' }).waitFor({ timeout: 2000 });
    const history = await api('/v1/components/kv/history');
    assert.equal(history, [], 'no upgrade was attempted without the token');
    assert.ok(await versionCell('1.0.0').isVisible());
  });

  test('kv 2.0.0 uploaded by the file input and upgraded under UDP traffic: shown within a second, phases drawn, nothing lost', async () => {
    await page.getByRole('button', { name: 'Give token' }).click();
    await page.getByRole('textbox', { name: 'Token' }).fill(token);
    await page.getByRole('button', { name: 'Use this token' }).click();
    await page.getByText('Token given').waitFor({ timeout: 2000 });

    await page
      .getByLabel('Drop a .wasm file on the page, or choose one')
      .setInputFiles(join(repoRoot, 'build', 'modules', 'kv', '2.0.0.wasm'));
    await page.getByRole('textbox', { name: 'Version' }).fill('2.0.0');
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    // The bundled 2.0.0 is already stored: the same bytes pass the checks again and are kept.
    await page
      .locator('#upload-verdict.ok')
      .filter({ hasText: 'kv 2.0.0 is already stored with exactly these bytes' })
      .waitFor({ timeout: 5000 });
    assert.is(await page.locator('#upload-progress').evaluate((p: HTMLProgressElement) => p.value), 1);

    const client = new UdpClient(engine.ports.get('kv')!.udp!);
    let sent = 0;
    let answered = 0;
    let sending = true;
    const wrong: string[] = [];
    // Four requests in flight at all times; a request with no reply within 5 s fails the test.
    const traffic = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (sending) {
          const i = sent++;
          const reply = await client.request(`SET key${i} value${i}`);
          if (reply === 'OK') answered++;
          else wrong.push(reply);
        }
      }),
    );
    try {
      await waitFor(
        async () => Number((await page.locator('#components tr[data-component="kv"] td.rate').textContent())?.replaceAll(',', '')) > 0,
        {
          what: 'the page to show kv handling events',
          timeoutMs: 5000,
        },
      );
      // For the picture in the docs: a few seconds of traffic before the swap, and after it.
      if (shotFile) await samplesLater(3);
      const clicked = performance.now();
      await page.getByRole('button', { name: 'Upgrade kv to 2.0.0', exact: true }).click();
      await versionCell('2.0.0').waitFor({ timeout: 1000 });
      const shownMs = performance.now() - clicked;
      await page.getByRole('img', { name: /^Phases of 1\.0\.0 → 2\.0\.0: snapshot \d/ }).waitFor({ timeout: 1000 });
      console.log(`  2.0.0 on the page ${shownMs.toFixed(0)} ms after the click`);
      const phases = await page.getByRole('img', { name: /^Phases of 1\.0\.0 → 2\.0\.0/ }).getAttribute('aria-label');
      for (const phase of ['term', 'hold', 'activate', 'bind', 'restart', 'drain']) {
        assert.match(phases!, new RegExp(`${phase} [\\d,]+ µs`), `${phase} drawn with its µs`);
      }
      assert.match(phases!, /migrate did not run/);
      // Traffic after the swap, drawn in the chart, before the picture is taken.
      await samplesLater(shotFile ? 3 : 1);
    } finally {
      sending = false;
      await traffic.finally(() => client.close());
    }
    assert.equal(wrong, [], 'every request answered OK');
    assert.is(answered, sent, 'no request lost');
    assert.equal(client.unexpected, [], 'no duplicate reply');
    assert.ok(sent > 100, `the client kept sending during the upgrade (${sent} requests)`);
    const traffic2 = await page.getByRole('img', { name: /^Events per second of kv/ }).getAttribute('aria-label');
    assert.match(traffic2!, /Swaps: 1\.0\.0 → 2\.0\.0 at [\d:]+, ok, pause [\d,]+ µs/);

    const shot = shotFile || join(shotDir, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.equal([...readFileSync(shot).subarray(1, 4)], [...Buffer.from('PNG')], `a PNG in ${shot}`);
  });

  test('a non-Wasm file dropped on the page is refused with the checks’ words, and changes nothing', async () => {
    const before = await api('/v1/components/kv/versions');
    const junk = Buffer.from('these are not the bytes of a WebAssembly module\n');
    // Dropped on the components table, far from the form: a drop anywhere is for the upload.
    const dropped = await page.evaluateHandle(
      ({ text }) => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([text], 'notes-9.9.9.wasm', { type: 'application/wasm' }));
        return transfer;
      },
      { text: junk.toString() },
    );
    await page.locator('#components').dispatchEvent('drop', { dataTransfer: dropped });
    await page.locator('#drop-name').filter({ hasText: 'notes-9.9.9.wasm' }).waitFor({ timeout: 2000 });
    assert.is(await page.getByRole('textbox', { name: 'Version' }).inputValue(), '9.9.9', 'the version taken from the file name');
    assert.is(page.url(), `http://${engine.control}/`, 'still on the dashboard');
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    const verdict = page.locator('#upload-verdict.error');
    await verdict.waitFor({ timeout: 5000 });
    // The same request made directly: the page must show the API's message exactly.
    const direct = await fetch(`http://${engine.control}/v1/components/kv/versions/9.9.9`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/wasm' },
      body: junk,
    });
    const { error } = (await direct.json()) as { error: string };
    assert.is(direct.status, 422);
    assert.is(await verdict.textContent(), error);
    assert.match(error, /^module kv@9\.9\.9 rejected: not a WebAssembly module/);
    assert.equal(await api('/v1/components/kv/versions'), before, 'no version stored');
    assert.ok(await versionCell('2.0.0').isVisible(), 'kv still runs 2.0.0');
    assert.is(await page.locator('#versions tbody tr').count(), before.length);
  });

  test('at phone width, Rollback shows 1.0.0 and a history entry with reason rollback', async () => {
    await page.setViewportSize(PHONE);
    // The charts are redrawn for the new width after the resize (a frame or two later): wait
    // for the layout to settle, with a deadline, then measure.
    await page
      .waitForFunction(() => document.documentElement.scrollWidth <= window.innerWidth, undefined, { timeout: 2000 })
      .catch(() => {});
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page fits 390 px without scrolling sideways (${overflow} px over)`);
    const rollback = page.getByRole('button', { name: 'Roll back kv to 1.0.0', exact: true });
    const box = (await rollback.boundingBox())!;
    assert.ok(box.x >= 0 && box.x + box.width <= PHONE.width, `the Rollback button is within the screen (${JSON.stringify(box)})`);
    await rollback.click();
    await versionCell('1.0.0').waitFor({ timeout: 2000 });
    const latest = page.locator('#history tbody tr').first();
    await latest.filter({ hasText: '2.0.0 → 1.0.0' }).waitFor({ timeout: 2000 });
    assert.is(await latest.getAttribute('data-kind'), 'rollback');
    assert.is(await latest.locator('.result').textContent(), 'ok');
    assert.match((await latest.textContent())!, /asked for by an operator/);
    const [entry] = await api('/v1/components/kv/history?limit=1');
    assert.equal([entry.kind, entry.from, entry.to, entry.result], ['rollback', '2.0.0', '1.0.0', 'ok']);
  });

  test('every button has a name; the token never went into a URL or the log; no dialog opened', async () => {
    for (const viewport of [DESKTOP, PHONE]) {
      await page.setViewportSize(viewport);
      const tree = await page.locator('body').ariaSnapshot();
      assert.not.match(tree, /- button(?! ")/, `an unnamed button at ${viewport.width} px:\n${tree}`);
      assert.ok(tree.includes('- button "Upload"'), tree);
    }
    assert.ok(urls.length > 10, 'requests were recorded');
    assert.equal(
      urls.filter((u) => u.includes(token)),
      [],
    );
    assert.not.ok(engine.output().includes(token), 'the token is not in the engine log');
    assert.is(await page.evaluate(() => sessionStorage.getItem('hotswap.token')), token, 'kept for the tab');
    assert.equal(dialogs, []);
  });
}

test.run();
