import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** Debian's Chromium, driven by playwright-core (no browser download); .ci/run installs it. */
export const CHROMIUM = '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);
// Locally without Chromium the browser tests are skipped; in CI (CI=true) a missing browser is a failure.
export const inCi = process.env.CI === 'true' || process.env.CI === '1';
export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

/** Without the background-networking flags Chromium keeps trying hosts this closed network refuses. */
export const CHROMIUM_LAUNCH = {
  executablePath: CHROMIUM,
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
};

/** Fails clearly when Chromium is missing, and makes the folder for screenshots of failures. */
export async function readyForChromium(): Promise<void> {
  if (!haveChromium) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), as .ci/run does`);
  await mkdir(ARTIFACTS, { recursive: true });
}
