import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { applyBalanceChanges } from '../../src/ledger/balanceChanges.js';
import { distribute } from '../../src/ledger/distribute.js';
import { recordRewardEvent } from '../../src/ledger/rewards.js';
import { atom, freshDatabase, ms, type TestDatabase } from '../helpers/db.js';
import { auth, chainConfig, DASHBOARD, startApi, type Api } from './harness.js';

let db: TestDatabase;
let api: Api;

const NOW = ms('2026-02-01T00:00:00Z');

beforeAll(async () => {
  db = await freshDatabase();
  api = await startApi(db, { chains: { 'cosmos-test': chainConfig('cosmos-test', 'ATOM') }, now: () => NOW });
});
afterAll(async () => {
  await api?.close({ obliterate: true });
  await db?.drop();
});

interface Checks {
  checks: Record<string, { status: string; error?: string; ms: number }>;
}

describe('/health and /ready', () => {
  it('/health answers without touching anything', async () => {
    const res = await api.server.inject('/health');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
    // Probes every few seconds would drown the log: their request lines are not written at info.
    expect(api.logs.filter((l) => JSON.stringify(l).includes('/health'))).toEqual([]);
  });

  /** A poll's snapshot of `chain`, stored `ageMs` before NOW; `problems`: what the adapter said its endpoints lack. */
  async function snapshot(chainName: string, ageMs: number, problems?: string[]) {
    const detail = { delegations: [], unbonding: [], validators: [], ...(problems === undefined ? {} : { problems }) };
    await db.pool.query(
      `INSERT INTO chain_positions (chain, asset, height, at, liquid, staked, unbonding, pending_rewards, detail, recorded_at)
       VALUES ($1, 'ATOM', 1, $2::bigint, 0, 0, 0, 0, $3::jsonb, to_timestamp($2::bigint / 1000.0))`,
      [chainName, NOW - ageMs, JSON.stringify(detail)],
    );
  }

  it('/ready answers for a chain from its last successful read, with its age, and makes no RPC call', async () => {
    // The chain's endpoint (127.0.0.1:1) answers nothing: the probe must not ask it.
    const ready = await startApi(db, { chains: { 'fresh-chain': chainConfig('fresh-chain', 'ATOM') }, now: () => NOW });
    try {
      await snapshot('fresh-chain', 20_000);
      const res = await ready.server.inject('/ready');
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({
        status: 'ready',
        checks: {
          redis: { status: 'ok' },
          postgres: { status: 'ok' },
          // Three poll intervals of 1 minute by default.
          'chain:fresh-chain': { status: 'ok', ageMs: 20_000, maxAgeMs: 180_000, lastReadAt: new Date(NOW - 20_000).toISOString() },
        },
      });
    } finally {
      await ready.close({ obliterate: true });
    }
  });

  it('/ready is 503 naming a chain never read, or read longer ago than the bound (api.readyMaxAge)', async () => {
    const chains = { 'stale-chain': chainConfig('stale-chain', 'ATOM'), 'new-chain': chainConfig('new-chain', 'ATOM') };
    const ready = await startApi(db, { chains, now: () => NOW, api: { readyMaxAgeMs: 60_000 } });
    try {
      await snapshot('stale-chain', 61_000);
      const res = await ready.server.inject('/ready');
      expect(res.statusCode).toBe(503);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      const body = res.json<Checks & { detail: string }>();
      expect(body.checks['chain:stale-chain']).toMatchObject({ status: 'error', ageMs: 61_000, maxAgeMs: 60_000, error: 'last successful position read 61 s ago, more than 60 s' });
      expect(body.checks['chain:new-chain']).toMatchObject({ status: 'error', error: 'no successful position read yet' });
      expect(body.detail).toBe('chain:stale-chain: last successful position read 61 s ago, more than 60 s; chain:new-chain: no successful position read yet');
      expect(ready.logs.find((l) => l.msg === 'not ready')).toMatchObject({ level: 40 });
    } finally {
      await ready.close({ obliterate: true });
    }
  });

  it('/ready is 503 with the adapter\'s own words when its nodes lack what harvest needs (a Cosmos node without tx index)', async () => {
    const ready = await startApi(db, { chains: { 'blind-chain': chainConfig('blind-chain', 'ATOM') }, now: () => NOW });
    try {
      const lacking = `endpoint 1 of 1: the node's tx indexer is off (tx_index.indexer = "null"); harvest finds the custody account's transactions with tx_search and cannot run against it: use a node with tx_index.indexer = "kv"`;
      await snapshot('blind-chain', 1_000, [lacking]);
      const res = await ready.server.inject('/ready');
      expect(res.statusCode).toBe(503);
      const body = res.json<Checks & { detail: string }>();
      expect(body.checks['chain:blind-chain']).toMatchObject({ status: 'error', ageMs: 1_000, error: lacking });
      expect(body.detail).toBe(`chain:blind-chain: ${lacking}`);
    } finally {
      await ready.close({ obliterate: true });
    }
  });

  it('/ready is 503 naming Redis when it does not answer; /metrics still answers', async () => {
    const down = await startApi(db, { redisUrl: 'redis://:secret@127.0.0.1:1' });
    try {
      const started = performance.now();
      const res = await down.server.inject('/ready');
      expect(res.statusCode).toBe(503);
      const body = res.json<Checks & { detail: string }>();
      expect(body.checks.redis).toMatchObject({ status: 'error' });
      expect(body.checks.postgres).toMatchObject({ status: 'ok' });
      expect(body.detail).toMatch(/^redis: (failed|no answer)/);
      expect(res.body).not.toContain('secret');
      expect(res.body).not.toContain('127.0.0.1:1');
      // Each check has its own deadline: the probe does not hang on Redis.
      expect(performance.now() - started).toBeLessThan(4_000);

      const metrics = await down.server.inject('/metrics');
      expect(metrics.statusCode).toBe(200);
      expect(metrics.body).toContain('softstake_metrics_source_up{source="redis"} 0');
      expect(metrics.body).toContain('softstake_metrics_source_up{source="postgres"} 1');
    } finally {
      await down.close();
    }
  });
});

describe('/metrics', () => {
  it('exports queue, position, validator and ledger series read at scrape time', async () => {
    await applyBalanceChanges(db.pool, [{ line: 0, record: { id: 'd1', user: 'alice', asset: 'ATOM', delta: '2000000', at: '2026-01-01T00:00:00Z' } }], {
      assets: new Set(['ATOM']),
    });
    await recordRewardEvent(db.pool, { id: 'r1', asset: 'ATOM', amount: 1_500_000n, at: ms('2026-01-01T12:00:00Z'), source: 'test' });
    const d = await distribute(db.pool, { asset: atom({ commissionBps: 1_000 }), periodEnd: ms('2026-01-02T00:00:00Z') });
    await db.pool.query('UPDATE distributions SET duration_ms = 250 WHERE id = $1', [d.id]);
    await recordRewardEvent(db.pool, { id: 'r2', asset: 'ATOM', amount: 250_000n, at: ms('2026-01-02T12:00:00Z'), source: 'test' });
    await db.pool.query(
      `INSERT INTO chain_positions (chain, asset, height, at, liquid, staked, unbonding, pending_rewards, detail)
       VALUES ('cosmos-test', 'ATOM', 4242, $1, 500000, 3700000, 0, 12345, $2)`,
      [
        NOW - 90_000,
        JSON.stringify({
          delegations: [],
          unbonding: [],
          validators: [
            { validator: 'val-1', jailed: false, active: true, commissionBps: 500 },
            { validator: 'val-2', jailed: true, active: false },
          ],
        }),
      ],
    );
    await api.queues.distribute.add('distribute', { asset: 'ATOM' });
    await api.queues.distribute.add('distribute', { asset: 'ATOM' }, { delay: 60_000 });

    const res = await api.server.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const lines = res.body.split('\n');
    for (const line of [
      'softstake_queue_jobs{queue="distribute",state="waiting"} 1',
      'softstake_queue_jobs{queue="distribute",state="delayed"} 1',
      'softstake_queue_jobs{queue="distribute",state="failed"} 0',
      'softstake_position_staked_tokens{chain="cosmos-test",asset="ATOM"} 3.7',
      'softstake_position_liquid_tokens{chain="cosmos-test",asset="ATOM"} 0.5',
      'softstake_position_unbonding_tokens{chain="cosmos-test",asset="ATOM"} 0',
      'softstake_position_pending_rewards_tokens{chain="cosmos-test",asset="ATOM"} 0.012345',
      'softstake_position_snapshot_age_seconds{chain="cosmos-test",asset="ATOM"} 90',
      'softstake_position_height{chain="cosmos-test",asset="ATOM"} 4242',
      'softstake_validator_jailed{chain="cosmos-test",validator="val-1"} 0',
      'softstake_validator_jailed{chain="cosmos-test",validator="val-2"} 1',
      'softstake_validator_active{chain="cosmos-test",validator="val-2"} 0',
      'softstake_validator_commission_ratio{chain="cosmos-test",validator="val-1"} 0.05',
      'softstake_rewards_realized_tokens{asset="ATOM"} 1.75',
      'softstake_rewards_undistributed_tokens{asset="ATOM"} 0.25',
      'softstake_distribution_last_duration_seconds{asset="ATOM"} 0.25',
      'softstake_distribution_last_credited_users{asset="ATOM"} 1',
      'softstake_distribution_last_distributed_tokens{asset="ATOM"} 1.35',
      `softstake_distribution_last_period_end_timestamp_seconds{asset="ATOM"} ${ms('2026-01-02T00:00:00Z') / 1000}`,
      'softstake_distributions_total{asset="ATOM"} 1',
      'softstake_metrics_source_up{source="redis"} 1',
      'softstake_metrics_source_up{source="postgres"} 1',
    ]) {
      expect(lines, line).toContain(line);
    }
    expect(res.body).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(res.body).toMatch(/^nodejs_eventloop_lag_seconds /m);
    // val-2 reports no commission: no series rather than a made-up 0.
    expect(res.body).not.toContain('softstake_validator_commission_ratio{chain="cosmos-test",validator="val-2"}');
  });

  it('answers concurrent scrapes with one read', async () => {
    const [a, b] = await Promise.all([api.server.inject('/metrics'), api.server.inject('/metrics')]);
    expect(a.statusCode).toBe(200);
    expect(b.body).toBe(a.body);
  });
});

describe('optional surfaces', () => {
  it('serves neither /v1 nor the dashboard when they are not configured: 404 problems', async () => {
    const bare = await startApi(db, { api: { token: null, dashboard: null } });
    try {
      for (const url of ['/v1/assets', '/admin/queues', '/admin/queues/api/queues']) {
        const res = await bare.server.inject({ url, headers: { ...auth, authorization: `Basic ${Buffer.from(`${DASHBOARD.user}:${DASHBOARD.password}`).toString('base64')}` } });
        expect(res.statusCode, url).toBe(404);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.json()).toMatchObject({ type: 'about:blank', title: 'Not Found', status: 404 });
      }
    } finally {
      await bare.close({ obliterate: true });
    }
  });
});
