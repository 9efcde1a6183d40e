/**
 * The Polkadot (Asset Hub) devnet against unmodified @polkadot/api 16 over
 * real WebSocket: the connect handshake on the real metadata, storage
 * reads, signed transfers and staking calls seen in finalized blocks with
 * their events, the pool's refusals in the node's words, a kit fault, and
 * raw responses held field for field against the shapes
 * docs/chains/polkadot.md documents.
 */
import '@polkadot/api-augment';
import { ApiPromise, WsProvider } from '@polkadot/api';
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { DispatchError, EventRecord } from '@polkadot/types/interfaces';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { DOT, startPolkadotDevnet, type PolkadotDevnet } from '../../adapters/polkadot/devnet.js';
import { poolAccount } from '../../adapters/polkadot/devnet/pools.js';
import { REAL_RPC_METHODS } from '../../adapters/polkadot/devnet/runtime.js';

const ERA_MS = 60_000;

interface Outcome {
  statuses: string[];
  blockHash: string;
  events: EventRecord[];
  dispatchError: DispatchError | undefined;
}

/** Signs and submits with a status callback; resolves at `finalized` (or rejects with the RPC error). */
function send(tx: SubmittableExtrinsic<'promise'>, pair: KeyringPair, options: Record<string, unknown> = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const statuses: string[] = [];
    let unsub: (() => void) | undefined;
    tx.signAndSend(pair, options, (result) => {
      statuses.push(result.status.type);
      if (result.status.isFinalized) {
        unsub?.();
        resolve({ statuses, blockHash: result.status.asFinalized.toHex(), events: result.events, dispatchError: result.dispatchError });
      }
      if (result.status.isInvalid || result.status.isDropped) reject(new Error(`transaction ${result.status.type}`));
    })
      .then((u) => (unsub = u))
      .catch(reject);
  });
}

function names(events: EventRecord[]): string[] {
  return events.map((e) => `${e.event.section}.${e.event.method}`);
}

/** One JSON-RPC exchange over a raw WebSocket, with the notifications that follow until `until` says stop. */
async function raw(url: string, method: string, params: unknown[], until?: (notes: unknown[]) => boolean): Promise<{ answer: Record<string, unknown>; notes: unknown[] }> {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const notes: unknown[] = [];
  try {
    return await new Promise((resolve, reject) => {
      let answer: Record<string, unknown> | undefined;
      const timer = setTimeout(() => reject(new Error(`no answer to ${method} in 10 s`)), 10_000);
      ws.on('message', (data) => {
        const message = JSON.parse(String(data)) as Record<string, unknown>;
        if (message.id === 1) answer = message;
        else notes.push((message.params as { result: unknown }).result);
        if (answer !== undefined && (until === undefined || until(notes))) {
          clearTimeout(timer);
          resolve({ answer, notes });
        }
      });
      ws.send(JSON.stringify({ id: 1, jsonrpc: '2.0', method, params }));
    });
  } finally {
    ws.terminate();
  }
}

describe('Polkadot devnet with @polkadot/api', () => {
  let devnet: PolkadotDevnet;
  let api: ApiPromise;
  let alice: KeyringPair;
  let bob: KeyringPair;
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 0 });

  beforeAll(async () => {
    await cryptoWaitReady();
    devnet = await startPolkadotDevnet({ eraMs: ERA_MS });
    const a = devnet.createAccount(10_000n * DOT);
    const b = devnet.createAccount(5n * DOT);
    alice = keyring.addFromMnemonic(a.mnemonic);
    bob = keyring.addFromMnemonic(b.mnemonic);
    api = await ApiPromise.create({ provider: new WsProvider(devnet.wsUrls[0]), noInitWarn: true, throwOnConnect: true });
  });

  afterAll(async () => {
    await api?.disconnect();
    await devnet?.close();
  });

  it('connects on the real Asset Hub metadata and reads its constants and balances', async () => {
    expect(api.runtimeVersion.specName.toString()).toBe('statemint');
    expect(api.runtimeVersion.specVersion.toNumber()).toBe(2_000_000);
    expect(api.genesisHash.toHex()).toBe(devnet.chain.genesisHash);
    expect(api.registry.chainSS58).toBe(0);
    expect(api.registry.chainDecimals).toEqual([10]);
    expect(api.consts.staking.bondingDuration.toNumber()).toBe(28);
    expect(api.consts.balances.existentialDeposit.toBigInt()).toBe(100_000_000n);
    const account = await api.query.system.account(alice.address);
    expect(account.data.free.toBigInt()).toBe(10_000n * DOT);
    // The nominations quota is a runtime API, not a constant.
    expect(api.consts.staking['maxNominations']).toBeUndefined();
    expect((await api.call.stakingApi.nominationsQuota(0)).toNumber()).toBe(16);
  });

  it('includes a signed transfer: ready, inBlock, finalized, with fee and transfer events', async () => {
    const before = (await api.query.system.account(bob.address)).data.free.toBigInt();
    const aliceBefore = (await api.query.system.account(alice.address)).data.free.toBigInt();
    const info = await api.tx.balances.transferKeepAlive(bob.address, 2n * DOT).paymentInfo(alice);
    const outcome = await send(api.tx.balances.transferKeepAlive(bob.address, 2n * DOT), alice);
    expect(outcome.statuses).toEqual(['Ready', 'InBlock', 'Finalized']);
    expect(names(outcome.events)).toEqual(['balances.Withdraw', 'balances.Transfer', 'transactionPayment.TransactionFeePaid', 'system.ExtrinsicSuccess']);
    const feePaid = outcome.events.find((e) => e.event.method === 'TransactionFeePaid')!.event.data as unknown as { actualFee: { toBigInt(): bigint } };
    expect(feePaid.actualFee.toBigInt()).toBe(info.partialFee.toBigInt());
    const after = await api.query.system.account.at(outcome.blockHash, bob.address);
    expect(after.data.free.toBigInt() - before).toBe(2n * DOT);
    const aliceAfter = await api.query.system.account.at(outcome.blockHash, alice.address);
    expect(aliceBefore - aliceAfter.data.free.toBigInt()).toBe(2n * DOT + info.partialFee.toBigInt());
    expect(aliceAfter.nonce.toNumber()).toBe(1);
  });

  it('bonds and nominates, refusing more targets than the quota and an unknown validator', async () => {
    const bonded = await send(api.tx.staking.bond(1_000n * DOT, 'Staked'), alice);
    expect(bonded.dispatchError).toBeUndefined();
    expect(names(bonded.events)).toContain('staking.Bonded');
    const ledger = await api.query.staking.ledger(alice.address);
    expect(ledger.unwrap().active.toBigInt()).toBe(1_000n * DOT);
    const account = await api.query.system.account(alice.address);
    expect(account.data.reserved.toBigInt()).toBe(1_000n * DOT);

    const again = await send(api.tx.staking.bond(1_000n * DOT, 'Staked'), alice);
    expect(names(again.events)).toContain('system.ExtrinsicFailed');
    const meta = api.registry.findMetaError(again.dispatchError!.asModule);
    expect(`${meta.section}.${meta.name}`).toBe('staking.AlreadyBonded');
    expect(again.dispatchError!.asModule.index.toNumber()).toBe(89);

    const tooMany = Array.from({ length: 17 }, (_, i) => keyring.encodeAddress(new Uint8Array(32).fill(i + 1), 0));
    const refused = await send(api.tx.staking.nominate(tooMany), alice);
    expect(api.registry.findMetaError(refused.dispatchError!.asModule).name).toBe('TooManyTargets');
    const bad = await send(api.tx.staking.nominate([bob.address]), alice);
    expect(api.registry.findMetaError(bad.dispatchError!.asModule).name).toBe('BadTarget');

    const nominated = await send(api.tx.staking.nominate(devnet.validators.slice(0, 2)), alice);
    expect(nominated.dispatchError).toBeUndefined();
    const nominations = await api.query.staking.nominators(alice.address);
    expect(nominations.unwrap().targets.map((t) => t.toString()).sort()).toEqual(devnet.validators.slice(0, 2).sort());
  });

  it('pays an era by pages: a payout another account triggers rewards the nominator, once', async () => {
    // Two era changes: the nomination enters the election of the next planned era, then that era ends.
    devnet.nextEra();
    devnet.nextEra();
    devnet.nextEra();
    const active = (await api.query.staking.activeEra()).unwrap().index.toNumber();
    const era = active - 1;
    expect((await api.query.staking.erasValidatorReward(era)).isSome).toBe(true);
    const validator = devnet.validators[0]!;
    const exposure = await api.query.staking.erasStakersOverview(era, validator);
    // Alice and nomination pool 1's bonded account.
    expect(exposure.unwrap().nominatorCount.toNumber()).toBe(2);
    const ledgerBefore = (await api.query.staking.ledger(alice.address)).unwrap().active.toBigInt();
    const paid = await send(api.tx.staking.payoutStakersByPage(validator, era, 0), bob);
    expect(paid.dispatchError).toBeUndefined();
    const rewarded = paid.events.filter((e) => e.event.method === 'Rewarded').map((e) => e.event.data as unknown as { stash: { toString(): string }; amount: { toBigInt(): bigint } });
    const mine = rewarded.find((r) => r.stash.toString() === alice.address);
    expect(mine).toBeDefined();
    expect(mine!.amount.toBigInt()).toBeGreaterThan(0n);
    // Payee Staked: the reward compounds into the ledger.
    const ledgerAfter = (await api.query.staking.ledger(alice.address)).unwrap().active.toBigInt();
    expect(ledgerAfter - ledgerBefore).toBe(mine!.amount.toBigInt());
    expect(devnet.truth.of(alice.address).paid).toBe(mine!.amount.toBigInt());
    expect((await api.query.staking.claimedRewards(era, validator)).map((p) => p.toNumber())).toEqual([0]);
    const twice = await send(api.tx.staking.payoutStakersByPage(validator, era, 0), bob);
    expect(api.registry.findMetaError(twice.dispatchError!.asModule).name).toBe('AlreadyClaimed');
  });

  it('unbonds into a chunk BondingDuration eras ahead and withdraws it once CurrentEra reaches it', async () => {
    const unbonded = await send(api.tx.staking.unbond(100n * DOT), alice);
    expect(names(unbonded.events)).toContain('staking.Unbonded');
    // The era of the block that carried the unbond (each block may move eras on this fast devnet).
    const active = (await api.query.staking.activeEra.at(unbonded.blockHash)).unwrap().index.toNumber();
    const chunk = (await api.query.staking.ledger(alice.address)).unwrap().unlocking[0]!;
    expect(chunk.era.toNumber()).toBe(active + 28);
    const early = await send(api.tx.staking.withdrawUnbonded(0), alice);
    // Nothing due is not an error: no Withdrawn event.
    expect(early.dispatchError).toBeUndefined();
    expect(names(early.events)).not.toContain('staking.Withdrawn');
    while ((await api.query.staking.currentEra()).unwrap().toNumber() < active + 28) devnet.nextEra();
    const reservedBefore = (await api.query.system.account(alice.address)).data.reserved.toBigInt();
    const withdrawn = await send(api.tx.staking.withdrawUnbonded(0), alice);
    expect(names(withdrawn.events)).toContain('staking.Withdrawn');
    const event = withdrawn.events.find((e) => e.event.method === 'Withdrawn')!.event.data as unknown as { amount: { toBigInt(): bigint } };
    expect(event.amount.toBigInt()).toBe(100n * DOT);
    const reservedAfter = (await api.query.system.account(alice.address)).data.reserved.toBigInt();
    expect(reservedBefore - reservedAfter).toBe(100n * DOT);
  });

  it('a pool member: join, rewards from a payout, claim_payout (PaidOut once), unbond by points, withdraw', async () => {
    const member = keyring.addFromMnemonic(devnet.createAccount(100n * DOT).mnemonic);
    const joined = await send(api.tx.nominationPools.join(50n * DOT, 1), member);
    expect(names(joined.events)).toEqual([
      'balances.Withdraw',
      'delegatedStaking.Delegated',
      'staking.Bonded',
      'nominationPools.Bonded',
      'transactionPayment.TransactionFeePaid',
      'system.ExtrinsicSuccess',
    ]);
    // Delegated stake: the funds stay in the member's account, held.
    const held = await api.query.system.account(member.address);
    expect(held.data.reserved.toBigInt()).toBe(50n * DOT);
    const below = await send(api.tx.nominationPools.bondExtra({ FreeBalance: 1000n * DOT }), member);
    // More than the member holds: the delegation's hold fails (TokenError), the whole call rolled back.
    expect(below.dispatchError!.asToken.type).toBe('FundsUnavailable');
    expect((await api.query.system.account(member.address)).data.reserved.toBigInt()).toBe(50n * DOT);
    expect((await api.call.nominationPoolsApi.pendingRewards(member.address)).toBigInt()).toBe(0n);

    devnet.nextEra();
    devnet.nextEra();
    devnet.nextEra();
    const era = (await api.query.staking.activeEra()).unwrap().index.toNumber() - 1;
    const [bonded, reward] = (await api.call.nominationPoolsApi.poolAccounts(1)).map((a) => a.toString());
    const paid = await send(api.tx.staking.payoutStakersByPage(devnet.validators[0]!, era, 0), bob);
    const toPool = paid.events
      .filter((e) => e.event.method === 'Rewarded')
      .map((e) => e.event.data as unknown as { stash: { toString(): string }; dest: { toString(): string } })
      .find((r) => r.stash.toString() === bonded);
    expect(toPool?.dest.toString()).toContain(reward);

    const pending = (await api.call.nominationPoolsApi.pendingRewards(member.address)).toBigInt();
    expect(pending).toBeGreaterThan(0n);
    const claimed = await send(api.tx.nominationPools.claimPayout(), member);
    const paidOut = claimed.events.find((e) => e.event.method === 'PaidOut')!.event.data as unknown as { member: { toString(): string }; payout: { toBigInt(): bigint } };
    expect(paidOut.member.toString()).toBe(member.address);
    expect(paidOut.payout.toBigInt()).toBe(pending);
    expect(devnet.truth.of(member.address).paid).toBe(pending);
    const nothing = await send(api.tx.nominationPools.claimPayout(), member);
    expect(names(nothing.events)).not.toContain('nominationPools.PaidOut');

    const points = (await api.query.nominationPools.poolMembers(member.address)).unwrap().points.toBigInt();
    const unbonded = await send(api.tx.nominationPools.unbond(member.address, points), member);
    // The era of the pool's staking chunk (staking-async `unbond`: active era + BondingDuration), which `on_slash` keys sub-pools by.
    const active = (await api.query.staking.activeEra.at(unbonded.blockHash)).unwrap().index.toNumber();
    const event = unbonded.events.find((e) => e.event.section === 'nominationPools' && e.event.method === 'Unbonded')!.event.data as unknown as { era: { toNumber(): number }; balance: { toBigInt(): bigint } };
    expect(event.era.toNumber()).toBe(active + 28);
    expect((await api.query.staking.ledger.at(unbonded.blockHash, keyring.encodeAddress(poolAccount(1, 'bonded'), 0))).unwrap().unlocking.map((c) => c.era.toNumber())).toEqual([active + 28]);
    expect(event.balance.toBigInt()).toBe(50n * DOT);
    const early = await send(api.tx.nominationPools.withdrawUnbonded(member.address, 0), member);
    expect(api.registry.findMetaError(early.dispatchError!.asModule).name).toBe('CannotWithdrawAny');
    while ((await api.query.staking.currentEra()).unwrap().toNumber() < active + 28) devnet.nextEra();
    const withdrawn = await send(api.tx.nominationPools.withdrawUnbonded(member.address, 0), member);
    expect(names(withdrawn.events)).toContain('nominationPools.Withdrawn');
    expect(names(withdrawn.events)).toContain('nominationPools.MemberRemoved');
    expect((await api.query.system.account(member.address)).data.reserved.toBigInt()).toBe(0n);
    expect((await api.query.nominationPools.poolMembers(member.address)).isNone).toBe(true);
  });

  it('refuses in the node words: bad signature, stale nonce, expired mortal era, unpayable fee', async () => {
    const transfer = api.tx.balances.transferKeepAlive(bob.address, DOT);
    await transfer.signAsync(alice);
    const bytes = transfer.toU8a();
    const signature = transfer.signature.toU8a();
    const at = Buffer.from(bytes).indexOf(Buffer.from(signature));
    bytes[at + 5] = bytes[at + 5]! ^ 0xff;
    await expect(api.rpc.author.submitExtrinsic(bytes)).rejects.toThrow('1010: Invalid Transaction: Transaction has a bad signature');

    const stale = api.tx.balances.transferKeepAlive(bob.address, DOT);
    await stale.signAsync(alice, { nonce: 0 });
    await expect(api.rpc.author.submitExtrinsic(stale)).rejects.toThrow('1010: Invalid Transaction: Transaction is outdated');

    // Mortal for 32 blocks from the best block; past its death the recomputed birth is a later block: BadProof, not "outdated".
    const mortal = api.tx.balances.transferKeepAlive(bob.address, DOT);
    const head = await api.rpc.chain.getHeader();
    await mortal.signAsync(alice, { blockHash: head.hash, era: api.registry.createType('ExtrinsicEra', { current: head.number.toNumber(), period: 32 }) });
    devnet.advance(40 * devnet.chain.blockMs);
    await expect(api.rpc.author.submitExtrinsic(mortal)).rejects.toThrow('1010: Invalid Transaction: Transaction has a bad signature');

    const poor = keyring.addFromMnemonic(devnet.createAccount(100_100_000n).mnemonic);
    await expect(send(api.tx.balances.transferAllowDeath(bob.address, 1n), poor)).rejects.toThrow(
      // polkadot-js strips the parentheses from the node's data (rpc-provider coder `formatErrorData`).
      '1010: Invalid Transaction: Inability to pay some fees , e.g. account balance too low',
    );
  });

  it('a kit fault: the next transaction fails on chain, fee charged and nonce used', async () => {
    const nonce = (await api.query.system.account(bob.address)).nonce.toNumber();
    devnet.failNextTx();
    const failed = await send(api.tx.balances.transferKeepAlive(alice.address, DOT), bob);
    expect(names(failed.events)).toEqual(['balances.Withdraw', 'transactionPayment.TransactionFeePaid', 'system.ExtrinsicFailed']);
    expect((await api.query.system.account(bob.address)).nonce.toNumber()).toBe(nonce + 1);
    devnet.faults.inject({ target: 'state_call' }, 'http503', 1);
    await expect(api.call.accountNonceApi.accountNonce(bob.address)).rejects.toThrow('-32009: Server is busy, try again later');
  });

  it('answers in the shapes the note documents, field for field', async () => {
    const url = devnet.wsUrls[1]!;
    const methods = (await raw(url, 'rpc_methods', [])).answer.result as Record<string, unknown>;
    expect(Object.keys(methods)).toEqual(['methods']);
    const list = methods.methods as string[];
    expect(list).toContain('chain_subscribeNewHead');
    expect(list).toContain('chain_getFinalisedHead');
    for (const name of list) expect(REAL_RPC_METHODS).toContain(name);

    const header = (await raw(url, 'chain_getHeader', [])).answer.result as Record<string, unknown>;
    expect(Object.keys(header).sort()).toEqual(['digest', 'extrinsicsRoot', 'number', 'parentHash', 'stateRoot']);
    expect(header.number).toMatch(/^0x[0-9a-f]+$/);
    expect(header.digest).toEqual({ logs: [] });

    const block = (await raw(url, 'chain_getBlock', [])).answer.result as { block: { header: unknown; extrinsics: string[] }; justifications: null };
    expect(Object.keys(block).sort()).toEqual(['block', 'justifications']);
    expect(block.justifications).toBeNull();
    expect(block.block.extrinsics[0]).toMatch(/^0x/);

    const key = api.query.system.account.key(alice.address);
    const queried = (await raw(url, 'state_queryStorageAt', [[key, '0x00']])).answer.result as { block: string; changes: [string, string | null][] }[];
    expect(queried).toHaveLength(1);
    expect(queried[0]!.changes).toEqual([
      [key, expect.stringMatching(/^0x/)],
      ['0x00', null],
    ]);

    const tooMany = (await raw(url, 'state_getKeysPaged', ['0x', 1001])).answer.error;
    expect(tooMany).toEqual({ code: 4002, message: 'count exceeds maximum value. value: 1001, max: 1000' });

    expect((await raw(url, 'system_properties', [])).answer.result).toEqual({ ss58Format: 0, tokenDecimals: 10, tokenSymbol: 'DOT' });
    expect((await raw(url, 'state_call', ['Metadata_metadata_versions', '0x'])).answer.result).toBe('0x080e0000000f000000');

    // Watch statuses: bare strings for unit variants, single-key objects carrying only the block hash.
    const tx = api.tx.balances.transferKeepAlive(bob.address, DOT);
    await tx.signAsync(alice);
    const watched = await raw(url, 'author_submitAndWatchExtrinsic', [tx.toHex()], (notes) => notes.some((n) => typeof n === 'object' && n !== null && 'finalized' in n));
    expect(typeof watched.answer.result).toBe('string');
    expect(watched.notes).toEqual(['ready', { inBlock: expect.stringMatching(/^0x[0-9a-f]{64}$/) }, { finalized: expect.stringMatching(/^0x[0-9a-f]{64}$/) }]);

    // A refused watch is an error answer, never a subscription.
    const refused = await raw(url, 'author_submitAndWatchExtrinsic', [tx.toHex()]);
    expect((refused.answer.error as { code: number }).code).toBe(1012);
  });
});
