/**
 * The rebalancer against the chain's limits, over a month: the Cosmos devnet
 * refuses an eighth open unbonding entry per delegator–validator pair
 * (`max_entries` = 7, as x/staking does), and the real rebalance job, fed
 * daily withdrawals for 30 days of chain time, never asks it to.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DirectSecp256k1HdWallet } from '@cosmjs/proto-signing';
import { GasPrice, SigningStargateClient } from '@cosmjs/stargate';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { adapter as cosmos } from '../../adapters/cosmos/adapter.js';
import { createFundedAccount, startCosmosDevnet, type CosmosDevnet } from '../../adapters/cosmos/devnet.js';
import { TxRejectedError } from '../../adapters/errors.js';
import type { ChainAdapter } from '../../adapters/types.js';
import type { SoftstakeConfig } from '../../src/config/index.js';
import type { PipelineContext } from '../../src/pipeline/context.js';
import { rebalance, type RebalanceSummary } from '../../src/pipeline/jobs/rebalance.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';

const ATOM = 1_000_000n;
const DAY = 86_400_000;
const CHAIN = 'cosmos-limits';

let db: TestDatabase;
let devnet: CosmosDevnet;
let dir: string;
let adapter: ChainAdapter;
let account: { address: string; mnemonic: string };

beforeAll(async () => {
  db = await freshDatabase();
  // The Hub testnet's staking params: max_entries 7, 21-day unbonding. An hour a block keeps a
  // month of chain time to 720 blocks.
  devnet = await startCosmosDevnet({ blockMs: 3_600_000, unbondingMs: 21 * DAY, maxEntries: 7 });
  account = await createFundedAccount(devnet, 1_000n * ATOM);
  dir = await mkdtemp(join(tmpdir(), 'softstake-limits-'));
  const keyFile = join(dir, 'custody.mnemonic');
  await writeFile(keyFile, `${account.mnemonic}\n`, { mode: 0o600 });
  adapter = cosmos.create({
    name: CHAIN,
    asset: 'ATOM',
    decimals: 6,
    endpoints: [...devnet.urls],
    signer: { file: keyFile },
    address: account.address,
    requestTimeoutMs: 2_000,
    options: { chainId: devnet.chainId, inclusionTimeoutMs: 2_000, pollIntervalMs: 10 },
  });
});

afterAll(async () => {
  await adapter?.close();
  await devnet?.close();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Open unbonding entries per validator, as the chain holds them. */
function openEntries(): Map<string, number> {
  const count = new Map<string, number>();
  for (const entry of devnet.account(account.address).unbonding) count.set(entry.validator, (count.get(entry.validator) ?? 0) + 1);
  return count;
}

describe('max_entries', () => {
  it('the devnet refuses an eighth open unbonding entry for one validator, as x/staking does', async () => {
    const [v0] = devnet.validators;
    await adapter.delegate(v0!, 100n * ATOM);
    for (let i = 0; i < 7; i += 1) {
      devnet.advance(3_600_000);
      await adapter.undelegate(v0!, ATOM);
    }
    devnet.advance(3_600_000);
    const error = await adapter.undelegate(v0!, ATOM).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TxRejectedError);
    // The adapter names the limit and the way out, not only the chain's words.
    expect((error as TxRejectedError).code).toBe('max-entries');
    expect((error as TxRejectedError).log).toMatch(/max_entries = 7/);
    expect((error as TxRejectedError).log).toMatch(/too many unbonding delegation entries/);
    expect(openEntries().get(v0!)).toBe(7);
    expect(await adapter.limits()).toMatchObject({ maxUnbondingEntries: { count: 7, per: 'target' } });
    // Let those entries complete before the month below.
    devnet.advance(22 * DAY);
    expect(openEntries().size).toBe(0);
  });

  it('a month of daily withdrawals: the rebalance job undelegates every day it can and never opens an eighth entry', async () => {
    const [v0, v1] = devnet.validators as [string, string];
    const config = {
      chains: {
        [CHAIN]: {
          name: CHAIN,
          asset: 'ATOM',
          stake: { targetRatioBps: 9_000, minBuffer: 300n * ATOM, minMove: ATOM },
          validators: [
            { address: v0, weight: 2 },
            { address: v1, weight: 1 },
          ],
          intervals: { pollMs: 60_000, harvestMs: 3_600_000, rebalanceMs: 600_000 },
        },
      },
    } as unknown as SoftstakeConfig;
    const ctx: PipelineContext = { config, pool: db.pool, adapters: new Map([[CHAIN, adapter]]), logger: pino({ level: 'silent' }), now: () => Date.now() };
    const wallet = await DirectSecp256k1HdWallet.fromMnemonic(account.mnemonic);
    const bank = await SigningStargateClient.connectWithSigner(devnet.urls[0]!, wallet, { gasPrice: GasPrice.fromString(devnet.minGasPrice), broadcastPollIntervalMs: 10 });
    const payee = (await createFundedAccount(devnet, ATOM)).address;

    // The users hold what the custody holds; each day they withdraw 10 ATOM, which the custody pays out.
    let users = (devnet.account(account.address).liquid / ATOM) * ATOM;
    await db.pool.query('INSERT INTO balances (asset, user_id, amount, last_change_at) VALUES ($1, $2, $3, 0)', ['ATOM', 'everyone', users.toString()]);
    const summaries: RebalanceSummary[] = [await rebalance(ctx, CHAIN, 'day-0')];
    let most = 0;
    for (let day = 1; day <= 30; day += 1) {
      devnet.advance(DAY);
      users -= 10n * ATOM;
      await db.pool.query('UPDATE balances SET amount = $1 WHERE asset = $2', [users.toString(), 'ATOM']);
      await bank.sendTokens(account.address, payee, [{ denom: 'uatom', amount: (10n * ATOM).toString() }], 'auto');
      summaries.push(await rebalance(ctx, CHAIN, `day-${day}`));
      for (const count of openEntries().values()) most = Math.max(most, count);
    }
    bank.disconnect();

    const undelegations = summaries.flatMap((s) => s.actions).filter((a) => a.kind === 'undelegate');
    // Every planned undelegation was accepted by the chain: none hit max_entries.
    expect(undelegations.length).toBeGreaterThan(14);
    expect(undelegations.every((a) => a.status === 'confirmed')).toBe(true);
    expect(most).toBe(7);
    // Some days the chain's limit held the rebalancer back (both pairs full), and it said so.
    expect(summaries.some((s) => s.held !== undefined && s.actions.length === 0)).toBe(true);
    const { rows } = await db.pool.query<{ n: string }>("SELECT count(*) AS n FROM tx_intents WHERE kind = 'undelegate' AND status <> 'confirmed'");
    expect(rows[0]!.n).toBe('0');
  }, 120_000);
});
