/**
 * NEAR end to end: the daemon (`softstake start`) against the NEAR devnet
 * through near-api-js. The rebalancer deposits into two staking pools; epochs
 * pass and the pools' share price rises; harvests measure the growth the
 * daemon's own deposits do not explain; the cron distributions credit users.
 * Afterwards the reward events equal the devnet's own reward accounting to
 * the yoctoNEAR, and every one went out once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startNearDevnet, type NearDevnet } from '../../adapters/near/devnet.js';
import { runCli } from '../helpers/cli.js';
import { api, DaemonProcess, freePort, writeDaemonConfig } from '../helpers/daemon.js';
import { freshDatabase, atom, type TestDatabase } from '../helpers/db.js';
import { expectChainRewardsDistributedOnce } from '../helpers/invariants.js';
import { until } from '../helpers/wait.js';

const CHAIN = 'near-devnet';
const CUSTODY = 'custody.devnet';
const NEAR = 10n ** 24n;
let db: TestDatabase;
let devnet: NearDevnet;
let epochs: NodeJS.Timeout | undefined;
let daemon: DaemonProcess;
let port: number;
let configFile: string;

beforeAll(async () => {
  db = await freshDatabase({ NEAR: atom({ symbol: 'NEAR', decimals: 24 }) });
  devnet = await startNearDevnet({ clock: 'wall' });
  const secret = devnet.createAccount(CUSTODY, 1_000n * NEAR);
  port = await freePort();
  ({ file: configFile } = await writeDaemonConfig({
    databaseUrl: db.url,
    redisUrl: 'redis://127.0.0.1:6379',
    endpoints: [...devnet.urls],
    keyHex: secret,
    validators: devnet.pools.map((address, i) => ({ address, weight: 2 - i })),
    port,
    // The first rebalance may run before the users' deposits arrive: a
    // buffer of 100 tokens either way makes the stake the same.
    stake: { minBuffer: '100' },
    asset: { symbol: 'NEAR', decimals: 24 },
    chain: { name: CHAIN, kind: 'near', options: `{ accountId: ${CUSTODY}, networkId: ${devnet.chainId} }` },
    intervals: { poll: '1s', harvest: '1s', rebalance: '1h' },
  }));
  daemon = DaemonProcess.start(configFile);
  await daemon.ready();
});

afterAll(async () => {
  clearInterval(epochs);
  if (daemon && daemon.child.exitCode === null) await daemon.kill();
  await devnet?.close();
  await db?.drop();
});

describe('NEAR on the NEAR devnet, end to end', () => {
  it('stakes 2:1 in two pools, measures each epoch\'s growth and credits it to users exactly once', async () => {
    const at = new Date(Date.now() - 60_000).toISOString();
    const posted = await api(port, 'POST', '/v1/balance-changes', {
      changes: [
        { id: 'dep-alice', user: 'alice', asset: 'NEAR', delta: (600n * NEAR).toString(), at },
        { id: 'dep-bob', user: 'bob', asset: 'NEAR', delta: (400n * NEAR).toString(), at },
      ],
    });
    expect(posted.status).toBe(200);

    const [alpha, beta] = devnet.pools;
    const staked = (pool: string | undefined) => devnet.account(CUSTODY).pools.find((p) => p.pool === pool)?.staked ?? 0n;
    await until(() => staked(alpha) > 0n && staked(beta) > 0n, 'both pools hold stake');
    // 90 % of the users' 1000 NEAR, less the account's storage reserve (182 bytes × 10^19 yocto), which must stay liquid.
    const stakable = 900n * NEAR - 182n * 10n ** 19n;
    expect(staked(alpha) + staked(beta)).toBeGreaterThanOrEqual(stakable - 2n); // share rounding: at most a yocto per deposit
    expect(staked(alpha) + staked(beta)).toBeLessThanOrEqual(stakable);
    expect(staked(alpha)).toBeGreaterThanOrEqual((2n * stakable) / 3n - 1n);

    epochs = setInterval(() => devnet.nextEpoch(), 700);
    await until(async () => (await db.pool.query('SELECT 1 FROM distributions WHERE gross > 0')).rowCount! >= 2, 'two distributions allocated rewards', 45_000);
    const history = await api(port, 'GET', '/v1/users/bob/rewards');
    expect((history.body as { rewards: unknown[] }).rewards.length).toBeGreaterThan(0);

    // Epochs stop; harvests run every second, ping the pools and measure
    // the last epoch once: then the reward events are what the devnet
    // paid, and a clean stop.
    clearInterval(epochs);
    await until(async () => {
      const { rows } = await db.pool.query<{ s: string | null }>('SELECT sum(amount)::text AS s FROM reward_events WHERE source = $1', [CHAIN]);
      return rows[0]!.s === devnet.truth.of(CUSTODY).net.toString();
    }, 'the harvests caught up with what the devnet paid', 30_000);
    expect(await daemon.kill('SIGTERM')).toBe(0);
    const close = await runCli(['distribute', '-c', configFile, '--asset', 'NEAR', '--period-end', new Date(Date.now() - 1).toISOString(), '--json']);
    expect(close.stderr).toBe('');

    await expectChainRewardsDistributedOnce(db.pool, CHAIN, devnet.truth.of(CUSTODY).net); // the ground truth: paid − slashed
  }, 90_000);
});
