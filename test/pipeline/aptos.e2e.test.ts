/**
 * Aptos end to end: the daemon (`softstake start`) against the Aptos devnet
 * through the Aptos ts-sdk, on the wall clock with 2 s epochs. The
 * rebalancer stakes in two delegation pools (add_stake: the fee charged, and
 * returned at the epoch's end), the first attempt failing on chain (gas
 * paid); a larger buffer makes it unlock, a deposit makes it take the unlock
 * back (reactivate_stake), the rest turns inactive at the lockup's end and
 * the harvest job withdraws it. Afterwards the reward events equal exactly
 * what the devnet's pools compounded for the custody (the fee's return is
 * not a reward), and every one went out once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ONE_APT, startAptosDevnet, type AptosDevnet } from '../../adapters/aptos/devnet.js';
import { runCli } from '../helpers/cli.js';
import { api, DaemonProcess, freePort, writeDaemonConfig } from '../helpers/daemon.js';
import { freshDatabase, atom, type TestDatabase } from '../helpers/db.js';
import { expectChainRewardsDistributedOnce } from '../helpers/invariants.js';
import { until } from '../helpers/wait.js';
import { PrivateKey, PrivateKeyVariants } from '@aptos-labs/ts-sdk';

const CHAIN = 'aptos-devnet';
let db: TestDatabase;
let devnet: AptosDevnet;
let daemon: DaemonProcess | undefined;
let port: number;
let configFile: string;
let custody: string;
let secret: string;

beforeAll(async () => {
  db = await freshDatabase({ APT: atom({ symbol: 'APT', decimals: 8 }) });
  // 2 s epochs with a 200 ms DKG window; a 30 s lockup cycle.
  devnet = await startAptosDevnet({ clock: 'wall', epochIntervalSecs: 2n, reconfigurationMs: 200, staking: { recurringLockupDurationSecs: 30n } });
  const account = devnet.createAccount(1_000n * ONE_APT + 5n * ONE_APT);
  custody = account.accountAddress.toStringLong();
  secret = PrivateKey.formatPrivateKey(account.privateKey.toHexString(), PrivateKeyVariants.Ed25519);
  port = await freePort();
  ({ file: configFile } = await writeDaemonConfig({
    databaseUrl: db.url,
    redisUrl: 'redis://127.0.0.1:6379',
    endpoints: [...devnet.endpoints],
    keyHex: secret,
    validators: devnet.pools.map((address, i) => ({ address, weight: 2 - i })),
    port,
    stake: { minBuffer: '10', minMove: '1' },
    asset: { symbol: 'APT', decimals: 8 },
    chain: { name: CHAIN, kind: 'aptos', options: `{ chainId: ${devnet.chainId}, inclusionWaitMs: 3000 }` },
    intervals: { poll: '1s', harvest: '1s', rebalance: '1s' },
  }));
});

afterAll(async () => {
  if (daemon !== undefined && daemon.child.exitCode === null) await daemon.kill();
  await devnet?.close();
  await db?.drop();
});

describe('APT on the Aptos devnet, end to end', () => {
  it('stakes, unlocks, reactivates, withdraws and credits each epoch\'s compounded reward to users exactly once', async () => {
    const [alpha, beta] = devnet.pools as [string, string];
    const stake = (pool: string) => devnet.stakes(custody).find((s) => s.pool === pool) ?? { active: 0n, inactive: 0n, pendingInactive: 0n };
    const txns = async () => (await (await fetch(`${devnet.endpoints[0]}/v1/accounts/${custody}/transactions?limit=100`)).json()) as { success: boolean; payload: { function: string }; events: { type: string }[] }[];

    // The first delegation fails on chain: gas paid, nothing staked; the next rebalance plans it again.
    devnet.failNextTx();
    daemon = DaemonProcess.start(configFile);
    await daemon.ready();
    const deposit = async (at: Date, ...changes: [id: string, user: string, apt: bigint][]) => {
      const posted = await api(port, 'POST', '/v1/balance-changes', { changes: changes.map(([id, user, apt]) => ({ id, user, asset: 'APT', delta: (apt * ONE_APT).toString(), at: at.toISOString() })) });
      expect(posted.status, JSON.stringify(posted.body)).toBe(200);
    };
    await deposit(new Date(Date.now() - 60_000), ['dep-alice', 'alice', 600n], ['dep-bob', 'bob', 400n]);
    await until(() => stake(alpha).active > 0n && stake(beta).active > 0n, 'both pools hold stake', 30_000);
    expect((await txns()).some((t) => !t.success)).toBe(true);
    await until(async () => (await db.pool.query('SELECT 1 FROM distributions WHERE gross > 0')).rowCount! >= 1, 'a distribution allocated rewards', 45_000);

    // Deposits booked before their APT reaches the custody: the buffer (10 % of 4,000) lacks about 300 APT, unlocked 2:1.
    await deposit(new Date(), ['dep-carol', 'carol', 3_000n]);
    await until(() => stake(alpha).pendingInactive > 0n && stake(beta).pendingInactive > 0n, 'both pools unlocking', 30_000);
    // Some of the APT arrives before the lockup ends: the excess over the buffer is staked by taking the
    // unlocks back first (no fee; the liquid APT stays liquid, so the next rebalances take back the rest).
    devnet.chain.fund(custody, custody, 450n * ONE_APT);
    await until(async () => (await txns()).some((t) => t.success && t.payload.function.endsWith('::reactivate_stake')), 'an unlock taken back', 30_000);
    await until(() => stake(alpha).pendingInactive === 0n && stake(beta).pendingInactive === 0n, 'every unlock taken back', 30_000);
    // More deposits booked ahead of their APT: another unlock, which this time turns inactive at the lockup's
    // end; the harvest job withdraws it.
    await deposit(new Date(), ['dep-dave', 'dave', 2_000n]);
    await until(() => stake(alpha).pendingInactive > 0n, 'unlocking again', 30_000);
    await until(async () => (await txns()).some((t) => t.success && t.events.some((e) => e.type === '0x1::delegation_pool::WithdrawStake')), 'inactive stake withdrawn', 60_000);
    await until(async () => (await db.pool.query('SELECT 1 FROM distributions WHERE gross > 0')).rowCount! >= 3, 'three distributions allocated rewards', 45_000);
    const history = await api(port, 'GET', '/v1/users/bob/rewards');
    expect((history.body as { rewards: unknown[] }).rewards.length).toBeGreaterThan(0);

    // Governance stretches the epoch: no more rewards; the harvests catch up with what the pools compounded.
    devnet.setEpochInterval(86_400n);
    await until(async () => {
      const { rows } = await db.pool.query<{ s: string | null }>('SELECT sum(amount)::text AS s FROM reward_events WHERE source = $1', [CHAIN]);
      return rows[0]!.s === devnet.truth.of(custody).net.toString();
    }, 'the harvests caught up with what the devnet paid', 30_000);
    expect(devnet.truth.of(custody).net).toBeGreaterThan(0n);
    expect(await daemon.kill('SIGTERM')).toBe(0);
    const close = await runCli(['distribute', '-c', configFile, '--asset', 'APT', '--period-end', new Date(Date.now() - 1).toISOString(), '--json']);
    expect(close.stderr).toBe('');

    await expectChainRewardsDistributedOnce(db.pool, CHAIN, devnet.truth.of(custody).net);
  }, 240_000);
});
