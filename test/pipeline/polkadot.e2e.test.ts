/**
 * Polkadot end to end: the daemon (`softstake start`) against the Polkadot
 * (Asset Hub) devnet through @polkadot/api, nominate mode. The rebalancer
 * bonds and nominates two validators; eras pass on the wall clock; the
 * daemon's harvest jobs claim the unclaimed pages, while another account
 * (the devnet's payout bot) pays some eras out first; the cron
 * distributions credit users. Afterwards the reward events equal what the
 * devnet paid the custody to the planck, fees were booked, and every event
 * went out once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { accountHex } from '../../adapters/polkadot/client.js';
import { DOT, startPolkadotDevnet, type PolkadotDevnet } from '../../adapters/polkadot/devnet.js';
import { runCli } from '../helpers/cli.js';
import { api, DaemonProcess, freePort, writeDaemonConfig } from '../helpers/daemon.js';
import { freshDatabase, atom, type TestDatabase } from '../helpers/db.js';
import { expectChainRewardsDistributedOnce } from '../helpers/invariants.js';
import { until } from '../helpers/wait.js';

const CHAIN = 'polkadot-devnet';
/** Eras of 6 s of chain time, blocks of 1 s, on the wall clock. */
const ERA_MS = 6_000;
let db: TestDatabase;
let devnet: PolkadotDevnet;
let bot: NodeJS.Timeout | undefined;
let daemon: DaemonProcess;
let port: number;
let configFile: string;
let custody: string;

beforeAll(async () => {
  db = await freshDatabase({ DOT: atom({ symbol: 'DOT', decimals: 10 }) });
  devnet = await startPolkadotDevnet({ clock: 'wall', blockMs: 1_000, eraMs: ERA_MS, minNominatorBond: 10n * DOT, statePruning: 1_000_000, finalityDelayMs: 0 });
  const account = devnet.createAccount(1_000n * DOT);
  custody = account.address;
  port = await freePort();
  ({ file: configFile } = await writeDaemonConfig({
    databaseUrl: db.url,
    redisUrl: 'redis://127.0.0.1:6379',
    endpoints: [...devnet.wsUrls],
    keyHex: account.mnemonic,
    validators: devnet.validators.slice(0, 2).map((address, i) => ({ address, weight: 2 - i })),
    port,
    stake: { minBuffer: '100' },
    asset: { symbol: 'DOT', decimals: 10 },
    chain: { name: CHAIN, kind: 'polkadot', options: `{ mode: nominate, eraDurationMs: ${ERA_MS}, inclusionWaitMs: 20000, pollIntervalMs: 200 }` },
    intervals: { poll: '1s', harvest: '1s', rebalance: '1h' },
  }));
  daemon = DaemonProcess.start(configFile);
  await daemon.ready();
});

afterAll(async () => {
  clearInterval(bot);
  if (daemon && daemon.child.exitCode === null) await daemon.kill();
  await devnet?.close();
  await db?.drop();
});

describe('DOT on the Polkadot devnet, end to end', () => {
  it('bonds and nominates, claims era payouts (some paid by another account first) and credits them to users exactly once', async () => {
    const at = new Date(Date.now() - 60_000).toISOString();
    const posted = await api(port, 'POST', '/v1/balance-changes', {
      changes: [
        { id: 'dep-alice', user: 'alice', asset: 'DOT', delta: (600n * DOT).toString(), at },
        { id: 'dep-bob', user: 'bob', asset: 'DOT', delta: (400n * DOT).toString(), at },
      ],
    });
    expect(posted.status).toBe(200);

    const active = (): bigint => {
      const ledger = devnet.chain.best.read('Staking', 'Ledger', accountHex(custody)) as { active: string | number } | undefined;
      return ledger === undefined ? 0n : BigInt(ledger.active);
    };
    // 90 % of the users' 1000 DOT, less the existential deposit (0.01 DOT) that stays liquid.
    await until(() => active() >= 890n * DOT, 'the custody bonded its share', 60_000);
    expect(active()).toBeLessThanOrEqual(900n * DOT);

    // Another account pays eras out too; the daemon's claims take the rest.
    bot = setInterval(() => devnet.payoutAll(), 4_000);
    await until(async () => (await db.pool.query('SELECT 1 FROM distributions WHERE gross > 0')).rowCount! >= 2, 'two distributions allocated rewards', 60_000);
    const history = await api(port, 'GET', '/v1/users/bob/rewards');
    expect((history.body as { rewards: unknown[] }).rewards.length).toBeGreaterThan(0);

    clearInterval(bot);
    await until(async () => {
      const { rows } = await db.pool.query<{ s: string | null }>('SELECT sum(amount)::text AS s FROM reward_events WHERE source = $1', [CHAIN]);
      return rows[0]!.s === devnet.truth.of(custody).net.toString();
    }, 'the harvests caught up with what the devnet paid', 30_000);
    expect(await daemon.kill('SIGTERM')).toBe(0);
    const close = await runCli(['distribute', '-c', configFile, '--asset', 'DOT', '--period-end', new Date(Date.now() - 1).toISOString(), '--json']);
    expect(close.stderr).toBe('');

    await expectChainRewardsDistributedOnce(db.pool, CHAIN, devnet.truth.of(custody).net);
  }, 180_000);
});
