/**
 * `softstake devnet`, as a person runs it: the configured chain's devnet
 * (testchain here, through a plugin adapter's sibling devnet.ts), demo users,
 * the daemon with time sped up, and a summary at the end of `--duration`.
 */
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';

import { runCli, writeTemp } from '../helpers/cli.js';
import { freePort, TEST_CHAIN_MODULE } from '../helpers/daemon.js';
import { TEST_SERVER_URL } from '../helpers/db.js';

const name = `softstake_t_devnet_${process.pid}`;
const databaseUrl = new URL(TEST_SERVER_URL);
databaseUrl.pathname = `/${name}`;

afterAll(async () => {
  const admin = new pg.Client({ connectionString: TEST_SERVER_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  for (const db of [`${name}_devnet`, `${name}_atom`, `${name}_atom_devnet`]) await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await admin.end();
});

describe('softstake devnet --duration', () => {
  it('delegates, harvests and credits the demo users within the run, then prints a summary', async () => {
    const config = await writeTemp(
      'devnet.yaml',
      `database: { url: "${databaseUrl.href}" }
redis: { prefix: t-devnet-${process.pid} }
assets:
  ATOM: { decimals: 6, minHolding: "1", commission: "10%" }
chains:
  testnet:
    kind: testchain
    module: ${TEST_CHAIN_MODULE}
    asset: ATOM
    endpoints: [http://127.0.0.1:1]   # replaced by the devnet's
    signer: { env: REPLACED_BY_THE_DEVNET }
    validators: [{ address: replaced }]
api: { listen: "127.0.0.1:${await freePort()}" }
`,
    );
    const result = await runCli(['devnet', '-c', config, '--duration', '20s', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('"msg":"distributed"'); // the log, on stderr with --json
    const summary = JSON.parse(result.stdout) as {
      database: string;
      assets: { asset: string; staked: string; rewardsRealized: string; distributed: string; usersCredited: number }[];
    };
    expect(summary.database).toBe(`${name}_devnet`);
    const atom = summary.assets[0]!;
    expect(atom.asset).toBe('ATOM');
    expect(BigInt(atom.staked)).toBeGreaterThanOrEqual(900_000_000n); // 90% of the demo users' 1,000 ATOM
    expect(BigInt(atom.rewardsRealized)).toBeGreaterThan(0n);
    expect(BigInt(atom.distributed)).toBeGreaterThan(0n);
    expect(atom.usersCredited).toBe(4);
  }, 60_000);

  it('runs config/devnet.yaml as shipped: ATOM on the Cosmos devnet, NEAR on the NEAR devnet', async () => {
    const shipped = await readFile(new URL('../../config/devnet.yaml', import.meta.url), 'utf8');
    const dir = await mkdtemp(join(tmpdir(), 'softstake-devnet-config-'));
    await cp(new URL('../../config/devnet-secrets', import.meta.url), join(dir, 'devnet-secrets'), { recursive: true });
    const config = join(dir, 'devnet.yaml');
    await writeFile(
      config,
      shipped
        .replace(/url: postgres:\/\/\S+/, `url: ${databaseUrl.href.replace(name, `${name}_atom`)}`)
        .replace(/listen: 127\.0\.0\.1:8080/, `listen: 127.0.0.1:${await freePort()}`)
        .replace(/^redis:\n {2}url: (\S+)/m, `redis:\n  url: $1\n  prefix: t-devnet-atom-${process.pid}`),
    );
    const result = await runCli(['devnet', '-c', config, '--duration', '20s', '--json']);
    expect(result.code, result.stderr.slice(-2000)).toBe(0);
    const summary = JSON.parse(result.stdout) as { assets: { asset: string; chain: string; staked: string; distributed: string; usersCredited: number }[] };
    expect(summary.assets.map((a) => [a.asset, a.chain])).toEqual([
      ['ATOM', 'cosmoshub-devnet'],
      ['NEAR', 'near-devnet'],
    ]);
    for (const [asset, unit] of [['ATOM', 10n ** 6n], ['NEAR', 10n ** 24n]] as const) {
      const s = summary.assets.find((a) => a.asset === asset)!;
      expect(s.usersCredited, asset).toBe(4);
      expect(BigInt(s.staked), asset).toBeGreaterThanOrEqual(899n * unit); // 90% of the demo users' 1,000
      expect(BigInt(s.distributed), asset).toBeGreaterThan(0n);
    }
  }, 60_000);
});
