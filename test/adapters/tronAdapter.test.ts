/**
 * The TRON adapter against the TRON devnet, through java-tron's HTTP API:
 * the conformance suite, then what is TRON's own (reads at the solidified
 * block, the whole vote set, the 24 h claim rule, java-tron's refusals as
 * typed errors, rewards equal to what WithdrawBalance paid).
 *
 * The devnet runs on the frozen clock with `confirmAfterMs`: each accepted
 * transaction is included and solidified (19 blocks of chain time) at once,
 * so the adapter's wait for a solidity node ends without the test moving
 * the clock. Blocks are 30 s (not 3 s) so the days a test moves are few
 * blocks; the adapter does not depend on the block interval.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { TronWeb, utils } from 'tronweb';
import { afterEach, describe, expect, it } from 'vitest';

import { ChainProtocolError, TxRejectedError } from '../../adapters/errors.js';
import { adapter as tron, createTronAdapter, type TronOptions } from '../../adapters/tron/adapter.js';
import { startTronDevnet, TRX, type TronDevnet, type TronDevnetOptions } from '../../adapters/tron/devnet.js';
import type { AdapterConfig, ChainAdapter, RewardEvent, SignedTx } from '../../adapters/types.js';
import { claimAndHarvest, describeAdapterConformance, moduleKeys, settleDue, sumOf, type ConformanceHarness } from './conformance.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const BLOCK_MS = 30_000;
const MAINTENANCE_MS = 6 * HOUR;
const AMOUNT = 1_000_000n * TRX;
const FUNDS = 10_000_000n * TRX;

interface Fixture {
  devnet: TronDevnet;
  custody: string;
  privateKey: string;
  config(endpoints?: readonly string[], options?: Partial<TronOptions>): AdapterConfig<TronOptions>;
  adapter(endpoints?: readonly string[], options?: Partial<TronOptions>, onRequest?: (path: string) => void): ChainAdapter;
  readOnlyAdapter(): ChainAdapter;
  dispose(): Promise<void>;
}

async function fixture(options: TronDevnetOptions = {}, funds = FUNDS): Promise<Fixture> {
  const devnet = await startTronDevnet({ blockMs: BLOCK_MS, confirmAfterMs: 5, ...options, params: { maintenanceTimeInterval: MAINTENANCE_MS, unfreezeDelayDays: 1, ...options.params } });
  const { privateKey, address } = devnet.createAccount(funds);
  // The account is made at the head: a solidity node sees it 18 blocks later.
  devnet.produceBlocks(19);
  const dir = await mkdtemp(join(tmpdir(), 'softstake-tron-'));
  const keyFile = join(dir, 'custody.key');
  await writeFile(keyFile, `${privateKey}\n`, { mode: 0o600 });
  const built: ChainAdapter[] = [];
  const config = (endpoints: readonly string[] = devnet.urls, extra: Partial<TronOptions> = {}): AdapterConfig<TronOptions> => ({
    name: 'tron-devnet',
    asset: 'TRX',
    decimals: 6,
    endpoints: [...endpoints],
    signer: { file: keyFile },
    requestTimeoutMs: 300,
    options: { inclusionTimeoutMs: 1_500, pollIntervalMs: 20, ...extra },
  });
  return {
    devnet,
    custody: address,
    privateKey,
    config,
    adapter(endpoints, extra, onRequest) {
      const a = onRequest === undefined ? tron.create(config(endpoints, extra)) : createTronAdapter(config(endpoints, extra), { onRequest });
      built.push(a);
      return a;
    },
    readOnlyAdapter() {
      const a = tron.create({ ...config(), signer: { file: join(dir, 'no-such-key') }, address });
      built.push(a);
      return a;
    },
    async dispose() {
      for (const a of built) await a.close();
      await devnet.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describeAdapterConformance('tron', async () => {
  const f = await fixture();
  const stranger = TronWeb.address.fromPrivateKey('11'.repeat(32)) as string;
  const harness: ConformanceHarness = {
    devnet: f.devnet,
    custody: f.custody,
    sendMethod: 'POST /wallet/broadcasttransaction',
    // getUnfreezeDelayDays is 1 on this devnet; a maintenance more for good measure.
    unlockMs: DAY + MAINTENANCE_MS,
    close: () => f.dispose(),
    createAdapter: (endpoints) => f.adapter(endpoints),
    createReadOnlyAdapter: () => f.readOnlyAdapter(),
    perTargetStake: false,
    failedTxIncluded: false,
    validators: [f.devnet.witnesses[0]!, f.devnet.witnesses[1]!],
    amount: AMOUNT,
    // Votes earn from the cycle after they were cast, and a claim may follow the last one after 24 h: five 6 h cycles.
    rewardPeriodMs: 5 * MAINTENANCE_MS,
    unknownValidator: stranger,
    keys: moduleKeys(tron, (file) => ({ ...f.config(), signer: { file }, validators: [f.devnet.witnesses[0]!, f.devnet.witnesses[1]!] })),
    fund: async (address, amount) => {
      f.devnet.chain.fund(TronWeb.address.toHex(address).toLowerCase(), amount);
      // A solidity node sees it 18 blocks later.
      f.devnet.produceBlocks(19);
      return Promise.resolve();
    },
    // A node's HTTP port without /walletsolidity (java-tron serves it on a port of its own).
    lacking: async () => {
      const adapter = tron.create({ ...f.config(undefined, { solidityEndpoints: [`${f.devnet.urls[0]!}/no-solidity-api`] }), validators: [f.devnet.witnesses[0]!] });
      return Promise.resolve({ adapter, dependency: 'solidity', checkpoint: null, close: () => Promise.resolve() });
    },
  };
  return harness;
});

describe('tron adapter', () => {
  let f: Fixture | undefined;
  afterEach(async () => {
    await f?.dispose();
    f = undefined;
  });

  it('reads at the solidified block: the frozen TRX, the votes as stake per SR, pending unfreezes and the expired ones, getReward', async () => {
    f = await fixture();
    const adapter = f.adapter();
    const [sr0, sr1] = f.devnet.witnesses as [string, string];
    await adapter.delegate(sr0, 300n * TRX);
    await adapter.delegate(sr1, 200n * TRX);
    await adapter.undelegate(sr0, 100n * TRX);
    const p = await adapter.position();
    expect(p.height).toBe(BigInt(f.devnet.solidHeight()));
    expect(p.bonded).toBe(400n * TRX);
    expect(p.delegations).toEqual([
      { validator: sr0, amount: 200n * TRX },
      { validator: sr1, amount: 200n * TRX },
    ]);
    const account = f.devnet.account(f.custody)!;
    expect(p.liquid).toBe(account.balance);
    expect(p.unbonding).toEqual([{ amount: 100n * TRX, completesAt: account.unfrozenV2[0]!.expireTime }]);
    expect(p.withdrawable).toBe(0n);
    expect(p.validators.map((v) => [v.validator, v.active, v.jailed])).toEqual([
      [sr0, true, false],
      [sr1, true, false],
    ]);

    // A freeze the full node has accepted is not in the position until a solidity node reports it.
    const signed = await adapter.sign({ kind: 'delegate', validator: sr0, amount: 50n * TRX });
    f.devnet.delayNextTx(60_000);
    await expect(adapter.broadcast(signed)).rejects.toMatchObject({ retryable: true });
    expect(f.devnet.account(f.custody)!.frozenV2.BANDWIDTH).toBe(450n * TRX);
    expect((await adapter.position()).bonded).toBe(400n * TRX);

    f.devnet.advance(DAY);
    const later = await adapter.position();
    expect(later.unbonding).toEqual([]);
    expect(later.withdrawable).toBe(100n * TRX);
    expect(later.pendingRewards).toBeGreaterThan(0n);
    expect(await adapter.due(null)).toEqual([
      { action: { kind: 'claim', validators: [sr0, sr1] }, amount: later.pendingRewards },
      { action: { kind: 'withdraw' }, amount: 100n * TRX },
    ]);
    const limits = await adapter.limits();
    expect(limits).toMatchObject({ minStake: TRX, step: TRX, maxUnbondingEntries: { count: 32, per: 'account' }, reserve: 10n * TRX });
    // Two transactions of about 350 bytes at getTransactionFee (1000 sun a byte).
    expect(limits.typicalFee).toBe(700_000n);
  });

  it('the whole vote set: a delegation adds to the chain\'s votes, an undelegation lowers one SR\'s before unfreezing, so nothing is scaled', async () => {
    f = await fixture();
    const adapter = f.adapter();
    const [sr0, sr1, sr2] = f.devnet.witnesses as [string, string, string];
    await adapter.delegate(sr0, 100n * TRX);
    await adapter.delegate(sr1, 100n * TRX);
    await adapter.delegate(sr2, 1n * TRX);
    const votes = (): Record<string, bigint> => Object.fromEntries(f!.devnet.account(f!.custody)!.votes.map((v) => [TronWeb.address.fromHex(v.address), v.count]));
    expect(votes()).toEqual({ [sr0]: 100n, [sr1]: 100n, [sr2]: 1n });
    await adapter.undelegate(sr1, 60n * TRX);
    // UnfreezeBalanceV2 first would have scaled every vote by 141/201, truncating: 70, 70, 0.
    expect(votes()).toEqual({ [sr0]: 100n, [sr1]: 40n, [sr2]: 1n });
    await adapter.undelegate(sr2, TRX);
    expect(votes()).toEqual({ [sr0]: 100n, [sr1]: 40n });
    expect((await adapter.position()).bonded).toBe(140n * TRX);
    // Undelegating all of it: the last vote step repeats the set (an empty one is refused), the unfreeze clears it.
    await adapter.undelegate(sr0, 100n * TRX);
    await adapter.undelegate(sr1, 40n * TRX);
    expect(votes()).toEqual({});
    expect((await adapter.position()).bonded).toBe(0n);
  });

  it('Tron Power frozen and not voted: the position shows it idle; a delegate of it votes without freezing, an undelegate of it unfreezes without lowering a vote', async () => {
    f = await fixture();
    const adapter = f.adapter();
    const [sr0, sr1] = f.devnet.witnesses as [string, string];
    const kinds = (): string[] => [...f!.devnet.chain.txs.values()].filter((t) => t.owner === f!.custody).map((t) => t.tx.contract.kind);
    const votes = (): Record<string, bigint> => Object.fromEntries(f!.devnet.account(f!.custody)!.votes.map((v) => [TronWeb.address.fromHex(v.address), v.count]));
    // A freeze whose vote never came (a delegate's first step alone).
    await adapter.broadcast(await adapter.sign({ kind: 'delegate', validator: sr0, amount: 500n * TRX }, 0));
    expect(await adapter.position()).toMatchObject({ bonded: 500n * TRX, delegations: [], idle: 500n * TRX });

    // Wholly idle: one transaction, the VoteWitness; Tron Power already covers it (VoteWitnessActuator).
    const voteOnly = { kind: 'delegate' as const, validator: sr0, amount: 300n * TRX, fromIdle: 300n * TRX };
    expect(adapter.steps(voteOnly)).toBe(1);
    await adapter.broadcast(await adapter.sign(voteOnly, 0));
    expect(votes()).toEqual({ [sr0]: 300n });
    expect(f.devnet.account(f.custody)!.frozenV2.BANDWIDTH).toBe(500n * TRX);
    expect((await adapter.position()).idle).toBe(200n * TRX);

    // Partly idle: the freeze is only what Tron Power lacks (50), then the whole vote set.
    const partly = { kind: 'delegate' as const, validator: sr1, amount: 250n * TRX, fromIdle: 200n * TRX };
    expect(adapter.steps(partly)).toBe(2);
    for (let step = 0; step < 2; step += 1) await adapter.broadcast(await adapter.sign(partly, step));
    expect(votes()).toEqual({ [sr0]: 300n, [sr1]: 250n });
    expect(f.devnet.account(f.custody)!.frozenV2.BANDWIDTH).toBe(550n * TRX);
    expect((await adapter.position()).idle).toBeUndefined();
    expect(kinds()).toEqual(['FreezeBalanceV2Contract', 'VoteWitnessContract', 'FreezeBalanceV2Contract', 'VoteWitnessContract']);

    // An unfreeze with no vote cut first: java-tron scales the votes down, truncating (UnfreezeBalanceV2Actuator.updateVote),
    // 300 and 250 of 550 over 449 TRX of Tron Power: 244 and 204, so 1 TRX idle.
    await adapter.broadcast(await adapter.sign({ kind: 'undelegate', validator: sr0, amount: 101n * TRX }, 1));
    expect(votes()).toEqual({ [sr0]: 244n, [sr1]: 204n });
    expect((await adapter.position()).idle).toBe(TRX);
    // Unfreezing idle power: the UnfreezeBalanceV2 alone, no vote lowered.
    const unfreezeIdle = { kind: 'undelegate' as const, validator: sr0, amount: TRX, fromIdle: TRX };
    expect(adapter.steps(unfreezeIdle)).toBe(1);
    await adapter.broadcast(await adapter.sign(unfreezeIdle, 0));
    expect(votes()).toEqual({ [sr0]: 244n, [sr1]: 204n });
    expect((await adapter.position()).idle).toBeUndefined();
    await expect(adapter.sign({ kind: 'delegate', validator: sr0, amount: TRX, fromIdle: 2n * TRX })).rejects.toMatchObject({ code: 'invalid-amount' });
  });

  it("java-tron's refusals as typed errors: a claim within 24 h, a wrong signature, too little to pay bandwidth; refusals the adapter makes before any bytes", async () => {
    f = await fixture();
    const adapter = f.adapter();
    const [sr0] = f.devnet.witnesses as [string];
    await adapter.delegate(sr0, 1000n * TRX);
    f.devnet.advance(2 * MAINTENANCE_MS);
    const [claim] = await settleDue(adapter, null);
    expect(claim!.moved).toEqual([{ kind: 'reward', amount: f.devnet.truth.of(f.custody).paid }]);
    f.devnet.advance(MAINTENANCE_MS);
    const early = await adapter.sign({ kind: 'claim', validators: [sr0] });
    const refused = await adapter.broadcast(early).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TxRejectedError);
    const last = f.devnet.account(f.custody)!.latestWithdrawTime;
    expect(refused).toMatchObject({ code: 'CONTRACT_VALIDATE_ERROR', included: false, retryable: false, log: `Contract validate error : The last withdraw time is ${last}, less than 24 hours` });
    // due() says when: 24 h after the last claim, once that claim is harvested (until then, nothing).
    expect((await adapter.due(null)).filter((d) => d.action.kind === 'claim')).toEqual([]);
    const { checkpoint } = await adapter.harvest(null);
    expect(await adapter.due(checkpoint)).toEqual([{ action: { kind: 'claim', validators: [sr0] }, amount: expect.any(BigInt) as bigint, dueAt: last + DAY }]);

    // Bytes signed by another key for the custody's transaction.
    const signed = await adapter.sign({ kind: 'withdraw' });
    const tx = JSON.parse(new TextDecoder().decode(signed.bytes)) as { signature: string[] };
    tx.signature = [];
    const forged = utils.crypto.signTransaction('22'.repeat(32), tx as never) as unknown;
    const wrongKey = await adapter.broadcast({ ...signed, bytes: new TextEncoder().encode(JSON.stringify(forged)) }).catch((e: unknown) => e);
    expect(wrongKey).toMatchObject({ code: 'SIGERROR', included: false, retryable: false });
    expect((wrongKey as TxRejectedError).log).toMatch(/is signed by T\w+ but it is not contained of permission/);

    // The adapter refuses before signing: not whole TRX, an SR the chain does not know, more than the reserve leaves.
    await expect(adapter.sign({ kind: 'delegate', validator: sr0, amount: TRX + 1n })).rejects.toMatchObject({ code: 'invalid-amount', included: false });
    await expect(adapter.sign({ kind: 'delegate', validator: f.custody, amount: TRX })).rejects.toMatchObject({ code: 'unknown-validator' });
    await expect(adapter.sign({ kind: 'undelegate', validator: sr0, amount: TRX }, 2)).rejects.toMatchObject({ code: 'invalid-step' });

    // An account with too little TRX to burn for bandwidth: BANDWITH_ERROR (the protocol's spelling).
    const poor = await fixture({}, 1_300_000n);
    try {
      const a = poor.adapter(undefined, { reserve: '0' });
      await a.delegate(poor.devnet.witnesses[0]!, TRX);
      // The freeze and the vote used the free 600 bytes; the undelegation's vote burns 0.27 of the 0.3 TRX left, its unfreeze lacks the rest.
      const error = await a.undelegate(poor.devnet.witnesses[0]!, TRX).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'BANDWITH_ERROR', included: false, log: 'Account resource insufficient error.' });
    } finally {
      await poor.dispose();
    }
  });

  it('no claim is due while the last one is unharvested, so a harvest late by a day still reports every WithdrawBalance', async () => {
    f = await fixture();
    const adapter = f.adapter();
    const [sr0] = f.devnet.witnesses as [string];
    const claims = (): number => [...f!.devnet.chain.txs.values()].filter((t) => t.owner === f!.custody && t.tx.contract.kind === 'WithdrawBalanceContract').length;
    await adapter.delegate(sr0, 1_000n * TRX);
    f.devnet.advance(2 * MAINTENANCE_MS);
    const start = await adapter.harvest(null);
    expect(start.events).toEqual([]);
    // The first claim; its harvest does not come (an endpoint down for a day, say).
    await settleDue(adapter, start.checkpoint);
    expect(claims()).toBe(1);
    const firstPaid = f.devnet.truth.of(f.custody).paid;
    expect(firstPaid).toBeGreaterThan(0n);
    f.devnet.advance(DAY + MAINTENANCE_MS);
    expect((await adapter.position()).pendingRewards).toBeGreaterThan(0n);
    // Past 24 h the chain would accept a second claim, which would overwrite the first's latest_withdraw_time;
    // with the first unharvested, none is due.
    expect(await adapter.due(start.checkpoint)).toEqual([]);
    await settleDue(adapter, start.checkpoint);
    expect(claims()).toBe(1);
    // The late harvest reports the first claim; then the second is due at once, and its harvest reports it.
    const late = await adapter.harvest(start.checkpoint);
    expect(sumOf(late.events)).toBe(firstPaid);
    expect((await adapter.due(late.checkpoint)).map((d) => [d.action.kind, d.dueAt])).toEqual([['claim', undefined]]);
    await settleDue(adapter, late.checkpoint);
    expect(claims()).toBe(2);
    const next = await adapter.harvest(late.checkpoint);
    expect(next.events).toHaveLength(1);
    expect(next.events[0]!.id).not.toBe(late.events[0]!.id);
    // The two claims' sum is what WithdrawBalance paid the custody, each reported once.
    expect(sumOf([...late.events, ...next.events])).toBe(f.devnet.truth.of(f.custody).paid);
  });

  it('rewards over several maintenance cycles, with re-votes, an unfreeze and its withdrawal, equal what WithdrawBalance paid, each once', async () => {
    f = await fixture();
    const adapter = f.adapter();
    const reader = f.readOnlyAdapter();
    const [sr0, sr1] = f.devnet.witnesses as [string, string];
    const events: RewardEvent[] = [];
    let checkpoint: string | null = null;
    let fees = 0n;
    const harvest = async (): Promise<void> => {
      const result = await claimAndHarvest(adapter, checkpoint);
      fees += sumOf(result.receipts.map((r) => ({ amount: r.fee })));
      const seen = new Set(events.map((e) => e.id));
      for (const e of result.events) expect(seen.has(e.id)).toBe(false);
      events.push(...result.events);
      checkpoint = result.checkpoint;
    };
    await adapter.delegate(sr0, 7_000n * TRX);
    for (let cycle = 0; cycle < 12; cycle += 1) {
      f.devnet.advance(MAINTENANCE_MS);
      if (cycle === 1) await adapter.delegate(sr1, 3_000n * TRX);
      if (cycle === 3) await adapter.undelegate(sr0, 2_000n * TRX);
      if (cycle % 2 === 0) await harvest();
      if (cycle === 6) await adapter.delegate(sr0, 1_000n * TRX);
    }
    // The unfreeze of cycle 3 expired a day later; a harvest's due withdrawal brought it back.
    expect(f.devnet.account(f.custody)!.unfrozenV2).toEqual([]);
    const paid = f.devnet.truth.of(f.custody).paid;
    expect(paid).toBeGreaterThan(0n);
    expect(sumOf(events)).toBe(paid);
    expect(events.length).toBeGreaterThanOrEqual(2);
    // The reader (address only, no key) finds the same events from the same checkpoints.
    expect((await reader.harvest(null)).events).toEqual([events[events.length - 1]]);
    expect(fees).toBeGreaterThanOrEqual(0n);
  });

  it('counts its requests: a poll, a harvest with nothing new, a harvest that finds a claim', async () => {
    f = await fixture();
    const paths: string[] = [];
    const adapter = f.adapter(undefined, {}, (path) => paths.push(path));
    await adapter.delegate(f.devnet.witnesses[0]!, 1000n * TRX);
    f.devnet.advance(2 * MAINTENANCE_MS);
    const measure = async (run: () => Promise<unknown>): Promise<string[]> => {
      paths.length = 0;
      await run();
      return [...paths];
    };
    expect(await measure(() => adapter.position())).toEqual([
      'walletsolidity/getblock',
      'walletsolidity/getaccount',
      'walletsolidity/getReward',
      'walletsolidity/getblock',
      'wallet/listwitnesses',
    ]);
    const { checkpoint } = await adapter.harvest(null);
    expect(await measure(() => adapter.harvest(checkpoint))).toHaveLength(4);
    await settleDue(adapter, checkpoint);
    const found = await measure(() => adapter.harvest(checkpoint));
    // The solidified view, the block after latest_withdraw_time (its parent checked), the block's transactions, the claim's info.
    expect(found.slice(0, 4)).toEqual(['walletsolidity/getblock', 'walletsolidity/getaccount', 'walletsolidity/getReward', 'walletsolidity/getblock']);
    expect(found[found.length - 1]).toBe('walletsolidity/gettransactioninfobyid');
    expect(found.length).toBeLessThanOrEqual(20);
  });

  it('the signer: a hex key for the configured address only; a read-only adapter says what is missing', async () => {
    f = await fixture();
    const wrong = tron.create({ ...f.config(), address: f.devnet.witnesses[0]! });
    await expect(wrong.sign({ kind: 'claim', validators: [] })).rejects.toThrow(ChainProtocolError);
    await expect(wrong.sign({ kind: 'claim', validators: [] })).rejects.toThrow(/signer: the key is for T\w+, the config's custody address is/);
    await wrong.close();
    expect(() => tron.optionsSchema.parse({ resource: 'TRON_POWER' })).toThrow();
    expect(() => tron.optionsSchema.parse({ reserve: '-1' })).toThrow();
    const reader = f.readOnlyAdapter();
    expect(await reader.address()).toBe(f.custody);
    const signed: SignedTx | Error = await reader.sign({ kind: 'withdraw' }).catch((e: unknown) => e as Error);
    expect((signed as Error).message).toMatch(/signer: could not read key file/);
  });

  it('sends the TronGrid API key from its file as TRON-PRO-API-KEY on every request, and never in a message', async () => {
    const seen: (string | undefined)[] = [];
    const server = createServer((request, response) => {
      seen.push(request.headers['tron-pro-api-key'] as string | undefined);
      response.setHeader('content-type', 'application/json');
      response.end(request.url === '/wallet/getchainparameters' ? '{"chainParameter":[{"key":"getTransactionFee","value":1000}]}' : '{"Error":"class java.lang.IllegalArgumentException : nothing here"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const dir = await mkdtemp(join(tmpdir(), 'softstake-tron-key-'));
    try {
      const keyFile = join(dir, 'trongrid');
      await writeFile(keyFile, 'c0ffee-api-key-0123\n', { mode: 0o600 });
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const a = tron.create({ name: 'tron-grid', asset: 'TRX', decimals: 6, endpoints: [url], signer: { file: join(dir, 'none') }, address: 'TPYmHEhy5n8TCEfYGqW2rPxsghSfzghPDn', requestTimeoutMs: 2_000, options: { apiKeyFile: keyFile } });
      expect((await a.limits()).typicalFee).toBe(700_000n);
      const error = await a.position().catch((e: unknown) => e as Error);
      expect(error).toBeInstanceOf(ChainProtocolError);
      expect((error as Error).message).toMatch(/nothing here/);
      expect((error as Error).message).not.toContain('c0ffee');
      expect(seen.length).toBeGreaterThanOrEqual(2);
      expect(new Set(seen)).toEqual(new Set(['c0ffee-api-key-0123']));
      await a.close();
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
