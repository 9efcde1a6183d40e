import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli, writeConfig, writeTemp } from '../helpers/cli.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
let config: string;

beforeAll(async () => {
  db = await freshDatabase();
  config = await writeConfig(db.url);
});
afterAll(async () => {
  await db?.drop();
});

const cli = (...args: string[]) => runCli(['-c', config, ...args]);

async function changeCount(): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM balance_changes');
  return rows[0]!.n;
}

describe('softstake CLI', () => {
  it('imports JSONL and CSV, idempotently', async () => {
    const jsonl = await writeTemp(
      'changes.jsonl',
      [
        { id: 'j1', user: 'alice', asset: 'ATOM', delta: '1000000', at: '2025-03-01T00:00:00Z' },
        { id: 'j2', user: 'bob', asset: 'ATOM', delta: '3000000', at: '2025-03-01T12:00:00Z' },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n') + '\n',
    );
    const first = await cli('--json', 'balances', 'import', jsonl);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ received: 2, inserted: 2, duplicates: 0 });
    const again = await cli('--json', 'balances', 'import', jsonl);
    expect(JSON.parse(again.stdout)).toEqual({ received: 2, inserted: 0, duplicates: 2 });

    const csv = await writeTemp('changes.csv', 'user,id,asset,delta,at\n"carol, jr",c1,ATOM,500000,2025-03-01T06:00:00Z\n');
    const imported = await cli('balances', 'import', csv);
    expect(imported.code).toBe(0);
    expect(imported.stdout).toContain('1 changes imported');
    const shown = await cli('--json', 'balances', 'show', '--user', 'carol, jr');
    expect(JSON.parse(shown.stdout)).toEqual({ ATOM: '500000' });
  });

  it('fails a bad file as a whole, naming lines and reasons, writing nothing', async () => {
    const before = await changeCount();
    const bad = await writeTemp(
      'bad.csv',
      'id,user,asset,delta,at\nk1,kim,ATOM,100,2025-03-02T00:00:00Z\nk2,kim,ATOM,-101,2025-03-02T01:00:00Z\nk3,kim,DOT,5,2025-03-02T02:00:00Z\n',
    );
    const result = await cli('balances', 'import', bad);
    expect(result.code).toBe(65);
    expect(result.stderr).toContain('line 4, id "k3": asset: unknown asset "DOT" (the ledger keeps ATOM)');
    expect(await changeCount()).toBe(before);

    const negative = await writeTemp('neg.jsonl', JSON.stringify({ id: 'k9', user: 'kim', asset: 'ATOM', delta: '-1', at: '2025-03-02T00:00:00Z' }) + '\n');
    const refused = await cli('balances', 'import', negative);
    expect(refused.code).toBe(65);
    expect(refused.stderr).toContain("line 1, id \"k9\": would take kim's ATOM balance below 0 (to -1)");
    expect(await changeCount()).toBe(before);
  });

  it('records rewards, distributes with --json, and shows the history', async () => {
    const rec = await cli('--json', 'rewards', 'record', '--asset', 'ATOM', '--amount', '1000', '--id', 'rw1', '--at', '2025-03-01T18:00:00Z');
    expect(rec.code).toBe(0);
    expect(JSON.parse(rec.stdout)).toMatchObject({ recorded: 1, duplicates: 0 });
    const dup = await cli('rewards', 'record', '--asset', 'ATOM', '--amount', '1000', '--id', 'rw1', '--at', '2025-03-01T18:00:00Z');
    expect(dup.stdout).toContain('already recorded');
    const clash = await cli('rewards', 'record', '--asset', 'ATOM', '--amount', '999', '--id', 'rw1', '--at', '2025-03-01T18:00:00Z');
    expect(clash.code).toBe(65);
    expect(clash.stderr).toContain('already recorded with other content');

    const dry = await cli('--json', 'distribute', '--asset', 'ATOM', '--period-end', '2025-03-02T00:00:00Z', '--dry-run');
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, gross: '1000' });

    const run = await cli('--json', 'distribute', '--asset', 'ATOM', '--period-end', '2025-03-02T00:00:00Z');
    expect(run.code).toBe(0);
    const d = JSON.parse(run.stdout);
    // T = 1 day; alice 1 ATOM all day, carol 0.5 ATOM for 18 h, bob 3 ATOM for 12 h.
    expect(d).toMatchObject({
      id: 'ATOM:2025-03-02T00:00:00.000Z',
      asset: 'ATOM',
      periodStart: '2025-03-01T00:00:00.000Z',
      periodEnd: '2025-03-02T00:00:00.000Z',
      gross: '1000',
      commission: '100',
      distributed: '900',
      eligibleUsers: 3,
    });
    const rerun = await cli('--json', 'distribute', '--asset', 'ATOM', '--period-end', '2025-03-02T00:00:00Z');
    expect(JSON.parse(rerun.stdout)).toEqual({ ...d, existing: true });

    // weights 1·24 : 0.5·18 : 3·12 = 24 : 9 : 36 of 900 → 313.04, 117.39, 469.56
    const history = await cli('--json', 'history', '--user', 'bob');
    expect(JSON.parse(history.stdout)).toEqual([
      {
        distributionId: 'ATOM:2025-03-02T00:00:00.000Z',
        asset: 'ATOM',
        amount: '470',
        avgBalance: '1500000',
        periodStart: '2025-03-01T00:00:00.000Z',
        periodEnd: '2025-03-02T00:00:00.000Z',
      },
    ]);
    const alice = JSON.parse((await cli('--json', 'history', '--user', 'alice', '--asset', 'ATOM')).stdout);
    expect(alice[0].amount).toBe('313');
    const list = await cli('distributions', '--asset', 'ATOM');
    expect(list.stdout).toMatch(/2025-03-02T00:00:00.000Z\s+0.001\s+0.0001\s+0.0009/);
  });

  it('says what is wrong with bad options and config', async () => {
    const end = await cli('distribute', '--asset', 'ATOM', '--period-end', 'yesterday');
    expect(end.code).toBe(65);
    expect(end.stderr).toContain('--period-end: expected an ISO-8601 instant');
    const asset = await cli('distribute', '--asset', 'DOGE', '--period-end', '2025-03-03T00:00:00Z');
    expect(asset.code).toBe(78);
    expect(asset.stderr).toMatch(/assets\.DOGE: no such asset; the config lists ATOM/);
    const badConfig = await writeTemp('bad.yaml', 'database:\n  url: postgres://u:hunter2@127.0.0.1/x\nassets:\n  ATOM:\n    decimals: 6\n    commission: "ten"\n');
    const check = await runCli(['config', 'check', '-c', badConfig]);
    expect(check.code).toBe(78);
    expect(check.stderr).toContain('assets.ATOM.commission');
    expect(check.stderr).not.toContain('hunter2');
  });
});
