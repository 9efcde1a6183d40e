import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { LedgerInputError } from '../../src/errors.js';
import { ANALYZE_AFTER_ROWS, applyBalanceChanges, type NumberedRecord } from '../../src/ledger/balanceChanges.js';
import { distribute } from '../../src/ledger/distribute.js';
import { userBalances } from '../../src/ledger/history.js';
import { openChangeFile } from '../../src/ledger/readChanges.js';
import { atom, freshDatabase, ms, type TestDatabase } from '../helpers/db.js';

const ASSETS = new Set(['ATOM']);
let db: TestDatabase;

beforeAll(async () => {
  db = await freshDatabase();
  // alice: 100 on Jan 1; the period up to Jan 2 is closed.
  await applyBalanceChanges(db.pool, lines({ id: 'seed', user: 'alice', delta: '100', at: '2025-01-01T00:00:00Z' }), {
    assets: ASSETS,
  });
  await distribute(db.pool, { asset: atom(), periodEnd: ms('2025-01-02T00:00:00Z') });
});
afterAll(async () => {
  await db?.drop();
});

type Rec = { id: string; user: string; asset?: string; delta: string; at: string } | Record<string, unknown> | string;

function lines(...records: Rec[]): NumberedRecord[] {
  return records.map((record, i) => ({
    line: i + 1,
    record: typeof record === 'string' ? record : { asset: 'ATOM', ...record },
  }));
}

async function counts() {
  const { rows } = await db.pool.query<{ changes: number; postings: number; total: string }>(
    `SELECT (SELECT count(*)::int FROM balance_changes) AS changes,
            (SELECT count(*)::int FROM postings) AS postings,
            (SELECT coalesce(sum(amount), 0)::text FROM balances) AS total`,
  );
  return rows[0];
}

/** Applies the batch, expects a refusal naming every given line and reason, and checks nothing was written. */
async function expectRefused(batch: NumberedRecord[], expected: [line: number, reason: RegExp][]) {
  const before = await counts();
  const error = await applyBalanceChanges(db.pool, batch, { assets: ASSETS }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LedgerInputError);
  const problems = (error as LedgerInputError).problems;
  expect(problems.map((p) => p.line)).toEqual(expected.map(([line]) => line));
  problems.forEach((p, i) => expect(p.reason).toMatch(expected[i]![1]));
  expect((error as Error).message).toMatch(/nothing was written/);
  for (const [line] of expected) expect((error as Error).message).toContain(`line ${line}`);
  expect(await counts()).toEqual(before);
}

describe('applyBalanceChanges', () => {
  it('imports, then skips the same ids with the same content', async () => {
    const batch = lines(
      { id: 'b1', user: 'bob', delta: '500', at: '2025-01-02T01:00:00Z' },
      { id: 'b2', user: 'bob', delta: '-200', at: '2025-01-02T02:00:00Z' },
      { id: 'b1', user: 'bob', delta: '500', at: '2025-01-02T01:00:00Z' },
    );
    expect(await applyBalanceChanges(db.pool, batch, { assets: ASSETS })).toEqual({ received: 3, inserted: 2, duplicates: 1 });
    expect(await applyBalanceChanges(db.pool, batch, { assets: ASSETS })).toEqual({ received: 3, inserted: 0, duplicates: 3 });
    expect(await userBalances(db.pool, 'bob')).toEqual({ ATOM: 300n });
  });

  it('keeps custody and users postings in balance', async () => {
    const { rows } = await db.pool.query<{ account: string; s: string }>(
      `SELECT account, sum(amount)::text AS s FROM postings WHERE entry LIKE 'import:%' GROUP BY account ORDER BY account`,
    );
    expect(rows).toEqual([
      { account: 'custody', s: '400' },
      { account: 'users', s: '-400' },
    ]);
  });

  it('refuses each amount that could make a sum overflow 78 digits, naming its line, and writes nothing', async () => {
    // Two of these would overflow a NUMERIC(78,0) sum (the custody posting,
    // then every distribution of the asset): refused at the record instead.
    const max = (10n ** 78n - 1n).toString();
    await expectRefused(
      lines({ id: 'big-1', user: 'whale-1', delta: max, at: '2025-02-01T00:00:00Z' }, { id: 'big-2', user: 'whale-2', delta: max, at: '2025-02-01T00:00:00Z' }),
      [
        [1, /delta: at most 60 digits/],
        [2, /delta: at most 60 digits/],
      ],
    );
    // 60 digits pass.
    const largest = (10n ** 60n - 1n).toString();
    expect(await applyBalanceChanges(db.pool, lines({ id: 'big-3', user: 'whale-3', delta: largest, at: '2025-02-01T00:00:00Z' }), { assets: ASSETS })).toMatchObject({ inserted: 1 });
  });

  it('refuses malformed records with their line numbers', async () => {
    await expectRefused(
      lines(
        { id: 'ok1', user: 'carol', delta: '5', at: '2025-01-03T00:00:00Z' },
        'not valid JSON',
        { id: 'x2', user: 'carol', delta: '1.5', at: '2025-01-03T00:00:00Z' },
        { id: 'x3', user: 'carol', delta: '5', at: '2025-01-03 00:00' },
        { id: 'x4', user: 'carol', asset: 'DOGE', delta: '5', at: '2025-01-03T00:00:00Z' },
        { id: '', user: 'carol', delta: '5', at: '2025-01-03T00:00:00Z' },
        { id: 'x6', user: 'carol', delta: 5, at: '2025-01-03T00:00:00Z' },
        { id: 'x7', user: 'carol', delta: '5', at: '2025-02-30T00:00:00Z' },
        { id: 'x8', user: 'carol', delta: '5', at: '2025-01-03T00:00:00Z', memo: 'hi' },
      ),
      [
        [2, /not valid JSON/],
        [3, /delta: expected a signed integer string of base units/],
        [4, /at: expected an ISO-8601 UTC instant/],
        [5, /asset: unknown asset "DOGE"/],
        [6, /id: expected a non-empty string/],
        [7, /delta: expected a signed integer string/],
        [8, /at: expected an ISO-8601/],
        [9, /unexpected field "memo"/],
      ],
    );
  });

  it('refuses an id reused with other content, stored or within the file', async () => {
    await expectRefused(
      lines(
        { id: 'b1', user: 'bob', delta: '501', at: '2025-01-02T01:00:00Z' },
        { id: 'n1', user: 'dave', delta: '5', at: '2025-01-03T00:00:00Z' },
        { id: 'n1', user: 'dave', delta: '6', at: '2025-01-03T00:00:00Z' },
      ),
      [
        [1, /id already recorded with other content \(bob ATOM 500 at 2025-01-02T01:00:00.000Z\)/],
        [3, /the same id with other content on lines 2, 3/],
      ],
    );
  });

  it('refuses a balance below 0, out-of-order changes, and changes inside a closed period', async () => {
    await expectRefused(
      lines(
        { id: 'e1', user: 'erin', delta: '10', at: '2025-01-03T00:00:00Z' },
        { id: 'e2', user: 'erin', delta: '-11', at: '2025-01-03T01:00:00Z' },
        { id: 'f1', user: 'frank', delta: '10', at: '2025-01-03T05:00:00Z' },
        { id: 'f2', user: 'frank', delta: '10', at: '2025-01-03T04:00:00Z' },
        { id: 'b3', user: 'bob', delta: '1', at: '2025-01-02T01:30:00Z' },
        { id: 'g1', user: 'gina', delta: '1', at: '2025-01-01T12:00:00Z' },
        { id: 'a9', user: 'alice', delta: '-101', at: '2025-01-03T00:00:00Z' },
      ),
      [
        [2, /would take erin's ATOM balance below 0 \(to -1\)/],
        [4, /older than the same user's change on line 3/],
        [5, /older than the user's last recorded ATOM change \(2025-01-02T02:00:00.000Z\)/],
        [6, /before ATOM's last closed period end 2025-01-02T00:00:00.000Z/],
        [7, /would take alice's ATOM balance below 0 \(to -1\)/],
      ],
    );
  });

  it('accepts a withdrawal down to exactly 0 and a change at exactly the closed period end', async () => {
    const result = await applyBalanceChanges(
      db.pool,
      lines(
        { id: 'h1', user: 'hank', delta: '7', at: '2025-01-02T00:00:00Z' },
        { id: 'h2', user: 'hank', delta: '-7', at: '2025-01-02T00:00:00Z' },
      ),
      { assets: ASSETS },
    );
    expect(result.inserted).toBe(2);
    expect(await userBalances(db.pool, 'hank')).toEqual({ ATOM: 0n });
  });

  it('accepts a batch of withdrawals only', async () => {
    await applyBalanceChanges(db.pool, lines({ id: 'b4', user: 'bob', delta: '-100', at: '2025-01-04T00:00:00Z' }), { assets: ASSETS });
    expect(await userBalances(db.pool, 'bob')).toEqual({ ATOM: 200n });
  });
});

describe('planner statistics after a large import', () => {
  it('an import of at least ANALYZE_AFTER_ROWS changes leaves balance_changes and balances analyzed', async () => {
    const big = await freshDatabase();
    try {
      // Autovacuum off: only the import itself may analyze.
      await big.pool.query('ALTER TABLE balance_changes SET (autovacuum_enabled = false); ALTER TABLE balances SET (autovacuum_enabled = false)');
      const small = Array.from({ length: 10 }, (_, i) => ({ line: i + 1, record: { id: `s-${i}`, user: `u-${i}`, asset: 'ATOM', delta: '5', at: '2025-01-01T00:00:00Z' } }));
      await applyBalanceChanges(big.pool, small, { assets: ASSETS });
      const analyzed = async () =>
        (await big.pool.query<{ relname: string; analyzed: boolean }>(
          "SELECT relname, last_analyze IS NOT NULL AS analyzed FROM pg_stat_user_tables WHERE relname IN ('balance_changes', 'balances') ORDER BY relname",
        )).rows;
      expect(await analyzed()).toEqual([
        { relname: 'balance_changes', analyzed: false },
        { relname: 'balances', analyzed: false },
      ]);
      const records = Array.from({ length: ANALYZE_AFTER_ROWS }, (_, i) => ({ line: i + 1, record: { id: `b-${i}`, user: `u-${i % 2000}`, asset: 'ATOM', delta: '7', at: '2025-01-02T00:00:00Z' } }));
      await applyBalanceChanges(big.pool, records, { assets: ASSETS });
      expect(await analyzed()).toEqual([
        { relname: 'balance_changes', analyzed: true },
        { relname: 'balances', analyzed: true },
      ]);
      const { rows } = await big.pool.query<{ reltuples: number }>("SELECT reltuples FROM pg_class WHERE relname = 'balance_changes'");
      expect(rows[0]!.reltuples).toBeGreaterThanOrEqual(ANALYZE_AFTER_ROWS);
    } finally {
      await big.drop();
    }
  });
});

describe('JSONL files', () => {
  it('refuses a line that repeats a key, naming the line and the key', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'softstake-dup-'));
    const file = path.join(dir, 'dup.jsonl');
    await writeFile(file, '{"id":"dup-1","user":"zed","asset":"ATOM","delta":"1","delta":"100","at":"2025-02-01T00:00:00Z"}\n');
    try {
      const source = await openChangeFile(file);
      const error = await applyBalanceChanges(db.pool, source.records, { assets: ASSETS }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LedgerInputError);
      expect((error as LedgerInputError).problems).toEqual([{ line: 1, reason: 'duplicate key "delta" in one object' }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
