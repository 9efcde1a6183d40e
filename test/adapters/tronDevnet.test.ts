/**
 * The TRON devnet against unmodified tronweb 6 over real HTTP: what the TRON
 * adapter will see. Every test starts its own devnet (frozen clock: blocks
 * are made only when the test moves time) and its own accounts. Refusals are
 * held to java-tron's codes and words (docs/chains/tron.md §1.4, §3), and a
 * few answers, field for field, to the java-tron documentation's examples.
 */
import http from 'node:http';

import { TronWeb, type Types, utils } from 'tronweb';
import { afterEach, describe, expect, it } from 'vitest';

import { devnet as tronModule, startTronDevnet, type TronDevnet, type TronDevnetOptions } from '../../adapters/tron/devnet.js';
import { until } from '../helpers/wait.js';

// A day of blocks holds the event loop for seconds; when it lets go, the listener's 5 s keep-alive timer
// closes the idle socket just as axios reuses it (ECONNRESET). A node never stalls like that: the tests open
// a connection per request instead. (The kit could raise its listeners' keepAliveTimeout.)
http.globalAgent = new http.Agent({ keepAlive: false });

const DAY = 86_400_000;
const TRX = 1_000_000;

let devnet: TronDevnet | undefined;
afterEach(async () => {
  await devnet?.close();
  devnet = undefined;
});

async function start(options: TronDevnetOptions = {}): Promise<TronDevnet> {
  devnet = await startTronDevnet(options);
  return devnet;
}

interface Wallet {
  tw: TronWeb;
  address: string;
  hex: string;
  privateKey: string;
}

function funded(d: TronDevnet, sun: bigint, url = d.urls[0]!): Wallet {
  const { privateKey, address } = d.createAccount(sun);
  return { tw: new TronWeb({ fullHost: url, privateKey }), address, hex: TronWeb.address.toHex(address).toLowerCase(), privateKey };
}

type Broadcast = Awaited<ReturnType<TronWeb['trx']['sendRawTransaction']>>;

/** Signs (with tronweb's own `trx.sign`) and broadcasts. */
async function send(w: Wallet, build: Promise<Types.Transaction>): Promise<{ reply: Broadcast; signed: Types.SignedTransaction }> {
  const signed = await w.tw.trx.sign(await build);
  return { reply: await w.tw.trx.sendRawTransaction(signed), signed };
}

/** A refusal as a person reads it: the code and the message decoded from hex. */
function refusal(reply: Broadcast): { code: string; message: string } {
  expect(reply.result).toBeUndefined();
  return { code: reply.code, message: Buffer.from(reply.message, 'hex').toString('utf8') };
}

/** Broadcasts and expects acceptance; returns the txid. */
async function accepted(w: Wallet, build: Promise<Types.Transaction>): Promise<string> {
  const { reply, signed } = await send(w, build);
  expect(reply.code, reply.message === undefined ? '' : Buffer.from(reply.message, 'hex').toString()).toBeUndefined();
  expect(reply).toMatchObject({ result: true, txid: signed.txID });
  return signed.txID;
}

async function post(d: TronDevnet, path: string, body: unknown = {}): Promise<Record<string, unknown>> {
  const res = await fetch(`${d.urls[0]}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

/** Info of an included transaction, from the full node. */
async function info(w: Wallet, txid: string): Promise<Record<string, unknown>> {
  return (await w.tw.trx.getUnconfirmedTransactionInfo(txid)) as unknown as Record<string, unknown>;
}

async function balance(w: Wallet): Promise<bigint> {
  return BigInt(((await w.tw.trx.getUnconfirmedAccount(w.address)) as unknown as { balance?: number }).balance ?? 0);
}

/**
 * The reward MortgageService pays `votes` for cycles [from, to), computed
 * here from the blocks the devnet made and the documented rules: per block
 * the producer's `getWitnessPayPerBlock` and every SR's share of
 * `getWitness127PayPerBlock` by votes, less 20% brokerage (Java double
 * truncation), Vi per cycle, one floor per SR over the range.
 */
function expectedReward(d: TronDevnet, interval: number, votesIn: (cycle: number, sr: string) => bigint, votes: Map<string, bigint>, from: number, to: number): bigint {
  const start = d.clock.start;
  const srs = d.witnesses.map((w) => TronWeb.address.toHex(w).toLowerCase());
  const cycleOf = (time: number): number => (time <= start + interval ? 0 : Math.ceil((time - start) / interval) - 1);
  const deltaVi = new Map<string, bigint>();
  for (let cycle = from; cycle < to; cycle += 1) {
    const blocks = d.chain.blocks.filter((b) => b.number >= 1 && cycleOf(b.timestamp) === cycle);
    const voteSum = srs.reduce((sum, sr) => sum + votesIn(cycle, sr), 0n);
    for (const [sr, userVotes] of votes) {
      const vc = votesIn(cycle, sr);
      const standby = Math.trunc(Number(vc) * (128_000_000 / Number(voteSum)));
      const standbyVoters = BigInt(standby - Math.trunc(0.2 * standby));
      const produced = BigInt(blocks.filter((b) => b.witness === sr).length);
      const pool = BigInt(blocks.length) * standbyVoters + produced * BigInt(8_000_000 - Math.trunc(0.2 * 8_000_000));
      deltaVi.set(sr, (deltaVi.get(sr) ?? 0n) + (pool * 10n ** 18n) / vc);
      expect(userVotes).toBeGreaterThan(0n);
    }
  }
  let reward = 0n;
  for (const [sr, userVotes] of votes) reward += ((deltaVi.get(sr) ?? 0n) * userVotes) / 10n ** 18n;
  return reward;
}

describe('TRON devnet through tronweb 6', () => {
  it('freezes, votes, earns per maintenance cycle as MortgageService computes; a claim pays it, a second within 24 h is refused', async () => {
    const interval = 3_600_000;
    const d = await start({ params: { maintenanceTimeInterval: interval } });
    const alice = funded(d, 10_000n * BigInt(TRX));
    const [sr0, sr1] = d.witnesses as [string, string];
    const genesis = new Map(d.chain.blocks.length > 0 ? [...d.chain.state.witnesses.values()].map((w) => [w.address, w.voteCount]) : []);

    await accepted(alice, alice.tw.transactionBuilder.freezeBalanceV2(2000 * TRX, 'BANDWIDTH', alice.address));
    // The vote is validated against the pending freeze (the full node's pending state), in the same block.
    await accepted(alice, alice.tw.transactionBuilder.vote({ [sr0]: 1500, [sr1]: 500 }, alice.address));
    d.produceBlocks(1);
    const account = (await alice.tw.trx.getUnconfirmedAccount(alice.address)) as unknown as { votes: unknown[]; frozenV2: unknown[] };
    expect(account.votes).toEqual([
      { vote_address: TronWeb.address.toHex(sr0).toLowerCase(), vote_count: 1500 },
      { vote_address: TronWeb.address.toHex(sr1).toLowerCase(), vote_count: 500 },
    ]);
    expect(account.frozenV2).toEqual([{ amount: 2000 * TRX }, { type: 'ENERGY' }, { type: 'TRON_POWER' }]);

    // Votes count from the next maintenance: nothing is earned in cycle 0, nor until cycle 1 has ended.
    d.nextMaintenance();
    expect(d.cycle()).toBe(1);
    expect(await alice.tw.trx.getUnconfirmedReward(alice.address)).toBe(0);
    const mine = new Map([
      [TronWeb.address.toHex(sr0).toLowerCase(), 1500n],
      [TronWeb.address.toHex(sr1).toLowerCase(), 500n],
    ]);
    const votesIn = (cycle: number, sr: string): bigint => genesis.get(sr)! + (cycle >= 1 ? (mine.get(sr) ?? 0n) : 0n);
    let previous = 0;
    for (const cycle of [2, 3]) {
      d.nextMaintenance();
      expect(d.cycle()).toBe(cycle);
      const reward = await alice.tw.trx.getUnconfirmedReward(alice.address);
      expect(BigInt(reward)).toBe(expectedReward(d, interval, votesIn, mine, 1, cycle));
      expect(reward).toBeGreaterThan(previous);
      previous = reward;
      // Within a cycle nothing more accrues to a voter.
      d.produceBlocks(100);
      expect(await alice.tw.trx.getUnconfirmedReward(alice.address)).toBe(reward);
    }
    // The solidity node answers the same once its block has caught up with that cycle.
    expect(await alice.tw.trx.getReward(alice.address)).toBe(previous);

    const before = await balance(alice);
    const claim = await accepted(alice, alice.tw.transactionBuilder.withdrawBlockRewards(alice.address));
    d.produceBlocks(1);
    const claimed = await info(alice, claim);
    expect(claimed.withdraw_amount).toBe(previous);
    // Bandwidth came from the 2000 TRX frozen: no fee, so the balance grew by exactly the reward.
    expect(claimed.fee).toBeUndefined();
    expect(await balance(alice)).toBe(before + BigInt(previous));
    expect(d.truth.of(alice.address)).toEqual({ paid: BigInt(previous), slashed: 0n, net: BigInt(previous) });
    expect(await alice.tw.trx.getUnconfirmedReward(alice.address)).toBe(0);

    d.nextMaintenance();
    expect(await alice.tw.trx.getUnconfirmedReward(alice.address)).toBeGreaterThan(0);
    const latest = ((await alice.tw.trx.getUnconfirmedAccount(alice.address)) as unknown as { latest_withdraw_time: number }).latest_withdraw_time;
    expect(latest).toBe(d.chain.blocks.find((b) => b.txids.includes(claim))!.timestamp - 3000);
    const early = await send(alice, alice.tw.transactionBuilder.withdrawBlockRewards(alice.address));
    expect(refusal(early.reply)).toEqual({ code: 'CONTRACT_VALIDATE_ERROR', message: `Contract validate error : The last withdraw time is ${latest}, less than 24 hours` });

    d.advance(DAY);
    const pending = await alice.tw.trx.getUnconfirmedReward(alice.address);
    const second = await accepted(alice, alice.tw.transactionBuilder.withdrawBlockRewards(alice.address));
    d.produceBlocks(1);
    expect((await info(alice, second)).withdraw_amount).toBe(pending);
    expect(d.truth.of(alice.address).paid).toBe(BigInt(previous + pending));
  });

  it('unfreezes with the delay from getUnfreezeDelayDays, scales votes down, pays expired unfreezes, and holds 32 pending at most', async () => {
    // Days of chain time: a block every 30 s keeps them quick (nothing here depends on the block interval).
    const d = await start({ blockMs: 30_000, params: { unfreezeDelayDays: 1 } });
    const bob = funded(d, 1000n * BigInt(TRX));
    const [sr0, sr1] = d.witnesses as [string, string];
    const parameters = await bob.tw.trx.getChainParameters();
    expect(parameters.find((p) => p.key === 'getUnfreezeDelayDays')).toEqual({ key: 'getUnfreezeDelayDays', value: 1 });

    await accepted(bob, bob.tw.transactionBuilder.freezeBalanceV2(100 * TRX, 'BANDWIDTH', bob.address));
    await accepted(bob, bob.tw.transactionBuilder.vote({ [sr0]: 60, [sr1]: 40 }, bob.address));
    d.produceBlocks(1);
    const unfreeze = await accepted(bob, bob.tw.transactionBuilder.unfreezeBalanceV2(50 * TRX, 'BANDWIDTH', bob.address));
    const parentTime = d.time();
    d.produceBlocks(1);
    expect((await info(bob, unfreeze)).withdraw_expire_amount).toBeUndefined();
    const account = (await bob.tw.trx.getUnconfirmedAccount(bob.address)) as unknown as { votes: unknown[]; unfrozenV2: unknown[] };
    // 100 TRX of power for 100 votes became 50: each vote × 50/100, truncated (UnfreezeBalanceV2Actuator.updateVote).
    expect(account.votes).toEqual([
      { vote_address: TronWeb.address.toHex(sr0).toLowerCase(), vote_count: 30 },
      { vote_address: TronWeb.address.toHex(sr1).toLowerCase(), vote_count: 20 },
    ]);
    expect(account.unfrozenV2).toEqual([{ unfreeze_amount: 50 * TRX, unfreeze_expire_time: parentTime + DAY }]);
    expect(await bob.tw.trx.getAvailableUnfreezeCount(bob.address, { confirmed: false })).toEqual({ count: 31 });
    expect(await bob.tw.trx.getCanWithdrawUnfreezeAmount(bob.address, d.time(), { confirmed: false })).toEqual({});

    const early = await send(bob, bob.tw.transactionBuilder.withdrawExpireUnfreeze(bob.address));
    expect(refusal(early.reply)).toEqual({ code: 'CONTRACT_VALIDATE_ERROR', message: 'Contract validate error : no unFreeze balance to withdraw ' });

    d.advance(DAY);
    expect(await bob.tw.trx.getCanWithdrawUnfreezeAmount(bob.address, d.time(), { confirmed: false })).toEqual({ amount: 50 * TRX });
    // Another unfreeze pays the expired one in the same transaction.
    const before = await balance(bob);
    const again = await accepted(bob, bob.tw.transactionBuilder.unfreezeBalanceV2(10 * TRX, 'BANDWIDTH', bob.address));
    d.produceBlocks(1);
    const againInfo = await info(bob, again);
    expect(againInfo.withdraw_expire_amount).toBe(50 * TRX);
    expect(await balance(bob)).toBe(before + 50n * BigInt(TRX) - BigInt((againInfo.fee as number | undefined) ?? 0));

    d.advance(DAY);
    const withdraw = await accepted(bob, bob.tw.transactionBuilder.withdrawExpireUnfreeze(bob.address));
    d.produceBlocks(1);
    expect((await info(bob, withdraw)).withdraw_expire_amount).toBe(10 * TRX);

    // 32 pending unfreezes at most; distinct amounts, so each is a distinct transaction.
    for (let i = 0; i < 32; i += 1) await accepted(bob, bob.tw.transactionBuilder.unfreezeBalanceV2(TRX + i, 'BANDWIDTH', bob.address));
    expect(await bob.tw.trx.getAvailableUnfreezeCount(bob.address, { confirmed: false })).toEqual({});
    const over = await send(bob, bob.tw.transactionBuilder.unfreezeBalanceV2(TRX + 32, 'BANDWIDTH', bob.address));
    expect(refusal(over.reply)).toEqual({ code: 'CONTRACT_VALIDATE_ERROR', message: 'Contract validate error : Invalid unfreeze operation, unfreezing times is over limit' });
    const tooMuch = await send(bob, bob.tw.transactionBuilder.unfreezeBalanceV2(100 * TRX, 'BANDWIDTH', bob.address));
    expect(refusal(tooMuch.reply).message).toMatch(/^Contract validate error : Invalid unfreeze_balance, \[100000000\] is error$/);

    // CancelAllUnfreezeV2: the 32 go back to frozen, reported per resource; the votes stay as they were.
    d.produceBlocks(1);
    const votesBefore = ((await bob.tw.trx.getUnconfirmedAccount(bob.address)) as unknown as { votes: unknown[] }).votes;
    const cancel = await accepted(bob, bob.tw.transactionBuilder.cancelUnfreezeBalanceV2(bob.address));
    d.produceBlocks(1);
    const pendingSum = Array.from({ length: 32 }, (_, i) => TRX + i).reduce((a, b) => a + b, 0);
    expect((await info(bob, cancel)).cancel_unfreezeV2_amount).toEqual([{ key: 'BANDWIDTH', value: pendingSum }, { key: 'ENERGY' }, { key: 'TRON_POWER' }]);
    const after = (await bob.tw.trx.getUnconfirmedAccount(bob.address)) as unknown as { votes: unknown[]; frozenV2: unknown[]; unfrozenV2?: unknown[] };
    expect(after.frozenV2[0]).toEqual({ amount: 40 * TRX });
    expect(after.unfrozenV2).toBeUndefined();
    expect(after.votes).toEqual(votesBefore);
  });

  it("refuses in java-tron's codes and words", async () => {
    const d = await start({ witnesses: 31 });
    const carol = funded(d, 1000n * BigInt(TRX));
    const mallory = funded(d, 1000n * BigInt(TRX));
    const [sr0] = d.witnesses as [string];

    // Signed by a key that is not the owner's.
    const forged = utils.crypto.signTransaction(mallory.privateKey, await carol.tw.transactionBuilder.freezeBalanceV2(10 * TRX, 'BANDWIDTH', carol.address));
    expect(refusal(await carol.tw.trx.sendRawTransaction(forged))).toEqual({
      code: 'SIGERROR',
      message: `Validate signature error: ${forged.txID} is signed by ${mallory.address} but it is not contained of permission.`,
    });

    // Duplicates: pending, then included.
    const freeze = await carol.tw.trx.sign(await carol.tw.transactionBuilder.freezeBalanceV2(100 * TRX, 'BANDWIDTH', carol.address));
    expect(await carol.tw.trx.sendRawTransaction(freeze)).toMatchObject({ result: true });
    expect(refusal(await carol.tw.trx.sendRawTransaction(freeze))).toEqual({ code: 'DUP_TRANSACTION_ERROR', message: 'Dup transaction.' });
    d.produceBlocks(1);
    expect(refusal(await carol.tw.trx.sendRawTransaction(freeze))).toEqual({ code: 'DUP_TRANSACTION_ERROR', message: 'Dup transaction.' });

    // Expired: tronweb gives 60 s from the head block's time.
    const late = await carol.tw.trx.sign(await carol.tw.transactionBuilder.freezeBalanceV2(5 * TRX, 'BANDWIDTH', carol.address));
    d.advance(60_000);
    expect(refusal(await carol.tw.trx.sendRawTransaction(late))).toEqual({ code: 'TRANSACTION_EXPIRATION_ERROR', message: 'Transaction expired' });

    // TaPoS: a reference block the chain does not have.
    const head = await carol.tw.trx.getCurrentRefBlockParams();
    const tapos = await carol.tw.trx.sign(
      await carol.tw.transactionBuilder.freezeBalanceV2(6 * TRX, 'BANDWIDTH', carol.address, { blockHeader: { ...head, ref_block_hash: '00'.repeat(8) } }),
    );
    expect(refusal(await carol.tw.trx.sendRawTransaction(tapos))).toEqual({ code: 'TAPOS_ERROR', message: 'Tapos check error.' });

    // Actuator rules.
    const votes31 = Object.fromEntries(d.witnesses.slice(0, 31).map((w) => [w, 1]));
    expect(refusal((await send(carol, carol.tw.transactionBuilder.vote(votes31, carol.address))).reply)).toEqual({
      code: 'CONTRACT_VALIDATE_ERROR',
      message: 'Contract validate error : VoteNumber more than maxVoteNumber 30',
    });
    expect(refusal((await send(carol, carol.tw.transactionBuilder.vote({ [sr0]: 101 }, carol.address))).reply)).toEqual({
      code: 'CONTRACT_VALIDATE_ERROR',
      message: 'Contract validate error : The total number of votes[101000000] is greater than the tronPower[100000000]',
    });
    expect(refusal((await send(carol, carol.tw.transactionBuilder.vote({ [mallory.address]: 1 }, carol.address))).reply)).toEqual({
      code: 'CONTRACT_VALIDATE_ERROR',
      message: `Contract validate error : Witness[${mallory.hex}] not exists`,
    });
    expect(refusal((await send(carol, carol.tw.transactionBuilder.freezeBalanceV2(TRX - 1, 'BANDWIDTH', carol.address))).reply)).toEqual({
      code: 'CONTRACT_VALIDATE_ERROR',
      message: 'Contract validate error : frozenBalance must be more than 1TRX',
    });
    expect(refusal((await send(carol, carol.tw.transactionBuilder.freezeBalanceV2(5000 * TRX, 'BANDWIDTH', carol.address))).reply)).toEqual({
      code: 'CONTRACT_VALIDATE_ERROR',
      message: 'Contract validate error : frozenBalance must be less than accountBalance',
    });
    expect(refusal((await send(carol, carol.tw.transactionBuilder.withdrawBlockRewards(carol.address))).reply)).toEqual({
      code: 'CONTRACT_VALIDATE_ERROR',
      message: 'Contract validate error : witnessAccount does not have any reward',
    });

    // An owner the chain does not know: bandwidth is charged before the actuator, so BandwidthProcessor's words.
    const ghostKey = utils.accounts.generateAccount().privateKey;
    const ghost: Wallet = { tw: new TronWeb({ fullHost: d.urls[0]!, privateKey: ghostKey }), privateKey: ghostKey, address: TronWeb.address.fromPrivateKey(ghostKey) as string, hex: '' };
    expect(refusal((await send(ghost, ghost.tw.transactionBuilder.freezeBalanceV2(2 * TRX, 'BANDWIDTH', ghost.address))).reply)).toEqual({
      code: 'CONTRACT_VALIDATE_ERROR',
      message: `Contract validate error : account [${ghost.address}] does not exist`,
    });

    // Bandwidth: the free 600 bytes a day, then burnt at 1000 sun a byte, then BANDWITH_ERROR (the protocol's spelling).
    const poor = funded(d, 1_300_000n);
    const first = await accepted(poor, poor.tw.transactionBuilder.freezeBalanceV2(TRX, 'BANDWIDTH', poor.address));
    d.produceBlocks(1);
    expect((await info(poor, first)).receipt).toEqual({ net_usage: expect.any(Number) as number });
    await accepted(poor, poor.tw.transactionBuilder.vote({ [sr0]: 1 }, poor.address));
    d.produceBlocks(1);
    const burnt = await accepted(poor, poor.tw.transactionBuilder.vote({ [sr0]: 1 }, poor.address));
    d.produceBlocks(1);
    const burntInfo = await info(poor, burnt);
    expect(burntInfo.fee).toBeGreaterThan(0);
    expect(burntInfo.receipt).toEqual({ net_fee: burntInfo.fee });
    expect(await balance(poor)).toBe(300_000n - BigInt(burntInfo.fee as number));
    expect(refusal((await send(poor, poor.tw.transactionBuilder.vote({ [sr0]: 1 }, poor.address))).reply)).toEqual({
      code: 'BANDWITH_ERROR',
      message: 'Account resource insufficient error.',
    });
  });

  it('pays nothing to the voters of an SR while it is below the top 127 (standby) SRs', async () => {
    const d = await start({ witnesses: 130, witnessVotes: (i) => 1_000_000_000n - BigInt(i) * 1_000_000n, params: { maintenanceTimeInterval: 600_000 } });
    const sr = d.witnesses[100]!;
    const grace = funded(d, 1000n * BigInt(TRX));
    await accepted(grace, grace.tw.transactionBuilder.freezeBalanceV2(100 * TRX, 'BANDWIDTH', grace.address));
    await accepted(grace, grace.tw.transactionBuilder.vote({ [sr]: 100 }, grace.address));
    d.produceBlocks(1);
    d.nextMaintenance();
    d.nextMaintenance();
    const reward = async (): Promise<number> => grace.tw.trx.getUnconfirmedReward(grace.address);
    const inCycle1 = await reward();
    expect(inCycle1).toBeGreaterThan(0);
    // Its other votes go at the next maintenance: cycle 2 still pays, cycle 3 (100 votes, rank 130) does not.
    d.setWitnessVotes(sr, 0n);
    d.nextMaintenance();
    const throughCycle2 = await reward();
    expect(throughCycle2).toBeGreaterThan(inCycle1);
    d.nextMaintenance();
    expect(await reward()).toBe(throughCycle2);
    const listed = (await grace.tw.trx.listSuperRepresentatives()).find((w) => w.address === TronWeb.address.toHex(sr).toLowerCase());
    expect(listed).toMatchObject({ voteCount: 100 });
    // Back in the top 127 from the next cycle: cycle 4 pays nothing yet, cycle 5 does.
    d.setWitnessVotes(sr, 900_000_000n);
    d.nextMaintenance();
    expect(await reward()).toBe(throughCycle2);
    d.nextMaintenance();
    expect(await reward()).toBeGreaterThan(throughCycle2);
  });

  it('answers walletsolidity/* from the block 70% of the SRs have built on, 18 behind the head with 27 SRs', async () => {
    const d = await start();
    d.produceBlocks(40);
    expect(d.solidHeight()).toBe(d.height() - 18);
    const dave = funded(d, 100n * BigInt(TRX));
    const txid = await accepted(dave, dave.tw.transactionBuilder.freezeBalanceV2(10 * TRX, 'BANDWIDTH', dave.address));
    // The full node shows the pending freeze at once; the block has not been made.
    expect(await balance(dave)).toBe(90n * BigInt(TRX));
    expect(await dave.tw.trx.getUnconfirmedTransactionInfo(txid)).toEqual({});
    d.produceBlocks(1);
    expect(await dave.tw.trx.getUnconfirmedTransactionInfo(txid)).toMatchObject({ id: txid });
    expect(await dave.tw.trx.getTransactionInfo(txid)).toEqual({});
    await expect(dave.tw.trx.getConfirmedTransaction(txid)).rejects.toThrow('Transaction not found');
    expect(((await dave.tw.trx.getAccount(dave.address)) as unknown as { balance?: number }).balance).toBeUndefined();
    d.produceBlocks(17);
    expect(await dave.tw.trx.getTransactionInfo(txid)).toEqual({});
    d.produceBlocks(1);
    expect(await dave.tw.trx.getTransactionInfo(txid)).toMatchObject({ id: txid });
    expect(await dave.tw.trx.getConfirmedTransaction(txid)).toMatchObject({ txID: txid, ret: [{ contractRet: 'SUCCESS' }] });
    expect(((await dave.tw.trx.getAccount(dave.address)) as unknown as { balance: number }).balance).toBe(90 * TRX);
    const confirmed = await dave.tw.trx.getConfirmedCurrentBlock();
    expect(confirmed.block_header.raw_data.number).toBe(d.solidHeight());
  });

  it('takes faults from the kit: a dropped broadcast, a lost answer, a 503, a transaction left out of its block', async () => {
    const d = await start();
    const erin = funded(d, 1000n * BigInt(TRX));

    d.dropNextTx();
    const dropped = await erin.tw.trx.sign(await erin.tw.transactionBuilder.freezeBalanceV2(10 * TRX, 'BANDWIDTH', erin.address));
    expect(await erin.tw.trx.sendRawTransaction(dropped)).toMatchObject({ result: true });
    d.produceBlocks(2);
    expect(await erin.tw.trx.getUnconfirmedTransactionInfo(dropped.txID)).toEqual({});
    expect(await balance(erin)).toBe(1000n * BigInt(TRX));
    // The same signed transaction, sent again before it expires, lands.
    expect(await erin.tw.trx.sendRawTransaction(dropped)).toMatchObject({ result: true });
    d.produceBlocks(1);
    expect(await erin.tw.trx.getUnconfirmedTransactionInfo(dropped.txID)).toMatchObject({ id: dropped.txID });

    d.loseNextResponse();
    const lost = await erin.tw.trx.sign(await erin.tw.transactionBuilder.freezeBalanceV2(11 * TRX, 'BANDWIDTH', erin.address));
    await expect(erin.tw.trx.sendRawTransaction(lost)).rejects.toThrow();
    d.produceBlocks(1);
    expect(await erin.tw.trx.getUnconfirmedTransactionInfo(lost.txID)).toMatchObject({ id: lost.txID });

    d.faults.inject({ target: 'POST /wallet/broadcasttransaction' }, 'http503', 1);
    const busy = await erin.tw.trx.sign(await erin.tw.transactionBuilder.freezeBalanceV2(12 * TRX, 'BANDWIDTH', erin.address));
    await expect(erin.tw.trx.sendRawTransaction(busy)).rejects.toThrow(/503/);
    expect(await erin.tw.trx.sendRawTransaction(busy)).toMatchObject({ result: true });

    d.failNextTx();
    const leftOut = await erin.tw.trx.sign(await erin.tw.transactionBuilder.freezeBalanceV2(13 * TRX, 'BANDWIDTH', erin.address));
    expect(await erin.tw.trx.sendRawTransaction(leftOut)).toMatchObject({ result: true });
    d.produceBlocks(1);
    expect(await erin.tw.trx.getUnconfirmedTransactionInfo(busy.txID)).toMatchObject({ id: busy.txID });
    expect(await erin.tw.trx.getUnconfirmedTransactionInfo(leftOut.txID)).toEqual({});
    d.advance(60_000);
    expect(refusal(await erin.tw.trx.sendRawTransaction(leftOut))).toEqual({ code: 'TRANSACTION_EXPIRATION_ERROR', message: 'Transaction expired' });
    expect(((await erin.tw.trx.getUnconfirmedAccount(erin.address)) as unknown as { frozenV2: unknown[] }).frozenV2[0]).toEqual({ amount: 33 * TRX });
  });
});

/** Field names and JSON types of a java-tron documentation example, held against the devnet's answer. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? [] : [shape(value[0])];
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]));
  if (typeof value === 'string') return /^41[0-9a-f]{40}$/.test(value) ? 'hex address' : /^[0-9a-f]+$/.test(value) ? 'hex' : 'string';
  return typeof value;
}

describe('TRON devnet answers, field for field against the java-tron docs (documentation-en docs/api/http)', () => {
  it('getblock, getaccount, getaccountresource, gettransactioninfobyid, broadcasttransaction, getReward, getchainparameters', async () => {
    const d = await start();
    const frank = funded(d, 1000n * BigInt(TRX));

    // block-and-tx-query/getblock.md, detail=false: no `transactions`.
    expect(shape(await post(d, '/wallet/getblock', { detail: false }))).toEqual(
      shape({
        blockID: '0000000003fe262d52bfa4b2814f816fd2e57af5b98a33d60d8630a03a908e0e',
        block_header: {
          raw_data: {
            number: 66987565,
            txTrieRoot: 'faf8fe3858339ead25cc892461c82a59b84dca4a51c45b026676bf3f45a352a2',
            witness_address: '41b2f713d57dbcec679d93a8849fa0cd0e4db594ba',
            parentHash: '0000000003fe262c85cd6b02033f4c3e5c1efa35de256a17bd906dc61fb1aeed',
            version: 34,
            timestamp: 1777445121000,
          },
          witness_signature: '5b3cf6cb15d52947989f7726f4907a144b39ccd667a1a0f98707b40cdfe65b96173ddf34ae8dcc5e78f136e0cf903a15c7128984aa2191f02333209d1879d3f900',
        },
      }),
    );

    // broadcasttransaction: success carries no `code`; a refusal no `result`, its message hex.
    const freeze = await frank.tw.trx.sign(await frank.tw.transactionBuilder.freezeBalanceV2(100 * TRX, 'BANDWIDTH', frank.address));
    expect(await post(d, '/wallet/broadcasttransaction', freeze)).toEqual({ result: true, txid: freeze.txID });
    const dup = await post(d, '/wallet/broadcasttransaction', freeze);
    expect(dup).toEqual({ code: 'DUP_TRANSACTION_ERROR', txid: freeze.txID, message: Buffer.from('Dup transaction.').toString('hex') });
    d.produceBlocks(1);

    // block-and-tx-query/gettransactioninfobyid.md: a system contract has no contract_address, log or result.
    const txInfo = await post(d, '/wallet/gettransactioninfobyid', { value: freeze.txID });
    expect(Object.keys(txInfo)).toEqual(['id', 'blockNumber', 'blockTimeStamp', 'contractResult', 'receipt']);
    expect(shape(txInfo)).toEqual(shape({ id: freeze.txID, blockNumber: 66985120, blockTimeStamp: 1777437762000, contractResult: [''], receipt: { net_usage: 268 } }));
    expect(txInfo.contractResult).toEqual(['']);

    // account/getaccount.md: the example's fields and types, less those of TRC-10 assets and energy (`assetV2`,
    // `free_asset_net_usageV2`, `asset_optimized`, `account_resource`), which this account has none of.
    const docAccount = {
      address: '41dd791d6b49e190062d650e6a23c575510d35f2f9',
      balance: 1793227200,
      create_time: 1776933207000,
      latest_opration_time: 1777444809000,
      free_net_usage: 441,
      latest_consume_free_time: 1777431471000,
      net_window_size: 28800000,
      net_window_optimized: true,
      owner_permission: { permission_name: 'owner', threshold: 1, keys: [{ address: '41dd791d6b49e190062d650e6a23c575510d35f2f9', weight: 1 }] },
      active_permission: [
        {
          type: 'Active',
          id: 2,
          permission_name: 'active',
          threshold: 1,
          operations: '7fff1fc0033efb0f000000000000000000000000000000000000000000000000',
          keys: [{ address: '41dd791d6b49e190062d650e6a23c575510d35f2f9', weight: 1 }],
        },
      ],
      frozenV2: [{}, { type: 'ENERGY' }, { type: 'TRON_POWER' }],
    };
    const acct = await post(d, '/wallet/getaccount', { address: frank.hex });
    const { frozenV2, ...rest } = acct;
    const { frozenV2: docFrozen, ...docRest } = docAccount;
    expect(shape(rest)).toEqual(shape(docRest));
    expect(frozenV2).toEqual([{ amount: 100 * TRX }, docFrozen[1], docFrozen[2]]);
    expect(await post(d, '/wallet/getaccount', { address: `41${'00'.repeat(20)}` })).toEqual({});
    expect(shape(await post(d, '/wallet/getaccount', { address: frank.address, visible: true }))).toMatchObject({ address: 'string' });

    // account/getaccountresource.md (its example account froze nothing; NetLimit is the doc's field for staked bandwidth)
    const resource = await post(d, '/wallet/getaccountresource', { address: frank.hex });
    expect(shape(resource)).toEqual(
      shape({ freeNetUsed: 441, freeNetLimit: 600, NetLimit: 166, TotalNetLimit: 43200000000, TotalNetWeight: 68305209098, tronPowerLimit: 100, TotalEnergyLimit: 180000000000 }),
    );
    // NetLimit = (long) (100 TRX × 43.2e9 / TotalNetWeight) (BandwidthProcessor.calculateGlobalNetLimit)
    expect(resource).toMatchObject({ freeNetLimit: 600, NetLimit: Math.trunc(100 * (43_200_000_000 / 26_000_000_100)), tronPowerLimit: 100, TotalNetWeight: 26_000_000_100 });

    // GetRewardServlet / GetBrokerageServlet: always the key, 0 for an unknown address; brokerage in percent.
    expect(await post(d, '/wallet/getReward', { address: frank.hex })).toEqual({ reward: 0 });
    expect(await post(d, '/walletsolidity/getReward', { address: 'nonsense' })).toEqual({ reward: 0 });
    expect(await post(d, '/wallet/getBrokerage', { address: TronWeb.address.toHex(d.witnesses[0]!).toLowerCase() })).toEqual({ brokerage: 20 });

    // network-information/getchainparameters.md: an ordered list of {key, value}; a 0 has no value.
    const params = (await post(d, '/wallet/getchainparameters')).chainParameter as { key: string; value?: number }[];
    expect(params[0]).toEqual({ key: 'getMaintenanceTimeInterval', value: 21_600_000 });
    expect(params.find((p) => p.key === 'getAllowNewResourceModel')).toEqual({ key: 'getAllowNewResourceModel' });
    expect(params.find((p) => p.key === 'getTransactionFee')).toEqual({ key: 'getTransactionFee', value: 1000 });

    // GET works as POST does (tronweb GETs getnowblock, listwitnesses, getnextmaintenancetime).
    const witnesses = (await (await fetch(`${d.urls[1]}/wallet/listwitnesses`)).json()) as { witnesses: Record<string, unknown>[] };
    expect(witnesses.witnesses).toHaveLength(27);
    expect(shape(witnesses.witnesses.find((w) => w.isJobs === true && (w.totalProduced as number) > 0))).toEqual(
      shape({ address: '41b2f713d57dbcec679d93a8849fa0cd0e4db594ba', voteCount: 1, url: 'https://x', totalProduced: 1, latestBlockNum: 1, latestSlotNum: 1, isJobs: true }),
    );
    expect(await (await fetch(`${d.urls[0]}/wallet/getnextmaintenancetime`)).json()).toEqual({ num: d.clock.start + 21_600_000 });
  });
});

describe('softstake devnet: the TRON module', () => {
  it('starts on the wall clock, funds an account whose hex key tronweb signs with, and makes blocks as time passes', async () => {
    const local = await tronModule.start({ speedup: 3600 });
    try {
      expect(local.validators).toHaveLength(2);
      const funded = await local.createFundedAccount(50n * BigInt(TRX), 'custody');
      expect(funded.secret).toMatch(/^[0-9a-f]{64}$/);
      const tw = new TronWeb({ fullHost: local.endpoints[0]!, privateKey: funded.secret });
      expect(tw.defaultAddress.base58).toBe(funded.address);
      const first = (await tw.trx.getCurrentBlock()).block_header.raw_data.number;
      await until(async () => (await tw.trx.getCurrentBlock()).block_header.raw_data.number > first, 'a new block');
      const signed = await tw.trx.sign(await tw.transactionBuilder.freezeBalanceV2(10 * TRX, 'BANDWIDTH', funded.address));
      expect(await tw.trx.sendRawTransaction(signed)).toMatchObject({ result: true });
      await until(async () => Object.keys(await tw.trx.getUnconfirmedTransactionInfo(signed.txID)).length > 0, 'the freeze in a block', 10_000, 100);
    } finally {
      await local.close();
    }
  });
});
