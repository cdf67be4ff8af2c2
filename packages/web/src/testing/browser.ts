/**
 * Headless Chromium for the page's tests: Debian's `/usr/bin/chromium` driven by `playwright-core` (no browser
 * is ever downloaded), and the page built into a temporary directory. Without Chromium the tests are skipped,
 * except on CI (`CI` set), where they fail.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { buildPage } from '../page-build.js';

export const CHROMIUM = process.env.OPC_CHROMIUM ?? '/usr/bin/chromium';

/** Whether the browser tests run: Chromium is there, or CI requires them (and they then fail without it). */
export const browserTestsRun = existsSync(CHROMIUM) || process.env.CI !== undefined;

if (!browserTestsRun)
  console.warn(`${CHROMIUM} is missing: the page's browser tests are skipped (apt-get install chromium)`);

/** Where test screenshots go: outside the checkout. */
export const ARTIFACTS = join(tmpdir(), 'opc-web-artifacts');

export async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is required for the page's tests on CI (apt-get install chromium)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}

/** Builds the page (not minified, for readable errors) into a temporary directory; returns it and its remover. */
export async function buildTestPage(): Promise<{ dir: string; remove: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'opc-web-page-'));
  await buildPage({ srcDir: fileURLToPath(new URL('../page/', import.meta.url)), outDir: dir, minify: false });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
