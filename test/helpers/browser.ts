/**
 * Headless Chromium for browser tests: Debian's own `/usr/bin/chromium`,
 * driven by playwright-core (which never downloads a browser here), in
 * contexts that never touch the network beyond loopback.
 */
import { existsSync } from 'node:fs';

import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Launches headless Chromium. Fails (never skips) when the browser is not
 * installed: CI installs it, so a missing one is a broken environment.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`browser tests need Chromium at ${CHROMIUM_PATH}: install it with \`apt-get install chromium\``);
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/** Whether a request stays on this machine. */
export function isLoopback(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  if (protocol === 'data:' || protocol === 'blob:') return true;
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
}

/**
 * A browser context that aborts every request to anywhere but loopback
 * (bull-board's page asks Google Fonts for its typeface), so a test never
 * waits on the network. The aborted URLs are collected in `blocked`.
 */
export async function loopbackContext(browser: Browser, options: BrowserContextOptions = {}): Promise<{ context: BrowserContext; blocked: string[] }> {
  const context = await browser.newContext(options);
  const blocked: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (isLoopback(url)) return route.continue();
    blocked.push(url);
    return route.abort('blockedbyclient');
  });
  return { context, blocked };
}

/**
 * A page (in a context of its own, without credentials) that answers every
 * HTTP login prompt with "Cancel", as a person without the password would,
 * and so shows the 401 page itself. Headless Chromium, which cannot ask,
 * otherwise fails the navigation with `net::ERR_INVALID_AUTH_CREDENTIALS`
 * and no page. Requests beyond loopback are failed here too (Playwright's
 * own routing would take over the same interception, so it is not used).
 */
export async function pageWithoutPassword(browser: Browser): Promise<{ context: BrowserContext; page: Page; blocked: string[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  const blocked: string[] = [];
  // Answers may race the page closing; a lost answer then no longer matters.
  const send = (promise: Promise<unknown>) => void promise.catch(() => {});
  cdp.on('Fetch.requestPaused', (event) => {
    if (isLoopback(event.request.url)) return send(cdp.send('Fetch.continueRequest', { requestId: event.requestId }));
    blocked.push(event.request.url);
    send(cdp.send('Fetch.failRequest', { requestId: event.requestId, errorReason: 'BlockedByClient' }));
  });
  cdp.on('Fetch.authRequired', (event) => {
    send(cdp.send('Fetch.continueWithAuth', { requestId: event.requestId, authChallengeResponse: { response: 'CancelAuth' } }));
  });
  await cdp.send('Fetch.enable', { handleAuthRequests: true, patterns: [{ urlPattern: '*' }] });
  return { context, page, blocked };
}
