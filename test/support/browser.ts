/**
 * A real browser for the dashboard tests: Debian's chromium, headless, driven by playwright-core
 * (which downloads no browser), with a fresh profile in a temp directory each time.
 *
 * HOTSWAP_TEST_HIDE_TOOLS=chromium makes the check treat chromium as missing, to see the tests'
 * skip path on a machine that has it; HOTSWAP_CHROMIUM names another binary.
 */
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.HOTSWAP_CHROMIUM || '/usr/bin/chromium';

/** Flags for a quiet, reproducible headless run: no GPU, no sandbox (containers), no phoning home. */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why the browser tests cannot run here, or null when they can. */
export function browserMissing(): string | null {
  const hidden = (process.env.HOTSWAP_TEST_HIDE_TOOLS ?? '').split(',').map((s) => s.trim());
  if (hidden.includes(basename(CHROMIUM))) return `${CHROMIUM} is hidden by HOTSWAP_TEST_HIDE_TOOLS (package chromium)`;
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return null;
  } catch {
    return `${CHROMIUM} is missing (package chromium; .ci/run installs it)`;
  }
}

export interface Browser {
  context: BrowserContext;
  /** A new tab of the given size, recording every dialog it opens (none may, in these tests). */
  open(url: string, viewport: { width: number; height: number }): Promise<{ page: Page; dialogs: string[]; urls: string[] }>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'hotswap-chromium-'));
  // A persistent context is how playwright takes a user-data-dir: a fresh one, removed after.
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS });
  return {
    context,
    open: async (url, viewport) => {
      const page = await context.newPage();
      // A step that cannot happen fails in seconds, not at the runner's deadline for the file.
      page.setDefaultTimeout(10_000);
      await page.setViewportSize(viewport);
      const dialogs: string[] = [];
      const urls: string[] = [];
      page.on('dialog', (dialog) => {
        dialogs.push(`${dialog.type()}: ${dialog.message()}`);
        void dialog.dismiss();
      });
      page.on('request', (request) => urls.push(request.url()));
      await page.goto(url);
      return { page, dialogs, urls };
    },
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
