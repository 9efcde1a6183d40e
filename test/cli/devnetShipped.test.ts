/**
 * `softstake devnet -c config/devnet.yaml`, the README's run command, with
 * the shipped file: ATOM on the Cosmos devnet, NEAR on the NEAR devnet, TRX
 * on the TRON devnet, APT on the Aptos devnet, DOT on the Polkadot devnet.
 */
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { runCli, summaryOf } from '../helpers/cli.js';
import { freePort } from '../helpers/daemon.js';
import { dropDatabases, TEST_SERVER_URL } from '../helpers/db.js';

const name = `softstake_t_shipped_${process.pid}`;
const databaseUrl = new URL(TEST_SERVER_URL);
databaseUrl.pathname = `/${name}`;

// `softstake devnet` makes `<name>_devnet` beside the configured database.
afterAll(() => dropDatabases(name, `${name}_devnet`));

describe('softstake devnet, the shipped config', () => {
  it('runs config/devnet.yaml as shipped: ATOM on the Cosmos devnet, NEAR on the NEAR devnet, TRX on the TRON devnet, APT on the Aptos devnet, DOT on the Polkadot devnet', async () => {
    const shipped = await readFile(new URL('../../config/devnet.yaml', import.meta.url), 'utf8');
    const dir = await mkdtemp(join(tmpdir(), 'softstake-devnet-config-'));
    await cp(new URL('../../config/devnet-secrets', import.meta.url), join(dir, 'devnet-secrets'), { recursive: true });
    const config = join(dir, 'devnet.yaml');
    await writeFile(
      config,
      shipped
        .replace(/url: postgres:\/\/\S+/, `url: ${databaseUrl.href}`)
        .replace(/listen: 127\.0\.0\.1:8080/, `listen: 127.0.0.1:${await freePort()}`)
        .replace(/^redis:\n {2}url: (\S+)/m, `redis:\n  url: $1\n  prefix: t-devnet-atom-${process.pid}`),
    );
    // 45 s: distributions run every 15 s (on the quarter minute), so the last one in the run comes 30 s or more after
    // the daemon is ready. DOT's first reward is harvested some 14 s after ready (bond, the next era's election, that
    // era paid 2-3 eras of 4.32 s later, a claim per validator); in a 30 s run the last distribution may come at 15 s.
    const result = await runCli(['devnet', '-c', config, '--duration', '45s', '--json']);
    expect(result.code, result.stderr.slice(-2000)).toBe(0);
    const summary = JSON.parse(summaryOf(result.stdout)) as { assets: { asset: string; chain: string; staked: string; distributed: string; usersCredited: number }[] };
    expect(summary.assets.map((a) => [a.asset, a.chain])).toEqual([
      ['ATOM', 'cosmoshub-devnet'],
      ['NEAR', 'near-devnet'],
      ['TRX', 'tron-devnet'],
      ['APT', 'aptos-devnet'],
      ['DOT', 'polkadot-devnet'],
    ]);
    // DOT too: eras of 24 h / speedup (4.32 s), so the era after the bond pays within the run.
    for (const [asset, unit] of [['ATOM', 10n ** 6n], ['NEAR', 10n ** 24n], ['TRX', 10n ** 6n], ['APT', 10n ** 8n], ['DOT', 10n ** 10n]] as const) {
      const s = summary.assets.find((a) => a.asset === asset)!;
      expect(s.usersCredited, asset).toBe(4);
      expect(BigInt(s.staked), asset).toBeGreaterThanOrEqual(899n * unit); // 90% of the demo users' 1,000
      expect(BigInt(s.distributed), asset).toBeGreaterThan(0n);
    }
  }, 240_000);
});
