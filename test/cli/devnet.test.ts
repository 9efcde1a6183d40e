/**
 * `softstake devnet`, as a person runs it: the configured chain's devnet
 * (the Cosmos one here, loaded as a plugin would be: the chain block names
 * the adapter module by path, and the devnet is the `devnet.ts` beside it),
 * demo users, the daemon with time sped up, and a summary at the end of
 * `--duration`. devnetShipped.test.ts runs the built-in kinds.
 */
import { afterAll, describe, expect, it } from 'vitest';

import { runCli, summaryOf, writeTemp } from '../helpers/cli.js';
import { ADAPTER_MODULES } from '../helpers/chains.js';
import { freePort } from '../helpers/daemon.js';
import { dropDatabases, TEST_SERVER_URL } from '../helpers/db.js';

const name = `softstake_t_devnet_${process.pid}`;
const databaseUrl = new URL(TEST_SERVER_URL);
databaseUrl.pathname = `/${name}`;

// `softstake devnet` makes `<name>_devnet` beside the configured database.
afterAll(() => dropDatabases(name, `${name}_devnet`));

describe('softstake devnet --duration', () => {
  it('delegates, harvests and credits the demo users within the run, then prints a summary', async () => {
    const config = await writeTemp(
      'devnet.yaml',
      `database: { url: "${databaseUrl.href}" }
redis: { prefix: t-devnet-${process.pid} }
assets:
  ATOM: { decimals: 6, minHolding: "1", commission: "10%" }
chains:
  cosmos-plugin:
    kind: cosmos
    module: ${ADAPTER_MODULES.cosmos}
    asset: ATOM
    endpoints: [http://127.0.0.1:1]   # replaced by the devnet's
    signer: { env: REPLACED_BY_THE_DEVNET }
    validators: [{ address: replaced }]
    options: { chainId: softstake-devnet-1, pollIntervalMs: 200 }
api: { listen: "127.0.0.1:${await freePort()}" }
`,
    );
    const result = await runCli(['devnet', '-c', config, '--duration', '30s', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('"msg":"distributed"'); // the log, on stderr with --json
    const summary = JSON.parse(summaryOf(result.stdout)) as {
      database: string;
      assets: { asset: string; chain: string; staked: string; rewardsRealized: string; distributed: string; usersCredited: number }[];
    };
    expect(summary.database).toBe(`${name}_devnet`);
    const atom = summary.assets[0]!;
    expect([atom.asset, atom.chain]).toEqual(['ATOM', 'cosmos-plugin']);
    expect(BigInt(atom.staked)).toBeGreaterThanOrEqual(900_000_000n); // 90% of the demo users' 1,000 ATOM
    expect(BigInt(atom.rewardsRealized)).toBeGreaterThan(0n);
    expect(BigInt(atom.distributed)).toBeGreaterThan(0n);
    expect(atom.usersCredited).toBe(4);
  }, 60_000);
});
