/**
 * Tron Power frozen but not voted earns nothing (MortgageService pays
 * voters by their votes): the real rebalance job, against the TRON devnet,
 * votes it without freezing again. A freeze whose vote never came, and a
 * vote that java-tron scaled down when TRX was unfrozen without a vote cut
 * first (UnfreezeBalanceV2Actuator.updateVote truncates), leave idle Tron
 * Power; the position reports it as `idle`, the planner assigns it, and
 * the adapter freezes only what Tron Power lacks. The limits batch
 * targets, so a rebalance is one freeze and one vote for every SR (one vote
 * and one unfreeze when the buffer lacks).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { pino } from 'pino';
import { TronWeb } from 'tronweb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { adapter as tron } from '../../adapters/tron/adapter.js';
import { startTronDevnet, TRX, type TronDevnet } from '../../adapters/tron/devnet.js';
import type { ChainAdapter } from '../../adapters/types.js';
import type { SoftstakeConfig } from '../../src/config/index.js';
import type { PipelineContext } from '../../src/pipeline/context.js';
import { rebalance } from '../../src/pipeline/jobs/rebalance.js';
import { atom, freshDatabase, type TestDatabase } from '../helpers/db.js';

const CHAIN = 'tron-idle';
const HOUR = 3_600_000;

let db: TestDatabase;
let devnet: TronDevnet;
let dir: string;
let adapter: ChainAdapter;
let custody: string;
let ctx: PipelineContext;

beforeAll(async () => {
  db = await freshDatabase({ TRX: atom({ symbol: 'TRX', decimals: 6 }) });
  devnet = await startTronDevnet({ blockMs: 30_000, confirmAfterMs: 5, params: { maintenanceTimeInterval: 6 * HOUR, unfreezeDelayDays: 1 } });
  const account = devnet.createAccount(1_010n * TRX);
  custody = account.address;
  devnet.produceBlocks(19);
  dir = await mkdtemp(join(tmpdir(), 'softstake-tron-idle-'));
  const keyFile = join(dir, 'custody.key');
  await writeFile(keyFile, `${account.privateKey}\n`, { mode: 0o600 });
  const [sr0, sr1] = devnet.witnesses as [string, string];
  adapter = tron.create({
    name: CHAIN,
    asset: 'TRX',
    decimals: 6,
    endpoints: [...devnet.urls],
    signer: { file: keyFile },
    validators: [sr0, sr1],
    requestTimeoutMs: 2_000,
    options: { inclusionTimeoutMs: 2_000, pollIntervalMs: 20 },
  });
  const config = {
    chains: {
      [CHAIN]: {
        name: CHAIN,
        asset: 'TRX',
        stake: { targetRatioBps: 9_000, minBuffer: 0n, minMove: 5n * TRX },
        validators: [
          { address: sr0, weight: 2 },
          { address: sr1, weight: 1 },
        ],
        intervals: { pollMs: 60_000, harvestMs: 3_600_000, rebalanceMs: 600_000 },
      },
    },
  } as unknown as SoftstakeConfig;
  ctx = { config, pool: db.pool, adapters: new Map([[CHAIN, adapter]]), logger: pino({ level: 'silent' }), now: () => Date.now() };
  // The users' 5000 TRX ask for a 500 TRX buffer: with 500 TRX frozen, 510 liquid and the 10 TRX reserve, no TRX is left to freeze.
  await db.pool.query('INSERT INTO balances (asset, user_id, amount, last_change_at) VALUES ($1, $2, $3, 0)', ['TRX', 'everyone', (5_000n * TRX).toString()]);
});

afterAll(async () => {
  await adapter?.close();
  await devnet?.close();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const votes = (): Record<string, bigint> => Object.fromEntries((devnet.account(custody)?.votes ?? []).map((v) => [TronWeb.address.fromHex(v.address), v.count]));
const frozen = (): bigint => devnet.account(custody)!.frozenV2.BANDWIDTH;
const kinds = (): string[] => [...devnet.chain.txs.values()].filter((t) => t.owner === custody).map((t) => t.tx.contract.kind);
const count = (kind: string): number => kinds().filter((k) => k === kind).length;

describe('idle Tron Power', () => {
  it('the rebalance job votes TRX frozen without a vote, and freezes nothing more', async () => {
    const [sr0, sr1] = devnet.witnesses as [string, string];
    // A delegate whose first step (the freeze) landed and whose vote never came.
    await adapter.broadcast(await adapter.sign({ kind: 'delegate', validator: sr0, amount: 500n * TRX }, 0));
    expect(await adapter.position()).toMatchObject({ liquid: 510n * TRX, bonded: 500n * TRX, delegations: [], idle: 500n * TRX });

    const summary = await rebalance(ctx, CHAIN, 'idle-1');
    expect(summary.actions.map((a) => [a.kind, a.validator, a.amount, a.status])).toEqual([
      ['delegate', sr0, (334n * TRX).toString(), 'confirmed'],
      ['delegate', sr1, (166n * TRX).toString(), 'confirmed'],
    ]);
    expect(votes()).toEqual({ [sr0]: 334n, [sr1]: 166n });
    // No extra freeze: the one of 500 TRX, then one vote for both SRs (the limits batch targets).
    expect(frozen()).toBe(500n * TRX);
    expect(kinds()).toEqual(['FreezeBalanceV2Contract', 'VoteWitnessContract']);
    const { rows } = await db.pool.query<{ steps: number; validator: string; amount: string; action: { fromIdle?: string; also?: { validator: string; fromIdle?: string }[] } }>(
      "SELECT steps, validator, amount::text, action FROM tx_intents WHERE kind = 'delegate' ORDER BY created_at",
    );
    expect(rows.map((r) => [r.steps, r.validator, r.amount, r.action.fromIdle, r.action.also?.map((t) => [t.validator, t.fromIdle])])).toEqual([
      [1, `${sr0},${sr1}`, (500n * TRX).toString(), (334n * TRX).toString(), [[sr1, (166n * TRX).toString()]]],
    ]);
    expect((await adapter.position()).idle).toBeUndefined();
    // Nothing idle, nothing to stake: the next rebalance plans nothing.
    expect((await rebalance(ctx, CHAIN, 'idle-2')).actions).toEqual([]);
  });

  it('a vote java-tron scaled down leaves idle Tron Power; it rides along with the next freeze, which is only the liquid excess', async () => {
    const [sr0, sr1] = devnet.witnesses as [string, string];
    // An unfreeze with no vote cut first: 334 and 166 of 500 over 399 TRX of Tron Power, truncated: 266 and 132.
    await adapter.broadcast(await adapter.sign({ kind: 'undelegate', validator: sr0, amount: 101n * TRX }, 1));
    expect(votes()).toEqual({ [sr0]: 266n, [sr1]: 132n });
    expect((await adapter.position()).idle).toBe(TRX);
    // 1 TRX idle alone is below minMove (5 TRX): left for now.
    expect((await rebalance(ctx, CHAIN, 'idle-3')).actions).toEqual([]);

    // A deposit of 100 TRX reaches the custody: the excess over the buffer is frozen, the idle TRX voted with it.
    devnet.chain.fund(TronWeb.address.toHex(custody).toLowerCase(), 100n * TRX);
    devnet.produceBlocks(19);
    const before = await adapter.position();
    const excess = before.liquid - 10n * TRX - 500n * TRX;
    expect(excess).toBe(100n * TRX);
    const freezes = count('FreezeBalanceV2Contract');
    const summary = await rebalance(ctx, CHAIN, 'idle-4');
    expect(summary.actions.every((a) => a.status === 'confirmed')).toBe(true);
    expect(frozen()).toBe(399n * TRX + excess);
    // One freeze and one vote for both SRs.
    expect(count('FreezeBalanceV2Contract')).toBe(freezes + 1);
    expect(kinds().slice(-2)).toEqual(['FreezeBalanceV2Contract', 'VoteWitnessContract']);
    // Every TRX of Tron Power voted, 2:1 over the new 101.
    expect(votes()).toEqual({ [sr0]: 266n + 68n, [sr1]: 132n + 33n });
    expect((await adapter.position()).idle).toBeUndefined();
  });

  it('a buffer short of TRX: one VoteWitness lowering both SRs, then one UnfreezeBalanceV2 (one pending unfreeze)', async () => {
    const [sr0, sr1] = devnet.witnesses as [string, string];
    // Users now hold 7000 TRX: a 700 TRX buffer against 500 spendable and 101 unfreezing, 99 short.
    await db.pool.query('UPDATE balances SET amount = $1 WHERE asset = $2', [(7_000n * TRX).toString(), 'TRX']);
    const pending = devnet.account(custody)!.unfrozenV2.length;
    const summary = await rebalance(ctx, CHAIN, 'idle-5');
    expect(summary.actions.map((a) => [a.kind, a.validator, a.amount, a.status])).toEqual([
      ['undelegate', sr0, (66n * TRX).toString(), 'confirmed'],
      ['undelegate', sr1, (33n * TRX).toString(), 'confirmed'],
    ]);
    expect(votes()).toEqual({ [sr0]: 334n - 66n, [sr1]: 165n - 33n });
    expect(frozen()).toBe(400n * TRX);
    expect(kinds().slice(-2)).toEqual(['VoteWitnessContract', 'UnfreezeBalanceV2Contract']);
    expect(devnet.account(custody)!.unfrozenV2.length).toBe(pending + 1);
  });
});
