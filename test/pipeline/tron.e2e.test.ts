/**
 * TRON end to end: the daemon (`softstake start`) against the TRON devnet
 * over java-tron's HTTP API. The rebalancer freezes TRX and votes 2:1 for
 * two SRs; maintenance cycles pass; harvests claim once a day (a claim is
 * not sent within 24 h of the last) and record what WithdrawBalance paid; a
 * deposit adds a freeze and a re-vote of the whole set; a deposit the
 * exchange has not yet moved on chain leaves the buffer short, so votes are
 * cut and TRX unfrozen, and withdrawn a day later. Afterwards the
 * reward events equal what the devnet paid the custody to the sun, each
 * credited once, and the fees the chain burnt are booked.
 *
 * The devnet runs on the frozen clock, five days in the past: the test
 * moves chain time (three days in all) by maintenance cycles while the
 * daemon runs, and every block time (so every reward event) stays before
 * the daemon's own clock, which closes distribution periods. Accepted transactions are solidified
 * at once (`confirmAfterMs`).
 */
import { TronWeb } from 'tronweb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startTronDevnet, TRX, type TronDevnet } from '../../adapters/tron/devnet.js';
import { runCli } from '../helpers/cli.js';
import { api, DaemonProcess, freePort, writeDaemonConfig } from '../helpers/daemon.js';
import { atom, freshDatabase, type TestDatabase } from '../helpers/db.js';
import { expectChainRewardsDistributedOnce } from '../helpers/invariants.js';
import { until } from '../helpers/wait.js';

const CHAIN = 'tron-devnet';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const CYCLE = 6 * HOUR;
let db: TestDatabase;
let devnet: TronDevnet;
let daemon: DaemonProcess;
let port: number;
let configFile: string;
let custody: string;

beforeAll(async () => {
  db = await freshDatabase({ TRX: atom({ symbol: 'TRX', decimals: 6 }) });
  const genesis = Date.now() - 5 * DAY;
  devnet = await startTronDevnet({ genesisTime: genesis - (genesis % 3000), confirmAfterMs: 5, params: { maintenanceTimeInterval: CYCLE, unfreezeDelayDays: 1 } });
  // The users' 1000 TRX and the 10 TRX reserve: the first rebalance stakes 900 whether or not the deposits have arrived.
  const account = devnet.createAccount(1_010n * TRX);
  custody = account.address;
  devnet.produceBlocks(19);
  port = await freePort();
  ({ file: configFile } = await writeDaemonConfig({
    databaseUrl: db.url,
    redisUrl: 'redis://127.0.0.1:6379',
    endpoints: [...devnet.urls],
    keyHex: account.privateKey,
    validators: devnet.witnesses.slice(0, 2).map((address, i) => ({ address, weight: 2 - i })),
    port,
    // Fees burnt by the custody's transactions must not make the rebalancer move stake for a few TRX.
    stake: { minBuffer: '100', minMove: '5' },
    asset: { symbol: 'TRX', decimals: 6 },
    chain: { name: CHAIN, kind: 'tron', options: '{ pollIntervalMs: 50, inclusionTimeoutMs: 10000, resource: ENERGY }' },
    intervals: { poll: '1s', harvest: '1s', rebalance: '1s' },
  }));
  daemon = DaemonProcess.start(configFile);
  await daemon.ready();
});

afterAll(async () => {
  if (daemon && daemon.child.exitCode === null) await daemon.kill();
  await devnet?.close();
  await db?.drop();
});

const votes = (): Record<string, bigint> => Object.fromEntries((devnet.account(custody)?.votes ?? []).map((v) => [TronWeb.address.fromHex(v.address), v.count]));
const claims = (): number => [...devnet.chain.txs.values()].filter((t) => t.owner === custody && t.tx.contract.kind === 'WithdrawBalanceContract').length;
const recorded = async (): Promise<bigint> => {
  const { rows } = await db.pool.query<{ s: string | null }>('SELECT sum(amount)::text AS s FROM reward_events WHERE source = $1', [CHAIN]);
  return BigInt(rows[0]!.s ?? 0);
};

describe('TRX on the TRON devnet, end to end', () => {
  it('freezes and votes 2:1, claims once a day, re-votes, unfreezes and withdraws; rewards credited once, fees booked', async () => {
    const [sr0, sr1] = devnet.witnesses as [string, string];
    const at = new Date(Date.now() - 60_000).toISOString();
    // Dated now, as an exchange would: a distribution (every 2 s here) may close a period between the dating and
    // the request's arrival, and the ledger then refuses it; the exchange dates it again (seen in CI, under load).
    const change = async (id: string, user: string, delta: bigint): Promise<void> => {
      for (let attempt = 1; ; attempt++) {
        const posted = await api(port, 'POST', '/v1/balance-changes', { changes: [{ id, user, asset: 'TRX', delta: delta.toString(), at: new Date().toISOString() }] });
        if (posted.status === 400 && attempt < 5 && JSON.stringify(posted.body).includes('last closed period end')) continue;
        expect(posted.status, JSON.stringify(posted.body)).toBe(200);
        return;
      }
    };
    // Frozen for ENERGY: no staked bandwidth, so past the free 600 bytes a day each transaction burns TRX (a fee to book).
    const frozen = (): bigint => devnet.account(custody)!.frozenV2.ENERGY;
    const voted = (): bigint => Object.values(votes()).reduce((sum, v) => sum + v, 0n) * TRX;
    // In one request: once a period closes, no change may be dated before its end.
    const deposits = await api(port, 'POST', '/v1/balance-changes', {
      changes: [
        { id: 'dep-alice', user: 'alice', asset: 'TRX', delta: (600n * TRX).toString(), at },
        { id: 'dep-bob', user: 'bob', asset: 'TRX', delta: (400n * TRX).toString(), at },
      ],
    });
    expect(deposits.status).toBe(200);

    // 90 % of 1000 TRX frozen, voted 600 : 300.
    await until(() => votes()[sr0] === 600n && votes()[sr1] === 300n, 'the custody froze 900 TRX and voted 2:1', 30_000);
    expect(frozen()).toBe(900n * TRX);
    // One freeze and one vote for both SRs (the limits batch targets), not one pair per SR.
    // (The full node's account shows the vote once accepted; the block holding it may come a moment later.)
    const sent = (kind: string): number => [...devnet.chain.txs.values()].filter((t) => t.owner === custody && t.tx.contract.kind === kind).length;
    await until(() => sent('VoteWitnessContract') > 0, 'the vote in a block', 30_000);
    expect([sent('FreezeBalanceV2Contract'), sent('VoteWitnessContract')]).toEqual([1, 1]);

    // Votes count from the next maintenance and are paid at the one after: then the day's first claim.
    devnet.advance(2 * CYCLE);
    await until(async () => claims() === 1 && (await recorded()) === devnet.truth.of(custody).paid, 'the first claim, recorded', 30_000);
    const first = devnet.truth.of(custody).paid;
    expect(first).toBeGreaterThan(0n);

    // A cycle later rewards are pending again, but no claim goes out within 24 h of the last.
    devnet.advance(CYCLE);
    await until(async () => {
      const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM chain_positions WHERE chain = $1 AND pending_rewards > 0 AND height > $2', [CHAIN, devnet.solidHeight() - 1]);
      return rows[0]!.n > 0;
    }, 'a position with pending rewards after the claim', 30_000);
    await new Promise((resolve) => setTimeout(resolve, 3_000)); // three harvest intervals
    expect(claims()).toBe(1);

    // A deposit, its TRX on chain: another freeze, and the whole vote set again (sr0 and sr1 both in it).
    devnet.chain.fund(TronWeb.address.toHex(custody).toLowerCase(), 300n * TRX);
    devnet.produceBlocks(19);
    await change('dep-carol', 'carol', 300n * TRX);
    await until(() => frozen() > 1_100n * TRX && voted() === frozen(), 'the custody froze and voted more', 30_000);
    expect(Object.keys(votes()).sort()).toEqual([sr0, sr1].sort());
    expect(votes()[sr0]! * 10n).toBeGreaterThan(votes()[sr1]! * 19n); // about 2:1

    // A day on: the second claim.
    devnet.advance(DAY);
    await until(async () => claims() === 2 && (await recorded()) === devnet.truth.of(custody).paid, 'the second claim, a day after the first, recorded', 30_000);

    // A deposit the exchange has not moved on chain yet: the buffer (10 % of the users' 3300 TRX) lacks TRX,
    // so one SR's votes are cut and TRX unfrozen; a day later it is withdrawn.
    await change('dep-dave', 'dave', 2_000n * TRX);
    // One undelegation for both SRs, by weight (the limits batch targets): one vote cut, then one unfreeze.
    const pendingUnfreezes = (): bigint => (devnet.account(custody)?.unfrozenV2 ?? []).reduce((sum, u) => sum + u.amount, 0n);
    await until(() => pendingUnfreezes() > 100n * TRX && voted() === frozen(), 'unfreezes for the buffer, the votes cut before them', 30_000);
    const unfrozen = pendingUnfreezes();
    // Votes were cut before the unfreeze: Tron Power still covers them, nothing was scaled.
    expect(voted()).toBe(frozen());
    devnet.advance(DAY + CYCLE);
    // In a block (the full node's pending state shows it before): what was unfrozen is paid back, by
    // WithdrawExpireUnfreeze or by any later UnfreezeBalanceV2, which pays expired entries out first
    // (UnfreezeBalanceV2Actuator.unfreezeExpire; seen in CI, when a rebalance unfroze again before the withdrawal).
    const withdrawn = (): bigint => [...devnet.chain.txs.values()].filter((t) => t.owner === custody).reduce((sum, t) => sum + (t.result.withdrawExpireAmount ?? 0n), 0n);
    // (A later unfreeze of the same rebalance may still be pending: only the expired ones are paid back.)
    await until(() => withdrawn() >= unfrozen, 'the expired unfreezes withdrawn', 30_000);
    await until(async () => claims() === 3 && (await recorded()) === devnet.truth.of(custody).paid, 'the third claim, recorded', 30_000);

    const history = await api(port, 'GET', '/v1/users/alice/rewards');
    expect(history.status).toBe(200);
    expect(await daemon.kill('SIGTERM')).toBe(0);
    const close = await runCli(['distribute', '-c', configFile, '--asset', 'TRX', '--period-end', new Date(Date.now() - 1).toISOString(), '--json']);
    expect(close.stderr).toBe('');

    await expectChainRewardsDistributedOnce(db.pool, CHAIN, devnet.truth.of(custody).net);
    // Every fee the chain burnt for the custody's transactions is booked once, under its transaction.
    const burnt = [...devnet.chain.txs.values()].filter((t) => t.owner === custody && t.bill.netFee > 0n);
    expect(burnt.length).toBeGreaterThan(0);
    const { rows } = await db.pool.query<{ tx_hash: string; fee: string }>('SELECT tx_hash, fee::text FROM chain_fees WHERE chain = $1 AND fee > 0 ORDER BY tx_hash', [CHAIN]);
    expect(rows.map((r) => [r.tx_hash, BigInt(r.fee)])).toEqual(burnt.map((t) => [t.txid, t.bill.netFee]).sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1)));
  }, 180_000);
});
