import { fc, test } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect } from 'vitest';

import { loadConfig, type SoftstakeConfig } from '../../src/config/index.js';
import { LedgerInputError } from '../../src/errors.js';
import { applyBalanceChanges } from '../../src/ledger/balanceChanges.js';
import { windowOf } from '../../src/ledger/inputRules.js';
import { openChangeFile } from '../../src/ledger/readChanges.js';
import { runCli, writeConfig, writeTemp } from '../helpers/cli.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { propertyRuns } from '../helpers/runs.js';

// Bad input at the `balances import` door: whatever a JSONL or CSV file
// holds, the import takes all of it or refuses it with a LedgerInputError
// (exit 65) that names what is wrong; never another error, never a stack
// trace, and a refused file writes nothing. The in-process runs go through
// the command's own code (openChangeFile + applyBalanceChanges with the
// command's options); a few go through the real command.

let db: TestDatabase;
let config: string;
let loaded: SoftstakeConfig;

beforeAll(async () => {
  db = await freshDatabase();
  config = await writeConfig(db.url);
  loaded = await loadConfig(config, {});
});
afterAll(async () => {
  await db?.drop();
});

async function written(): Promise<string> {
  const { rows } = await db.pool.query('SELECT (SELECT count(*) FROM balance_changes) AS c, (SELECT coalesce(sum(amount), 0)::text FROM balances) AS b');
  return JSON.stringify(rows[0]);
}

const junk = fc.jsonValue({ maxDepth: 2 });
const text = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 60 }));
const at = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 400_000 }).map((m) => new Date(Date.UTC(2026, 0, 1) + m * 60_000).toISOString()) },
  { weight: 1, arbitrary: fc.constantFrom('2026-02-30T00:00:00Z', '2026-01-01', '9999-12-31T23:59:59Z', '', 'now') },
  { weight: 1, arbitrary: text },
);
const field = {
  id: fc.oneof({ weight: 6, arbitrary: fc.stringMatching(/^[a-z0-9]{10}$/) }, { weight: 1, arbitrary: fc.constantFrom('dup-1', 'dup-2') }, { weight: 1, arbitrary: text }),
  user: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 20 }).map((n) => `user-${n}`) }, { weight: 1, arbitrary: text }),
  asset: fc.oneof({ weight: 6, arbitrary: fc.constant('ATOM') }, { weight: 1, arbitrary: fc.constantFrom('atom', 'DOT', '') }),
  delta: fc.oneof(
    { weight: 6, arbitrary: fc.bigInt({ min: -100n, max: 1_000_000n }).map(String) },
    { weight: 1, arbitrary: fc.constantFrom('1.5', '1e3', '-0', '01', '', ' 1', '9'.repeat(80)) },
    { weight: 1, arbitrary: text },
  ),
  at,
};
const record = fc.record(field, { requiredKeys: [] });

/** A JSONL line: a record (sometimes with extra or mistyped fields), any JSON, text, or nothing. */
const jsonlLine = fc.oneof(
  { weight: 8, arbitrary: record.map((r) => JSON.stringify(r)) },
  { weight: 1, arbitrary: fc.tuple(record, fc.dictionary(fc.string({ maxLength: 5 }), junk, { maxKeys: 2 })).map(([r, x]) => JSON.stringify({ ...x, ...r })) },
  { weight: 1, arbitrary: junk.map((j) => JSON.stringify(j)) },
  { weight: 1, arbitrary: fc.oneof(text, fc.constantFrom('', '{', '{"id":"a","id":"b"}', '\uFEFF{}')) },
);
const csvCell = (value: string) => (/[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);
const csvRow = fc.oneof(
  { weight: 8, arbitrary: fc.record(field).map((r) => [r.id, r.user, r.asset, r.delta, r.at].map(csvCell).join(',')) },
  { weight: 1, arbitrary: fc.array(text, { maxLength: 7 }).map((cells) => cells.map(csvCell).join(',')) },
  { weight: 1, arbitrary: fc.oneof(text, fc.constantFrom('"', 'a,"b', ',,,,', '')) },
);
const csvHeader = fc.oneof({ weight: 8, arbitrary: fc.constant('id,user,asset,delta,at') }, { weight: 1, arbitrary: fc.constantFrom('user,id,asset,delta,at', 'id,user,asset,delta', 'id,user,asset,delta,at,extra', '') });

const file = fc.oneof(
  fc.tuple(fc.constant('changes.jsonl'), fc.array(jsonlLine, { maxLength: 6 }).map((lines) => lines.join('\n'))),
  fc.tuple(fc.constant('changes.csv'), fc.tuple(csvHeader, fc.array(csvRow, { maxLength: 6 })).map(([h, rows]) => [h, ...rows].join('\n'))),
  fc.tuple(fc.constantFrom('changes.jsonl', 'changes.csv'), fc.string({ unit: 'binary', maxLength: 200 })),
);

const STACK = /\n\s+at |\.ts:\d+|node_modules/;
const outcomes = { imported: 0, refused: 0 };

describe('balances import under fuzzing', () => {
  const runs = propertyRuns();

  test.prop([file], { numRuns: 400 })('imports a file whole or refuses it with a LedgerInputError, writing nothing', runs.count(400, async ([name, content]) => {
    const path = await writeTemp(name, content);
    const before = await written();
    let error: unknown;
    try {
      const source = await openChangeFile(path);
      await applyBalanceChanges(db.pool, source.records, { assets: new Set(Object.keys(loaded.assets)), window: windowOf(loaded, Date.now()) });
    } catch (e) {
      error = e;
    }
    if (error === undefined) {
      outcomes.imported += 1;
      return;
    }
    outcomes.refused += 1;
    expect(error, `${String((error as Error).stack)}\nfor ${name}:\n${content.slice(0, 400)}`).toBeInstanceOf(LedgerInputError);
    expect(STACK.test((error as Error).message), (error as Error).message).toBe(false);
    expect(await written(), `a refused file wrote: ${content.slice(0, 400)}`).toBe(before);
  }));

  test.prop([file], { numRuns: 6 })('the real command exits 0 or 65, with no stack trace', runs.count(6, async ([name, content]) => {
    const path = await writeTemp(name, content);
    const before = await written();
    const result = await runCli(['-c', config, 'balances', 'import', path]);
    expect([0, 65], `${result.code}: ${result.stderr.slice(0, 500)}`).toContain(result.code);
    expect(STACK.test(result.stderr), result.stderr).toBe(false);
    if (result.code !== 0) expect(await written()).toBe(before);
  }), 300_000);

  test('the fuzzer reached both outcomes', () => {
    expect(outcomes.imported).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  });
});
