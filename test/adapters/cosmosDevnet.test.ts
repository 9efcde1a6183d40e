/**
 * The Cosmos devnet against the unmodified cosmjs clients over HTTP: what
 * the Cosmos adapter will see. Every test starts its own devnet (frozen
 * clock) and account.
 */
import { encodeSecp256k1Pubkey } from '@cosmjs/amino';
import { toBase64, toBech32 } from '@cosmjs/encoding';
import { DirectSecp256k1HdWallet, encodePubkey, makeAuthInfoBytes, makeSignDoc, Registry, type EncodeObject } from '@cosmjs/proto-signing';
import {
  BroadcastTxError,
  defaultRegistryTypes,
  GasPrice,
  QueryClient,
  setupDistributionExtension,
  setupStakingExtension,
  SigningStargateClient,
  StargateClient,
  type DeliverTxResponse,
  type Event,
  type StdFee,
} from '@cosmjs/stargate';
import { connectComet, type CometClient } from '@cosmjs/tendermint-rpc';
import { TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFundedAccount, startCosmosDevnet, type CosmosDevnet } from '../../adapters/cosmos/devnet.js';
import { until } from '../helpers/wait.js';

const DAY_MS = 86_400_000;
const FUNDS = 10_000_000_000n; // 10k ATOM
const STAKE = 1_000_000_000n; // 1k ATOM
const FEE: StdFee = { amount: [{ denom: 'uatom', amount: '10000' }], gas: '400000' };

interface Account {
  address: string;
  wallet: DirectSecp256k1HdWallet;
  client: SigningStargateClient;
}

let devnet: CosmosDevnet;
const toClose: { disconnect(): void }[] = [];

async function account(url = devnet.urls[0]!): Promise<Account> {
  const { mnemonic, address } = await createFundedAccount(devnet, FUNDS);
  const wallet = await DirectSecp256k1HdWallet.fromMnemonic(mnemonic, { prefix: 'cosmos' });
  const client = await SigningStargateClient.connectWithSigner(url, wallet, { gasPrice: GasPrice.fromString('0.025uatom'), broadcastPollIntervalMs: 50 });
  toClose.push(client);
  return { address, wallet, client };
}

async function queries(url = devnet.urls[0]!): Promise<{ comet: CometClient; q: ReturnType<typeof withExtensions> }> {
  const comet = await connectComet(url);
  toClose.push(comet);
  return { comet, q: withExtensions(comet) };
}

function withExtensions(comet: CometClient) {
  return QueryClient.withExtensions(comet, setupStakingExtension, setupDistributionExtension);
}

function attr(e: Event, key: string): string | undefined {
  return e.attributes.find((a) => a.key === key)?.value;
}

/** Sum of the `withdraw_rewards` payouts in a tx's events, base units. */
function withdrawn(result: DeliverTxResponse, validator?: string): bigint {
  return result.events
    .filter((e) => e.type === 'withdraw_rewards' && (validator === undefined || attr(e, 'validator') === validator))
    .reduce((sum, e) => sum + BigInt(/^(\d+)uatom$/.exec(attr(e, 'amount') ?? '')?.[1] ?? 'NaN'), 0n);
}

function feeOf(result: DeliverTxResponse): bigint {
  const fee = result.events.find((e) => e.type === 'tx' && attr(e, 'fee') !== undefined);
  return BigInt(/^(\d+)uatom$/.exec(attr(fee!, 'fee') ?? '')?.[1] ?? '0');
}

async function balance(client: StargateClient, address: string): Promise<bigint> {
  return BigInt((await client.getBalance(address, 'uatom')).amount);
}

/** Signs `msgs` for `signer` with `key`'s wallet over the given account number and sequence: for forged transactions. */
async function forge(signer: Account, key: Account, msgs: EncodeObject[], accountNumber: number, sequence: number, pubkeyOf: Account = signer): Promise<Uint8Array> {
  const registry = new Registry(defaultRegistryTypes);
  const bodyBytes = registry.encodeTxBody({ messages: msgs, memo: '' });
  const [pubAccount] = await pubkeyOf.wallet.getAccounts();
  const authInfoBytes = makeAuthInfoBytes([{ pubkey: encodePubkey(encodeSecp256k1Pubkey(pubAccount!.pubkey)), sequence }], FEE.amount, Number(FEE.gas), undefined, undefined);
  const [keyAccount] = await key.wallet.getAccounts();
  const { signature, signed } = await key.wallet.signDirect(keyAccount!.address, makeSignDoc(bodyBytes, authInfoBytes, devnet.chainId, accountNumber));
  return TxRaw.encode({ bodyBytes: signed.bodyBytes, authInfoBytes: signed.authInfoBytes, signatures: [Buffer.from(signature.signature, 'base64')] }).finish();
}

function delegateMsg(delegator: string, validator: string, amount: bigint): EncodeObject {
  return { typeUrl: '/cosmos.staking.v1beta1.MsgDelegate', value: { delegatorAddress: delegator, validatorAddress: validator, amount: { denom: 'uatom', amount: amount.toString() } } };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${String(value)}`);
    },
    (error: unknown) => error,
  );
}

beforeEach(async () => {
  devnet = await startCosmosDevnet({ genesisTime: Date.UTC(2025, 0, 1) });
});

afterEach(async () => {
  for (const c of toClose.splice(0)) c.disconnect();
  await devnet.close();
});

describe('cosmos devnet: reads through StargateClient', () => {
  it('chain id, height, balance, account and block as cosmjs decodes them', async () => {
    const { address } = await createFundedAccount(devnet, FUNDS);
    const client = await StargateClient.connect(devnet.urls[0]!);
    toClose.push(client);
    expect(await client.getChainId()).toBe('softstake-devnet-1');
    expect(await client.getHeight()).toBe(1);
    devnet.produceBlocks(3);
    expect(await client.getHeight()).toBe(4);
    expect(await client.getBalance(address, 'uatom')).toEqual({ denom: 'uatom', amount: FUNDS.toString() });
    const found = await client.getAccount(address);
    expect(found).toMatchObject({ address, sequence: 0, pubkey: null });
    expect(await client.getAccount('cosmos1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu')).toBeNull();
    const block = await client.getBlock();
    expect(block.header).toMatchObject({ chainId: 'softstake-devnet-1', height: 4 });
    expect(Date.parse(block.header.time)).toBe(Date.UTC(2025, 0, 1) + 3 * devnet.blockMs);
    const first = await client.getBlock(1);
    expect(first.header.height).toBe(1);
    expect(first.id).toMatch(/^[0-9A-F]{64}$/);
  });
});

describe('cosmos devnet: staking and rewards through SigningStargateClient', () => {
  it('delegates to two validators, accrues DecCoin rewards, withdraws exactly what the events say', async () => {
    const me = await account();
    const [v0, v1] = devnet.validators as [string, string];
    const first = await me.client.delegateTokens(me.address, v0, { denom: 'uatom', amount: STAKE.toString() }, 'auto');
    expect(first.code).toBe(0);
    const delegate = first.events.find((e) => e.type === 'delegate');
    expect(delegate).toBeDefined();
    expect(attr(delegate!, 'validator')).toBe(v0);
    expect(attr(delegate!, 'amount')).toBe(`${STAKE}uatom`);
    expect(attr(delegate!, 'msg_index')).toBe('0');
    expect(first.events.find((e) => e.type === 'message' && attr(e, 'action') === '/cosmos.staking.v1beta1.MsgDelegate')).toBeDefined();
    expect(first.events.find((e) => e.type === 'tx' && attr(e, 'acc_seq') === `${me.address}/0`)).toBeDefined();
    expect((await me.client.delegateTokens(me.address, v1, { denom: 'uatom', amount: STAKE.toString() }, 'auto')).code).toBe(0);

    devnet.advance(DAY_MS);
    const { q } = await queries();
    const delegations = await q.staking.delegatorDelegations(me.address);
    expect(delegations.delegationResponses.map((d) => [d.delegation.validatorAddress, d.balance.amount])).toEqual([
      [v0, STAKE.toString()],
      [v1, STAKE.toString()],
    ]);
    const rewards = await q.distribution.delegationTotalRewards(me.address);
    const total = BigInt(rewards.total[0]!.amount);
    // DecCoins: 18 fractional digits in the integer; v0 (5% commission) pays more than v1 (10%).
    expect(total).toBeGreaterThan(10n ** 18n);
    const perValidator = rewards.rewards.map((r) => BigInt(r.reward[0]!.amount));
    expect(perValidator[0]!).toBeGreaterThan(perValidator[1]!);
    expect(devnet.account(me.address).pendingRewards).toBe(perValidator.reduce((s, r) => s + r / 10n ** 18n, 0n));

    const before = await balance(me.client, me.address);
    const result = await me.client.withdrawRewards(me.address, v0, 'auto');
    expect(result.code).toBe(0);
    const paid = withdrawn(result, v0);
    expect(paid).toBe(perValidator[0]! / 10n ** 18n);
    expect(await balance(me.client, me.address)).toBe(before + paid - feeOf(result));
    expect(devnet.rewardsPaid(me.address)).toBe(paid);
    // The truncated fraction went to the community pool; nothing is pending on v0 any more.
    const after = await q.distribution.delegationRewards(me.address, v0);
    expect(after.rewards).toEqual([]);
  });

  it('a second delegation to the same validator pays out the pending rewards first', async () => {
    const me = await account();
    const v0 = devnet.validators[0]!;
    await me.client.delegateTokens(me.address, v0, { denom: 'uatom', amount: STAKE.toString() }, 'auto');
    devnet.advance(DAY_MS);
    const { q } = await queries();
    const pending = BigInt((await q.distribution.delegationRewards(me.address, v0)).rewards[0]!.amount) / 10n ** 18n;
    expect(pending).toBeGreaterThan(0n);
    const before = await balance(me.client, me.address);
    const again = await me.client.delegateTokens(me.address, v0, { denom: 'uatom', amount: STAKE.toString() }, 'auto');
    expect(again.code).toBe(0);
    expect(withdrawn(again, v0)).toBe(pending);
    const withdraw = again.events.find((e) => e.type === 'withdraw_rewards')!;
    expect(attr(withdraw, 'delegator')).toBe(me.address);
    expect(attr(withdraw, 'msg_index')).toBe('0');
    expect(await balance(me.client, me.address)).toBe(before + pending - STAKE - feeOf(again));
    expect(devnet.account(me.address).delegations).toEqual([{ validator: v0, amount: 2n * STAKE, shares: 2n * STAKE * 10n ** 18n }]);
  });

  it('undelegate: an unbonding entry with its completion time, paid back after the unbonding period', async () => {
    const me = await account();
    const v0 = devnet.validators[0]!;
    await me.client.delegateTokens(me.address, v0, { denom: 'uatom', amount: STAKE.toString() }, 'auto');
    const result = await me.client.undelegateTokens(me.address, v0, { denom: 'uatom', amount: (STAKE / 4n).toString() }, 'auto');
    expect(result.code).toBe(0);
    const unbond = result.events.find((e) => e.type === 'unbond')!;
    expect(attr(unbond, 'amount')).toBe(`${STAKE / 4n}uatom`);
    const { q } = await queries();
    const entries = (await q.staking.delegatorUnbondingDelegations(me.address)).unbondingResponses;
    expect(entries).toHaveLength(1);
    const entry = entries[0]!.entries[0]!;
    expect(entry.balance).toBe((STAKE / 4n).toString());
    const blockTime = Date.parse((await me.client.getBlock(result.height)).header.time);
    const completes = Number(entry.completionTime.seconds) * 1000 + Math.floor(entry.completionTime.nanos / 1e6);
    expect(completes).toBe(blockTime + devnet.unbondingMs);
    expect(new Date(attr(unbond, 'completion_time')!).getTime()).toBe(Math.floor(completes / 1000) * 1000);

    const before = await balance(me.client, me.address);
    devnet.advance(devnet.unbondingMs - devnet.blockMs);
    expect(await balance(me.client, me.address)).toBe(before);
    devnet.advance(devnet.blockMs);
    expect(await balance(me.client, me.address)).toBe(before + STAKE / 4n);
    expect((await q.staking.delegatorUnbondingDelegations(me.address)).unbondingResponses).toEqual([]);
  });

  it('undelegating more than delegated is included and fails: fee charged, stake unchanged', async () => {
    const me = await account();
    const v0 = devnet.validators[0]!;
    await me.client.delegateTokens(me.address, v0, { denom: 'uatom', amount: STAKE.toString() }, 'auto');
    const before = devnet.account(me.address);
    const result = await me.client.undelegateTokens(me.address, v0, { denom: 'uatom', amount: (STAKE + 1n).toString() }, FEE);
    expect(result.code).toBe(18);
    expect(result.rawLog).toContain('invalid shares amount');
    const after = devnet.account(me.address);
    expect(after.delegations).toEqual(before.delegations);
    expect(after.liquid).toBe(before.liquid - 10_000n);
    expect(after.sequence).toBe(before.sequence + 1n);
    expect(result.events.map((e) => e.type)).not.toContain('unbond');
  });

  it('redelegate moves stake at once and pays both validators first; MsgSend moves liquid funds', async () => {
    const me = await account();
    const [v0, v1] = devnet.validators as [string, string];
    await me.client.delegateTokens(me.address, v0, { denom: 'uatom', amount: STAKE.toString() }, 'auto');
    devnet.advance(DAY_MS);
    const pending = devnet.account(me.address).pendingRewards;
    const moved = await me.client.signAndBroadcast(
      me.address,
      [{ typeUrl: '/cosmos.staking.v1beta1.MsgBeginRedelegate', value: { delegatorAddress: me.address, validatorSrcAddress: v0, validatorDstAddress: v1, amount: { denom: 'uatom', amount: (STAKE / 2n).toString() } } }],
      'auto',
    );
    expect(moved.code).toBe(0);
    expect(withdrawn(moved)).toBe(pending);
    expect(moved.events.find((e) => e.type === 'redelegate')).toBeDefined();
    expect(devnet.account(me.address).delegations.map((d) => [d.validator, d.amount])).toEqual([
      [v0, STAKE / 2n],
      [v1, STAKE / 2n],
    ]);
    const { address: friend } = await createFundedAccount(devnet, 1n);
    const sent = await me.client.sendTokens(me.address, friend, [{ denom: 'uatom', amount: '12345' }], 'auto');
    expect(sent.code).toBe(0);
    expect(await balance(me.client, friend)).toBe(12_346n);
  });

  it('simulate refuses an unknown validator with the staking error', async () => {
    const me = await account();
    const unknown = toBech32('cosmosvaloper', new Uint8Array(20).fill(7));
    const error = await rejection(me.client.delegateTokens(me.address, unknown, { denom: 'uatom', amount: '1000' }, 'auto'));
    expect(String(error)).toMatch(/Query failed with \(3\): failed to execute message; message index: 0: validator does not exist/);
  });
});

describe('cosmos devnet: rejections', () => {
  it('a signature by the wrong key: code 4; a public key of another address: code 8; nothing changes', async () => {
    const me = await account();
    const other = await account();
    const v0 = devnet.validators[0]!;
    const msg = delegateMsg(me.address, v0, STAKE);
    const wrongKey = await forge(me, other, [msg], 0, 0);
    const error = await rejection(me.client.broadcastTxSync(wrongKey));
    expect(error).toBeInstanceOf(BroadcastTxError);
    expect((error as BroadcastTxError).code).toBe(4);
    expect((error as BroadcastTxError).log).toContain('signature verification failed');

    const wrongPubkey = await forge(me, other, [msg], 0, 0, other);
    const error8 = await rejection(me.client.broadcastTxSync(wrongPubkey));
    expect((error8 as BroadcastTxError).code).toBe(8);

    const forgedAccountNumber = await forge(me, me, [msg], 999, 0);
    expect(((await rejection(me.client.broadcastTxSync(forgedAccountNumber))) as BroadcastTxError).code).toBe(4);
    expect(devnet.account(me.address)).toMatchObject({ liquid: FUNDS, sequence: 0n, delegations: [] });
  });

  it('a wrong sequence: code 32 with the SDK message; a fee below gas × price: code 13', async () => {
    const me = await account();
    const [acc] = await me.wallet.getAccounts();
    const v0 = devnet.validators[0]!;
    const info = await me.client.getSequence(me.address);
    const ahead = await me.client.sign(me.address, [delegateMsg(me.address, v0, STAKE)], FEE, '', { accountNumber: info.accountNumber, sequence: 5, chainId: devnet.chainId });
    const error = (await rejection(me.client.broadcastTxSync(TxRaw.encode(ahead).finish()))) as BroadcastTxError;
    expect(error.code).toBe(32);
    expect(error.codespace).toBe('sdk');
    expect(error.log).toBe('account sequence mismatch, expected 0, got 5: incorrect account sequence');

    const cheap = await me.client.sign(me.address, [delegateMsg(me.address, v0, STAKE)], { amount: [{ denom: 'uatom', amount: '100' }], gas: '400000' }, '');
    const fee = (await rejection(me.client.broadcastTxSync(TxRaw.encode(cheap).finish()))) as BroadcastTxError;
    expect(fee.code).toBe(13);
    expect(fee.log).toBe('insufficient fees; got: 100uatom required: 10000uatom: insufficient fee');
    expect(acc).toBeDefined();
  });

  it('too little gas for the messages: included, code 11, fee charged', async () => {
    const me = await account();
    const result = await me.client.delegateTokens(me.address, devnet.validators[0]!, { denom: 'uatom', amount: STAKE.toString() }, { amount: [{ denom: 'uatom', amount: '2250' }], gas: '90000' });
    expect(result.code).toBe(11);
    expect(devnet.account(me.address)).toMatchObject({ liquid: FUNDS - 2250n, sequence: 1n, delegations: [] });
  });
});

describe('cosmos devnet: search, blocks and fault injection', () => {
  it('searchTx by sender and by hash, tx_search paging and block_results events', async () => {
    const me = await account();
    const [v0, v1] = devnet.validators as [string, string];
    const a = await me.client.delegateTokens(me.address, v0, { denom: 'uatom', amount: STAKE.toString() }, 'auto');
    const b = await me.client.delegateTokens(me.address, v1, { denom: 'uatom', amount: STAKE.toString() }, 'auto');
    const bySender = await me.client.searchTx([{ key: 'message.sender', value: me.address }]);
    expect(bySender.map((t) => t.hash)).toEqual([a.transactionHash, b.transactionHash]);
    const later = await me.client.searchTx(`message.sender='${me.address}' AND tx.height>${a.height}`);
    expect(later.map((t) => t.hash)).toEqual([b.transactionHash]);
    const byEvent = await me.client.searchTx(`delegate.validator='${v1}'`);
    expect(byEvent.map((t) => t.hash)).toEqual([b.transactionHash]);
    expect((await me.client.getTx(a.transactionHash))?.height).toBe(a.height);

    const { comet } = await queries();
    const desc = await comet.txSearch({ query: `message.sender='${me.address}'`, order_by: 'desc', per_page: 1, page: 1 });
    expect(desc.totalCount).toBe(2);
    expect(desc.txs.map((t) => t.height)).toEqual([b.height]);
    const results = await comet.blockResults(a.height);
    expect(results.results).toHaveLength(1);
    expect(results.results[0]!.events.some((e) => e.type === 'delegate')).toBe(true);
    const blocks = await comet.blockchain(1, b.height);
    expect(blocks.lastHeight).toBe(b.height);
    expect(blocks.blockMetas[0]!.header.height).toBe(b.height);
  });

  it('503 on one listener: that endpoint fails, the other serves the same chain', async () => {
    const [first, second] = devnet.urls as [string, string];
    const { address } = await createFundedAccount(devnet, FUNDS);
    devnet.setFault(0, 'http503');
    const failed = await rejection(StargateClient.connect(first));
    expect(String(failed)).toMatch(/503/);
    const client = await StargateClient.connect(second);
    toClose.push(client);
    expect(await balance(client, address)).toBe(FUNDS);
    devnet.setFault(0, null);
    const healed = await StargateClient.connect(first);
    toClose.push(healed);
    expect(await healed.getHeight()).toBe(await client.getHeight());
  });

  it('failNextTx: included and failed, only the fee is gone, no reward paid from it', async () => {
    const me = await account();
    const v0 = devnet.validators[0]!;
    await me.client.delegateTokens(me.address, v0, { denom: 'uatom', amount: STAKE.toString() }, 'auto');
    devnet.advance(DAY_MS);
    const before = devnet.account(me.address);
    devnet.failNextTx();
    const result = await me.client.delegateTokens(me.address, v0, { denom: 'uatom', amount: STAKE.toString() }, FEE);
    expect(result.code).not.toBe(0);
    expect(result.height).toBeGreaterThan(0);
    expect(result.events.map((e) => e.type)).not.toContain('withdraw_rewards');
    const after = devnet.account(me.address);
    expect(after.delegations).toEqual(before.delegations);
    expect(after.liquid).toBe(before.liquid - 10_000n);
    expect(after.pendingRewards).toBe(before.pendingRewards);
    expect(devnet.rewardsPaid(me.address)).toBe(0n);
  });

  it('dropNextTx: accepted and lost; the same bytes later land once, then are refused as cached', async () => {
    const me = await account();
    const signed = TxRaw.encode(await me.client.sign(me.address, [delegateMsg(me.address, devnet.validators[0]!, STAKE)], FEE, '')).finish();
    devnet.dropNextTx();
    const hash = await me.client.broadcastTxSync(signed);
    devnet.advance(devnet.blockMs * 3);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await me.client.getTx(hash)).toBeNull();
    expect(devnet.account(me.address).sequence).toBe(0n);

    const landed = await me.client.broadcastTx(signed, 5000, 50);
    expect(landed.transactionHash).toBe(hash);
    expect(landed.code).toBe(0);
    expect(String(await rejection(me.client.broadcastTxSync(signed)))).toMatch(/tx already exists in cache/);
    expect(devnet.account(me.address).delegations).toHaveLength(1);
    expect(toBase64(signed).length).toBeGreaterThan(0);
  });

  it('slash: the delegation shrinks by the fraction and the devnet records the loss; onIncluded sees inclusion', async () => {
    const me = await account();
    const v0 = devnet.validators[0]!;
    const seen: string[] = [];
    devnet.onIncluded((tx) => {
      seen.push(tx.hash);
    });
    const result = await me.client.delegateTokens(me.address, v0, { denom: 'uatom', amount: STAKE.toString() }, 'auto');
    expect(seen).toEqual([result.transactionHash]);
    devnet.slash(v0, 1000);
    const { q } = await queries();
    const d = await q.staking.delegation(me.address, v0);
    expect(d.delegationResponse?.balance?.amount).toBe(((STAKE * 9n) / 10n).toString());
    expect(devnet.slashed(me.address)).toBe(STAKE / 10n);
    devnet.jail(v0);
    const validator = await q.staking.validator(v0);
    expect(validator.validator.jailed).toBe(true);
  });
});

/** Starts a devnet with `options` in place of the default one (closed by afterEach). */
async function restart(options: Parameters<typeof startCosmosDevnet>[0]): Promise<void> {
  await devnet.close();
  devnet = await startCosmosDevnet({ genesisTime: Date.UTC(2025, 0, 1), ...options });
}

/** Signs `msgs` offline at an explicit sequence (several transactions of one account in one block). */
async function signAt(me: Account, msgs: EncodeObject[], sequence: number, fee: StdFee = FEE): Promise<Uint8Array> {
  const accountNumber = devnet.account(me.address).accountNumber!;
  const raw = await me.client.sign(me.address, msgs, fee, '', { accountNumber, sequence, chainId: devnet.chainId });
  return TxRaw.encode(raw).finish();
}

function undelegateMsg(delegator: string, validator: string, amount: bigint): EncodeObject {
  return { typeUrl: '/cosmos.staking.v1beta1.MsgUndelegate', value: { delegatorAddress: delegator, validatorAddress: validator, amount: { denom: 'uatom', amount: amount.toString() } } };
}

function redelegateMsg(delegator: string, source: string, destination: string, amount: bigint): EncodeObject {
  return {
    typeUrl: '/cosmos.staking.v1beta1.MsgBeginRedelegate',
    value: { delegatorAddress: delegator, validatorSrcAddress: source, validatorDstAddress: destination, amount: { denom: 'uatom', amount: amount.toString() } },
  };
}

describe('cosmos devnet: the Hub node’s limits (issue 11)', () => {
  it('max_entries comes from the params; two undelegations in one block are one entry (x/staking AddEntry); one past the limit is refused', async () => {
    await restart({ maxEntries: 2, inclusionDelayMs: 300 });
    const me = await account();
    const v0 = devnet.validators[0]!;
    await me.client.delegateTokens(me.address, v0, { denom: 'uatom', amount: STAKE.toString() }, FEE);
    const { q } = await queries();
    expect((await q.staking.params()).params.maxEntries).toBe(2);
    const sequence = Number(devnet.account(me.address).sequence);
    const first = await me.client.broadcastTxSync(await signAt(me, [undelegateMsg(me.address, v0, 1_000n)], sequence));
    const second = await me.client.broadcastTxSync(await signAt(me, [undelegateMsg(me.address, v0, 2_000n)], sequence + 1));
    await until(async () => (await me.client.getTx(second)) !== null, 'both undelegations included');
    const [a, b] = [await me.client.getTx(first), await me.client.getTx(second)];
    expect(a?.height).toBe(b?.height);
    expect([a?.code, b?.code]).toEqual([0, 0]);
    const entries = devnet.account(me.address).unbonding;
    expect(entries).toHaveLength(1);
    expect(entries[0]!.amount).toBe(3_000n);
    devnet.produceBlocks(1);
    expect((await me.client.undelegateTokens(me.address, v0, { denom: 'uatom', amount: '1000' }, FEE)).code).toBe(0);
    expect(devnet.account(me.address).unbonding).toHaveLength(2);
    devnet.produceBlocks(1);
    const refused = await me.client.undelegateTokens(me.address, v0, { denom: 'uatom', amount: '1000' }, FEE);
    expect(refused.code).toBe(27);
    expect(refused.rawLog).toMatch(/too many unbonding delegation entries/);
  });

  it('a fee market: the base price moves with block fullness; a fee below it is code 13 in CheckTx, and again in the block when it rose meanwhile', async () => {
    await restart({ feeMarket: { maxBlockGas: 400_000n }, minGasPrice: '0.025uatom', inclusion: 'nextBlock' });
    const me = await account();
    const v0 = devnet.validators[0]!;
    const floor = devnet.baseGasPrice();
    expect(floor).toBe(25_000_000_000_000_000n);
    devnet.setBaseGasPrice('0.1');
    const cheap: StdFee = { amount: [{ denom: 'uatom', amount: '10000' }], gas: '400000' }; // 0.025 per gas
    const sequence = Number(devnet.account(me.address).sequence);
    const refused = await rejection(me.client.broadcastTx(await signAt(me, [delegateMsg(me.address, v0, STAKE)], sequence, cheap)));
    expect(refused).toBeInstanceOf(BroadcastTxError);
    expect((refused as BroadcastTxError).code).toBe(13);
    expect((refused as BroadcastTxError).log).toMatch(/^error checking fee: got: 10000uatom required: 40000uatom, minGasPrice: 0\.100000000000000000uatom, gas: \d+: insufficient fee$/);
    // Empty blocks bring it down by 12.5 % each, to the floor.
    devnet.produceBlocks(1);
    expect(devnet.baseGasPrice()).toBe(87_500_000_000_000_000n);
    devnet.produceBlocks(20);
    expect(devnet.baseGasPrice()).toBe(floor);
    // Accepted at 0.025, then the price rises before the block: included, code 13, no fee, sequence unused.
    const hash = await me.client.broadcastTxSync(await signAt(me, [delegateMsg(me.address, v0, STAKE)], sequence, cheap));
    const before = devnet.account(me.address);
    devnet.setBaseGasPrice('0.05');
    devnet.produceBlocks(1);
    const included = await me.client.getTx(hash);
    expect(included?.code).toBe(13);
    const after = devnet.account(me.address);
    expect(after.liquid).toBe(before.liquid);
    expect(after.sequence).toBe(before.sequence);
  });

  it('a redelegation entry: listed, refused when transitive, and its stake slashed for the source validator', async () => {
    await restart({});
    const me = await account();
    const [v0, v1] = devnet.validators as [string, string];
    await me.client.delegateTokens(me.address, v0, { denom: 'uatom', amount: STAKE.toString() }, FEE);
    const moved = await me.client.signAndBroadcast(me.address, [redelegateMsg(me.address, v0, v1, STAKE / 2n)], FEE);
    expect(moved.code).toBe(0);
    const { q } = await queries();
    const listed = await q.staking.redelegations(me.address, v0, v1);
    expect(listed.redelegationResponses).toHaveLength(1);
    expect(listed.redelegationResponses[0]!.entries[0]!.balance).toBe((STAKE / 2n).toString());
    const back = await me.client.signAndBroadcast(me.address, [redelegateMsg(me.address, v1, v0, 1_000n)], FEE);
    expect(back.code).toBe(32);
    expect(back.rawLog).toMatch(/redelegation to this validator already in progress/);
    const onV1 = () => devnet.account(me.address).delegations.find((d) => d.validator === v1)!.amount;
    expect(onV1()).toBe(STAKE / 2n);
    devnet.slash(v0, 1_000); // 10 % of the source: the redelegated half answers for it at v1
    expect(onV1()).toBe(STAKE / 2n - STAKE / 20n);
    expect(devnet.slashed(me.address)).toBe(STAKE / 10n);
  });

  it('an unbonding entry is slashed by the fraction of its initial balance, as SlashUnbondingDelegation does', async () => {
    await restart({});
    const me = await account();
    const v0 = devnet.validators[0]!;
    await me.client.delegateTokens(me.address, v0, { denom: 'uatom', amount: STAKE.toString() }, FEE);
    await me.client.undelegateTokens(me.address, v0, { denom: 'uatom', amount: STAKE.toString() }, FEE);
    devnet.slash(v0, 1_000);
    devnet.slash(v0, 1_000);
    // 10 % of the initial balance twice: 20 %, not 10 % and then 9 %.
    expect(devnet.account(me.address).unbonding[0]!.amount).toBe(STAKE - STAKE / 5n);
  });

  it('complete_unbonding: a block event per matured (delegator, validator) pair with what it paid, found by block_search and read from block_results', async () => {
    // cosmos-sdk x/staking/keeper/val_state_change.go (BlockValidatorUpdates) emits it in EndBlock;
    // cometbft rpc/core/blocks.go (BlockSearch, BlockResults) serves it.
    await restart({});
    const me = await account();
    const [v0, v1] = devnet.validators;
    await me.client.delegateTokens(me.address, v0!, { denom: 'uatom', amount: STAKE.toString() }, FEE);
    await me.client.delegateTokens(me.address, v1!, { denom: 'uatom', amount: STAKE.toString() }, FEE);
    await me.client.undelegateTokens(me.address, v0!, { denom: 'uatom', amount: (STAKE / 4n).toString() }, FEE);
    const last = await me.client.undelegateTokens(me.address, v1!, { denom: 'uatom', amount: STAKE.toString() }, FEE);
    devnet.slash(v1!, 10_000); // the v1 entry loses everything: its completion pays nothing
    const { comet } = await queries();
    const query = `complete_unbonding.delegator='${me.address}'`;
    expect(await comet.blockSearch({ query })).toMatchObject({ totalCount: 0, blocks: [] });
    devnet.advance(devnet.unbondingMs + devnet.blockMs);
    const found = await comet.blockSearch({ query: `${query} AND block.height>${last.height}`, order_by: 'asc' });
    expect(found.totalCount).toBeGreaterThanOrEqual(1);
    const completions: { validator: string | undefined; amount: string | undefined }[] = [];
    for (const { block } of found.blocks) {
      expect(block.header.height).toBeGreaterThan(last.height);
      const results = await comet.blockResults(block.header.height);
      const events = 'finalizeBlockEvents' in results ? results.finalizeBlockEvents : [];
      for (const e of events.filter((x) => x.type === 'complete_unbonding')) completions.push({ validator: attr(e, 'validator'), amount: attr(e, 'amount') });
      // Not a transaction's event: the block's own.
      expect(results.results.flatMap((r) => r.events).some((e) => e.type === 'complete_unbonding')).toBe(false);
    }
    expect(completions.sort((a, b) => (a.validator! < b.validator! ? -1 : 1))).toEqual(
      [
        { validator: v0, amount: `${STAKE / 4n}uatom` },
        { validator: v1, amount: '' },
      ].sort((a, b) => (a.validator! < b.validator! ? -1 : 1)),
    );
    expect((await comet.blockSearch({ query: `complete_unbonding.delegator='${me.address}' AND complete_unbonding.validator='${v0}'` })).totalCount).toBe(1);
    expect((await comet.blockSearch({ query: `complete_unbonding.delegator='cosmos1nobody'` })).totalCount).toBe(0);
  });

  it('a pruning node refuses blocks below its base, and says where it starts', async () => {
    await restart({ retainBlocks: 10 });
    devnet.produceBlocks(30);
    const { comet } = await queries();
    const status = await comet.status();
    expect(status.syncInfo.earliestBlockHeight).toBe(22);
    expect(status.syncInfo.latestBlockHeight).toBe(31);
    expect(String(await rejection(comet.block(5)))).toMatch(/height 5 is not available, lowest height is 22/);
    expect((await comet.block(22)).block.header.height).toBe(22);
  });

  it('with the wall clock, transactions wait for the next block and share it', async () => {
    await devnet.close();
    devnet = await startCosmosDevnet({ clock: 'wall', blockMs: 1_000 });
    const [me, you] = [await account(), await account()];
    const v0 = devnet.validators[0]!;
    const [a, b] = await Promise.all([
      me.client.delegateTokens(me.address, v0, { denom: 'uatom', amount: STAKE.toString() }, FEE),
      you.client.delegateTokens(you.address, v0, { denom: 'uatom', amount: STAKE.toString() }, FEE),
    ]);
    expect(a.height).toBe(b.height);
    expect([a.txIndex, b.txIndex].sort()).toEqual([0, 1]);
  });

  it('a rate-limited listener answers 429 with Retry-After past its budget; the others serve', async () => {
    const refused = devnet.rateLimit(0, { requests: 2, perMs: 60_000 });
    const get = (i: number) => fetch(`${devnet.urls[i]!}/status`);
    expect((await get(0)).status).toBe(200);
    expect((await get(0)).status).toBe(200);
    const limited = await get(0);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect((await get(1)).status).toBe(200);
    expect(refused()).toBe(1);
  });
});
