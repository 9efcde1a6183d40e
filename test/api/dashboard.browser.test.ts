/**
 * The queue dashboard as an operator sees it: the real daemon (every role,
 * on the Cosmos devnet, so `distribute` and the chain's queue hold real jobs)
 * opened in headless Chromium. Without the operator's password the page is
 * a 401 that names no queue; with it, the React app (under the dashboard's
 * Content-Security-Policy) lists every queue, the board is read-only (no
 * "Retry" or "Clean" on a failed or a completed distribution), and the
 * server refuses those changes all the same. A full-page screenshot is kept
 * in `test-artifacts/dashboard.png`.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';

import { Queue } from 'bullmq';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { chainQueueName, DISTRIBUTE_QUEUE, redisConnection } from '../../src/pipeline/queues.js';
import { launchChromium, loopbackContext, pageWithoutPassword } from '../helpers/browser.js';
import { startDaemonChain, type DaemonChain } from '../helpers/chains.js';
import { api, DaemonProcess, DASHBOARD_PASSWORD, freePort, writeDaemonConfig } from '../helpers/daemon.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { until } from '../helpers/wait.js';

const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url).pathname;
const SCREENSHOT = `${ARTIFACTS}dashboard.png`;
const REDIS_URL = 'redis://127.0.0.1:6379';
const OPERATOR = { username: 'operator', password: DASHBOARD_PASSWORD };
const CHAIN = 'cosmoshub-devnet';
const QUEUES = [DISTRIBUTE_QUEUE, chainQueueName(CHAIN)];

let browser: Browser | undefined;
let db: TestDatabase | undefined;
let chain: DaemonChain | undefined;
let daemon: DaemonProcess | undefined;
let configFile: string | undefined;
let base: string;

/** Ids of the distribute queue's jobs in one state, from the dashboard's JSON API. */
async function distributions(status: 'completed' | 'failed'): Promise<string[]> {
  const response = await fetch(`${base}/admin/queues/api/queues?activeQueue=${DISTRIBUTE_QUEUE}&status=${status}&page=1&jobsPerPage=10`, {
    headers: { authorization: `Basic ${Buffer.from(`${OPERATOR.username}:${OPERATOR.password}`).toString('base64')}` },
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { queues: { name: string; jobs: { id: string }[] }[] };
  return body.queues.find((q) => q.name === DISTRIBUTE_QUEUE)?.jobs.map((j) => String(j.id)) ?? [];
}

beforeAll(async () => {
  // First, so a missing browser fails the file at once with its install hint.
  browser = await launchChromium();
  db = await freshDatabase();
  chain = await startDaemonChain('cosmos');
  expect(chain.name).toBe(CHAIN);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  let prefix: string;
  ({ file: configFile, prefix } = await writeDaemonConfig({
    databaseUrl: db.url,
    redisUrl: REDIS_URL,
    ...chain.daemonConfig(),
    port,
  }));
  daemon = DaemonProcess.start(configFile);
  await daemon.ready();
  // The board gets one job of each kind: a distribution for an asset the
  // config does not have fails at once; a real one completes.
  const queue = new Queue(DISTRIBUTE_QUEUE, { connection: { url: REDIS_URL }, prefix });
  await queue.add('distribute', { asset: 'NOPE' });
  await queue.close();
  await daemon.waitFor((l) => l.queue === DISTRIBUTE_QUEUE && l.msg === 'job failed', 10_000);
  const at = new Date(Date.now() - 60_000).toISOString();
  const posted = await api(port, 'POST', '/v1/balance-changes', { changes: [{ id: 'dep-alice', user: 'alice', asset: 'ATOM', delta: '600000000', at }] });
  expect(posted.status).toBe(200);
  await until(async () => (await distributions('completed')).length > 0, 'a distribute job completed', 10_000);
  expect(await distributions('failed')).not.toHaveLength(0);
});

afterAll(async () => {
  await browser?.close();
  if (daemon && daemon.child.exitCode === null) await daemon.kill();
  if (configFile) {
    // The daemon's queues under its own key prefix: gone with the test.
    const { redis } = parse(await readFile(configFile, 'utf8')) as { redis: { prefix: string } };
    for (const name of QUEUES) {
      const queue = new Queue(name, { connection: redisConnection(REDIS_URL), prefix: redis.prefix });
      await queue.obliterate({ force: true });
      await queue.close();
    }
  }
  await chain?.close();
  await db?.drop();
});

/** The tooltip each action button of a job card shows on hover: all an operator has to tell the icons apart. */
async function actionTooltips(page: Page, card: Locator, stopAt?: string): Promise<string[]> {
  const openTooltips = page.locator('[data-base-ui-portal] [class*="popup-"][data-open]');
  const names: string[] = [];
  for (const trigger of await card.locator('ul[class*="jobActions-"] [data-base-ui-tooltip-trigger]').all()) {
    await trigger.hover();
    await until(async () => (await trigger.getAttribute('data-popup-open')) !== null && (await openTooltips.count()) === 1, 'the tooltip opened', 5_000, 25);
    names.push((await openTooltips.innerText()).trim());
    // Away, and closed, before the next one: one tooltip at a time.
    await page.mouse.move(0, 0);
    await until(async () => (await openTooltips.count()) === 0, 'the tooltip closed', 5_000, 25);
    if (names.at(-1) === stopAt) break;
  }
  return names;
}

/** The first job card of a status tab of the distribute queue, and its job id. */
async function firstJobCard(page: Page, status: 'completed' | 'failed'): Promise<{ card: Locator; id: string }> {
  const response = await page.goto(`${base}/admin/queues/queue/${DISTRIBUTE_QUEUE}?status=${status}`);
  expect(response?.status()).toBe(200);
  const card = page.locator('main [class*="card-"]', { has: page.locator(`a[href*="/queue/${DISTRIBUTE_QUEUE}/"]`) }).first();
  await card.waitFor();
  // The link reads "#<id>", the job's name below it for some jobs.
  const id = (await card.locator(`a[href*="/queue/${DISTRIBUTE_QUEUE}/"]`).innerText()).trim().split('\n', 1)[0]!.replace(/^#/, '');
  return { card, id };
}

describe('the queue dashboard in headless Chromium', () => {
  it('without the password: a 401 page (once the login prompt is dismissed) that names no queue', async () => {
    const { context, page } = await pageWithoutPassword(browser!);
    try {
      for (const path of ['/admin/queues', '/admin/queues/api/queues']) {
        const response = await page.goto(`${base}${path}`);
        expect(response?.status(), path).toBe(401);
        expect(await response?.headerValue('www-authenticate'), path).toMatch(/^Basic realm="softstake"/);
        const text = await page.locator('body').innerText();
        expect(text, path).toContain('Unauthorized');
        for (const name of QUEUES) expect(text, path).not.toContain(name);
      }
    } finally {
      await context.close();
    }
  });

  it('with a wrong password: the same 401', async () => {
    const { context } = await loopbackContext(browser!, { httpCredentials: { ...OPERATOR, password: `${DASHBOARD_PASSWORD}x` } });
    try {
      const page = await context.newPage();
      const response = await page.goto(`${base}/admin/queues`);
      expect(response?.status()).toBe(401);
      const text = await page.locator('body').innerText();
      for (const name of QUEUES) expect(text).not.toContain(name);
    } finally {
      await context.close();
    }
  });

  it('with the password: the app lists every queue; a full-page screenshot is kept', async () => {
    const { context, blocked } = await loopbackContext(browser!, { httpCredentials: OPERATOR, viewport: { width: 1280, height: 800 } });
    try {
      const page = await context.newPage();
      const response = await page.goto(`${base}/admin/queues`);
      expect(response?.status()).toBe(200);
      // The queues come from the app's own call to /admin/queues/api/queues:
      // in the sidebar and as a card each on the overview.
      for (const name of QUEUES) {
        await page.locator('main').getByRole('link', { name, exact: true }).waitFor();
        await page.locator('aside').getByRole('link', { name, exact: true }).waitFor();
      }
      expect(await page.title()).toBe('softstake queues');
      expect(await page.getByText('Loading', { exact: true }).count()).toBe(0);
      // Nothing left the machine but the font stylesheet, which was refused.
      for (const url of blocked) expect(url).toMatch(/^https:\/\/fonts\.googleapis\.com\//);

      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      expect((await stat(SCREENSHOT)).size).toBeGreaterThan(10 * 1024);
    } finally {
      await context.close();
    }
  });

  it('read-only: neither a failed nor a completed distribution offers Retry or Clean; the server refuses both anyway', async () => {
    const { context } = await loopbackContext(browser!, { httpCredentials: OPERATOR, viewport: { width: 1280, height: 800 } });
    try {
      const page = await context.newPage();
      const retryAll = page.getByRole('button', { name: 'Retry all', exact: true });
      const cleanAll = page.getByRole('button', { name: 'Clean all', exact: true });

      const failed = await firstJobCard(page, 'failed');
      expect(await retryAll.count()).toBe(0);
      expect(await cleanAll.count()).toBe(0);
      expect(await actionTooltips(page, failed.card)).not.toContain('Retry');

      const completed = await firstJobCard(page, 'completed');
      expect(await retryAll.count()).toBe(0);
      expect(await actionTooltips(page, completed.card)).not.toContain('Retry');

      // What a Retry button would send, sent from the page with the
      // browser's credentials: each job, then the whole lists.
      const call = (method: string, path: string) =>
        page.evaluate(
          async ([m, url]) => {
            const r = await fetch(url!, { method: m });
            return { status: r.status, body: await r.text() };
          },
          [method, `${base}/admin/queues/api/queues/${DISTRIBUTE_QUEUE}${path}`],
        );
      for (const [id, status] of [[failed.id, 'failed'], [completed.id, 'completed']] as const) {
        const job = `/${encodeURIComponent(id)}`;
        const one = await call('PUT', `${job}/retry`);
        expect(one.status, one.body).toBe(403);
        const state = await call('GET', job);
        expect(state.status, `GET ${job}: ${state.body}`).toBe(200);
        expect((JSON.parse(state.body) as { status: string }).status).toBe(status);
      }
      for (const path of ['/retry/completed', '/retry/failed', '/clean/failed', '/empty']) {
        const all = await call('PUT', path);
        expect(all.status, `${path}: ${all.body}`).toBe(403);
      }
    } finally {
      await context.close();
    }
  });
});
