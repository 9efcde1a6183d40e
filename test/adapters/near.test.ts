import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseDecode, decodeSignedTransaction, KeyPair, Signature, SignedTransaction } from 'near-api-js';
import { afterEach, describe, expect, it } from 'vitest';
import { ChainProtocolError, TxRejectedError } from '../../adapters/errors.js';
import { adapter as near, createNearAdapter, type NearOptions } from '../../adapters/near/adapter.js';
import { CALL_GAS, GAS_PRICE, NUM_EPOCHS_TO_UNLOCK, ON_STAKE_CALLBACK_GAS, ONE_NEAR, STAKE_ACTION_GAS, TX_GAS, startNearDevnet, type NearDevnet, type NearDevnetOptions } from '../../adapters/near/devnet.js';
import type { AdapterConfig, ChainAdapter, PreflightCheck, RewardEvent } from '../../adapters/types.js';
import { claimAndHarvest, describeAdapterConformance, moduleKeys, sumOf, unbondingOf, type ConformanceHarness } from './conformance.js';

const EPOCH_LENGTH = 20;
const BLOCK_MS = 1000;
const EPOCH_MS = EPOCH_LENGTH * BLOCK_MS;
const CUSTODY = 'custody.devnet';
const FUNDS = 1_000n * ONE_NEAR;
const AMOUNT = 100n * ONE_NEAR;

interface Fixture {
  devnet: NearDevnet;
  secret: string;
  keyFile: string;
  config(endpoints?: readonly string[], options?: Partial<NearOptions>): AdapterConfig<NearOptions>;
  adapter(endpoints?: readonly string[], options?: Partial<NearOptions>, onRpc?: (method: string) => void): ChainAdapter;
  /** The custody account configured, the signer file missing. */
  readOnlyAdapter(): ChainAdapter;
  dispose(): Promise<void>;
}

async function fixture(options: NearDevnetOptions = {}): Promise<Fixture> {
  const devnet = await startNearDevnet({ epochLength: EPOCH_LENGTH, blockMs: BLOCK_MS, ...options });
  const secret = devnet.createAccount(CUSTODY, FUNDS);
  const dir = await mkdtemp(join(tmpdir(), 'softstake-near-'));
  const keyFile = join(dir, 'custody.json');
  const publicKey = KeyPair.fromString(secret as `ed25519:${string}`).getPublicKey().toString();
  await writeFile(keyFile, JSON.stringify({ account_id: CUSTODY, public_key: publicKey, private_key: secret }), { mode: 0o600 });
  const built: ChainAdapter[] = [];
  const config = (endpoints: readonly string[] = devnet.urls, options: Partial<NearOptions> = {}): AdapterConfig<NearOptions> => ({
    name: 'near-devnet',
    asset: 'NEAR',
    decimals: 24,
    endpoints: [...endpoints],
    signer: { file: keyFile },
    requestTimeoutMs: 300,
    options: { networkId: devnet.chainId, pools: devnet.pools, ...options },
  });
  return {
    devnet,
    secret,
    keyFile,
    config,
    adapter(endpoints, options, onRpc) {
      const a = onRpc === undefined ? near.create(config(endpoints, options)) : createNearAdapter(config(endpoints, options), { onRpc });
      built.push(a);
      return a;
    },
    readOnlyAdapter() {
      const a = near.create({ ...config(), signer: { file: join(dir, 'no-such-key') }, address: CUSTODY });
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

describeAdapterConformance('near', async () => {
  // Signed bytes expire 60 blocks (3 epochs) after their reference block, not a day. The suite's
  // harvest(null) reads the custody's whole history: an archival node (a normal one keeps 5 epochs).
  const f = await fixture({ txValidityBlocks: 60, archival: true });
  const harness: ConformanceHarness = {
    devnet: f.devnet,
    custody: CUSTODY,
    slash: (validator, bps) => f.devnet.slash(validator, bps),
    sendMethod: 'send_tx',
    // Unstaked NEAR unlocks after 4 epochs; one more for the epoch it was unstaked in.
    unlockMs: (Number(NUM_EPOCHS_TO_UNLOCK) + 1) * EPOCH_MS,
    close: () => f.dispose(),
    createAdapter: (endpoints) => f.adapter(endpoints),
    createReadOnlyAdapter: () => f.readOnlyAdapter(),
    validators: [f.devnet.pools[0]!, f.devnet.pools[1]!],
    amount: AMOUNT,
    rewardPeriodMs: EPOCH_MS,
    unknownValidator: 'nosuch.poolv1.near',
    // No address configured: a new key is its implicit account, which a transfer creates.
    keys: moduleKeys(near, (file) => {
      // The pools are the chain block's validators, as in a config file.
      const { pools: _pools, ...options } = f.config().options;
      return { ...f.config(), signer: { file }, validators: [...f.devnet.pools], options };
    }),
    fund: async (address, amount) => f.devnet.fund(address, amount),
    // A regular node keeping 2 epochs, and a checkpoint from before them: the harvest needs an archival node.
    lacking: async () => {
      const g = await fixture({ archival: false, gcEpochs: 2 });
      const from = g.devnet.height();
      for (let i = 0; i < 3; i += 1) g.devnet.nextEpoch();
      return { adapter: g.adapter(), dependency: 'archival', checkpoint: JSON.stringify({ v: 1, height: from, pools: {} }), close: () => g.dispose() };
    },
  };
  return harness;
});

describe('near adapter', () => {
  let f: Fixture | undefined;
  afterEach(async () => {
    await f?.dispose();
    f = undefined;
  });

  it('preflight of a named custody account: the signer file\'s key must be a full-access key of it; a function-call key or a key it does not have is a failure naming the fix', async () => {
    f = await fixture();
    const current = f;
    const keyFileOf = async (name: string, secret: string): Promise<string> => {
      const file = join(tmpdir(), `softstake-near-key-${name}-${process.pid}-${Date.now()}.json`);
      const publicKey = KeyPair.fromString(secret as `ed25519:${string}`).getPublicKey().toString();
      await writeFile(file, JSON.stringify({ account_id: CUSTODY, public_key: publicKey, private_key: secret }), { mode: 0o600 });
      return file;
    };
    const adapterWith = (file: string): ChainAdapter => {
      const a = near.create({ ...current.config(), signer: { file } });
      built.push(a);
      return a;
    };
    const built: ChainAdapter[] = [];
    const files: string[] = [];
    try {
      const accessKey = (checks: PreflightCheck[]) => checks.find((c) => c.kind === 'custody' && c.name === 'access-key');

      const full = accessKey(await f.adapter().preflight(null));
      expect(full).toMatchObject({ status: 'ok' });
      expect(full!.detail).toContain(`full-access key of ${CUSTODY}`);

      // A function-call key for the first pool: preflight fails, and the chain refuses the stake it would sign (a deposit).
      const limited = f.devnet.addKey(CUSTODY, { allowance: ONE_NEAR, receiverId: f.devnet.pools[0]!, methodNames: [] });
      files.push(await keyFileOf('fc', limited));
      const fc = adapterWith(files[0]!);
      const fcCheck = accessKey(await fc.preflight(null));
      expect(fcCheck).toMatchObject({ status: 'failure' });
      expect(fcCheck!.detail).toMatch(new RegExp(`function-call key of ${CUSTODY.replace('.', '\\.')} \\(for ${f.devnet.pools[0]!.replaceAll('.', '\\.')}\\)`));
      expect(fcCheck!.fix).toMatch(/grant-full-access/);
      const refused = await fc.delegate(f.devnet.pools[0]!, AMOUNT).then(() => undefined, (error: unknown) => error);
      expect(refused).toBeInstanceOf(TxRejectedError);
      expect(String((refused as Error).message)).toMatch(/DepositWithFunctionCall/);

      // A key the account does not have: nearcore's "access key … does not exist while viewing".
      files.push(await keyFileOf('stranger', KeyPair.fromRandom('ed25519').toString()));
      const stranger = accessKey(await adapterWith(files[1]!).preflight(null));
      expect(stranger).toMatchObject({ status: 'failure' });
      expect(stranger!.detail).toMatch(/is not an access key of custody\.devnet/);
      expect(stranger!.fix).toMatch(/full-access key/);
    } finally {
      for (const a of built) await a.close();
      for (const file of files) await rm(file, { force: true });
    }
  });

  it('rewards over several epochs, with deposits, unstakes and withdrawals between, equal the devnet\'s accounting to the yoctoNEAR', async () => {
    f = await fixture();
    const adapter = f.adapter();
    const [alpha, beta] = [f.devnet.pools[0]!, f.devnet.pools[1]!];
    const events: RewardEvent[] = [];
    let checkpoint: string | null = null;
    const harvest = async (): Promise<void> => {
      const result = await claimAndHarvest(adapter, checkpoint);
      const seen = new Set(events.map((e) => e.id));
      for (const e of result.events) expect(seen.has(e.id)).toBe(false);
      events.push(...result.events);
      checkpoint = result.checkpoint;
    };

    await adapter.delegate(alpha, 123_456_789_012_345_678_901_234_567n);
    await adapter.delegate(beta, AMOUNT);
    for (let epoch = 0; epoch < 9; epoch += 1) {
      f.devnet.nextEpoch();
      // Stake flows in the middle of epochs, sometimes before the pool's ping, sometimes after a harvest.
      if (epoch === 1) await adapter.delegate(alpha, 7n * ONE_NEAR + 3n);
      if (epoch === 2) await harvest();
      if (epoch === 2) await adapter.undelegate(beta, 33n * ONE_NEAR + 1n);
      if (epoch === 3) await adapter.delegate(beta, 11n * ONE_NEAR);
      if (epoch % 3 === 0) await harvest();
      if (epoch === 5) await adapter.undelegate(alpha, 5n * ONE_NEAR);
    }
    f.devnet.slash(beta, 50);
    await harvest(); // the slash, after the epoch's rewards were measured: counted in the next epoch's event
    f.devnet.nextEpoch();
    await harvest();

    const paid = f.devnet.rewardsPaid(CUSTODY);
    expect(paid).toBeGreaterThan(0n);
    expect(sumOf(events)).toBe(paid);
    // beta's early unstake was withdrawn by a harvest 4 epochs later.
    expect(f.devnet.account(CUSTODY).pools.find((p) => p.pool === beta)!.unstaked).toBe(0n);
    // One event per pool and epoch at most.
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  });

  it('a tx signed by the wrong key and a stale nonce are rejected, non-retryable, before inclusion', async () => {
    f = await fixture();
    const adapter = f.adapter();
    const pool = f.devnet.pools[0]!;

    const signed = await adapter.sign({ kind: 'delegate', validator: pool, amount: AMOUNT });
    const decoded = decodeSignedTransaction(signed.bytes);
    const impostor = KeyPair.fromRandom('ed25519');
    const forged = new SignedTransaction({
      transaction: decoded.transaction,
      signature: new Signature({ keyType: 0, data: impostor.sign(baseDecode(signed.hash)).signature }),
    });
    const wrongKey = await adapter.broadcast({ hash: signed.hash, bytes: forged.encode() }).catch((e: unknown) => e);
    expect(wrongKey).toBeInstanceOf(TxRejectedError);
    expect(wrongKey).toMatchObject({ included: false, retryable: false, code: 'InvalidSignatureError' });

    // Two signatures with the same nonce: the second is stale once the first lands.
    const first = await adapter.sign({ kind: 'delegate', validator: pool, amount: AMOUNT });
    const second = await adapter.sign({ kind: 'delegate', validator: pool, amount: 2n * AMOUNT });
    await adapter.broadcast(first);
    const stale = await adapter.broadcast(second).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(TxRejectedError);
    expect(stale).toMatchObject({ included: false, retryable: false, code: 'InvalidNonceError' });
    expect(f.devnet.account(CUSTODY).pools[0]!.staked).toBe(AMOUNT);

    // A key file whose key the account does not have: signing is refused.
    const other = KeyPair.fromRandom('ed25519').toString();
    await writeFile(f.keyFile, JSON.stringify({ account_id: CUSTODY, private_key: other }));
    const refused = await f.adapter().sign({ kind: 'delegate', validator: pool, amount: AMOUNT }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ChainProtocolError);
    expect((refused as ChainProtocolError).retryable).toBe(false);
    expect(String(refused)).not.toContain(other.slice(8));
  });

  it('unstaked funds are withdrawable only after 4 epochs; then a withdraw_all is due, and its receipt says it unlocked them', async () => {
    f = await fixture();
    const adapter = f.adapter();
    const pool = f.devnet.pools[0]!;
    await adapter.delegate(pool, AMOUNT);
    const receipt = await adapter.undelegate(pool, AMOUNT / 4n);
    const unstakeEpoch = f.devnet.epoch();
    let checkpoint = (await claimAndHarvest(adapter, null)).checkpoint;
    const position = await adapter.position();
    expect(unbondingOf(position, pool)).toBe(AMOUNT / 4n);
    // Anchored to the epoch of the unstake: the start of epoch unstakeEpoch + 4, the same at every poll.
    const unlockAt = position.unbonding[0]!.completesAt;
    expect(unlockAt).toBe(blockTime(f.devnet, f.devnet.chain.epochStartHeight(unstakeEpoch)) + 4 * EPOCH_MS);
    expect(unlockAt).toBeGreaterThan(receipt.at);

    for (let i = 1; i <= 3; i += 1) {
      f.devnet.nextEpoch();
      const liquid = f.devnet.account(CUSTODY).liquid;
      const result = await claimAndHarvest(adapter, checkpoint);
      checkpoint = result.checkpoint;
      expect(f.devnet.account(CUSTODY).pools[0]!.unstaked).toBe(AMOUNT / 4n);
      expect(f.devnet.account(CUSTODY).liquid).toBe(liquid - sumFees(result.receipts));
      expect((await adapter.position()).unbonding[0]!.completesAt).toBe(unlockAt);
    }
    f.devnet.nextEpoch();
    expect(f.devnet.epoch()).toBe(unstakeEpoch + 4);
    expect(blockTime(f.devnet, f.devnet.height())).toBe(unlockAt);
    const available = await adapter.position();
    expect(available.unbonding).toEqual([]);
    expect(available.withdrawable).toBe(AMOUNT / 4n);
    expect(await adapter.due(checkpoint)).toEqual([{ action: { kind: 'withdraw', validator: pool }, amount: AMOUNT / 4n }]);
    const liquid = f.devnet.account(CUSTODY).liquid;
    const result = await claimAndHarvest(adapter, checkpoint);
    expect(f.devnet.account(CUSTODY).pools[0]!.unstaked).toBe(0n);
    expect(f.devnet.account(CUSTODY).liquid).toBe(liquid + AMOUNT / 4n - sumFees(result.receipts));
    expect(result.receipts.flatMap((r) => r.moved)).toEqual([{ kind: 'unlocked', amount: AMOUNT / 4n, validator: pool }]);
    expect(sumOf(result.events)).toBeGreaterThan(0n);
  });

  it('a new unstake re-locks the whole unstaked balance: the unlock moves to the new unstake\'s epoch + 4, and limits() tells the planner', async () => {
    f = await fixture();
    const adapter = f.adapter();
    const pool = f.devnet.pools[0]!;
    await adapter.delegate(pool, AMOUNT);
    await adapter.undelegate(pool, AMOUNT / 4n);
    const first = (await adapter.position()).unbonding[0]!.completesAt;
    f.devnet.nextEpoch();
    f.devnet.nextEpoch();
    await adapter.undelegate(pool, AMOUNT / 4n);
    const position = await adapter.position();
    expect(position.unbonding).toHaveLength(1);
    expect(position.unbonding[0]!.completesAt).toBe(first + 2 * EPOCH_MS);
    expect(position.unbonding[0]!.amount - AMOUNT / 2n).toBeLessThanOrEqual(2n); // share rounding, in the custody's favour
    expect(f.devnet.account(CUSTODY).pools[0]!.availableEpoch).toBe(BigInt(f.devnet.epoch() + 4));
    expect(await adapter.limits()).toMatchObject({ unbondingRestarts: 'target' });
  });

  it('a pool call lands over successive blocks (call, stake action, on_stake_action, refund); the fee is the gas burnt, and 75 Tgas covers the restake', async () => {
    f = await fixture();
    const adapter = f.adapter();
    const pool = f.devnet.pools[0]!;
    const liquid = f.devnet.account(CUSTODY).liquid;
    const receipt = await adapter.delegate(pool, AMOUNT);
    const outcome = (await rpc(f.devnet.urls[0]!, 'tx', { tx_hash: receipt.hash, sender_account_id: CUSTODY, wait_until: 'NONE' })).result as {
      transaction_outcome: { block_hash: string };
      receipts_outcome: { block_hash: string; outcome: { executor_id: string } }[];
    };
    const heights = [outcome.transaction_outcome.block_hash, ...outcome.receipts_outcome.map((r) => r.block_hash)].map((h) => f!.devnet.chain.block(h)!.height);
    expect(heights).toEqual([heights[0], heights[0]! + 1, heights[0]! + 2, heights[0]! + 3, heights[0]! + 4]);
    expect(outcome.receipts_outcome.map((r) => r.outcome.executor_id)).toEqual([pool, pool, pool, CUSTODY]);
    expect(receipt.fee).toBe((TX_GAS + CALL_GAS + STAKE_ACTION_GAS + ON_STAKE_CALLBACK_GAS) * GAS_PRICE);
    expect(f.devnet.account(CUSTODY).liquid).toBe(liquid - AMOUNT - receipt.fee);
    expect((await adapter.limits()).typicalFee).toBe(75_000_000_000_000n * GAS_PRICE);

    // 20 Tgas cannot pay for the call and the 20 Tgas the pool attaches to its callback: it fails on chain and burns it all.
    const short = f.adapter(undefined, { gas: '20000000000000' });
    const before = f.devnet.account(CUSTODY);
    const failed = await short.delegate(pool, AMOUNT).catch((e: unknown) => e);
    expect(failed).toMatchObject({ included: true, retryable: false, fee: TX_GAS * GAS_PRICE + 20_000_000_000_000n * GAS_PRICE });
    expect(f.devnet.account(CUSTODY).pools[0]!.staked).toBe(before.pools[0]!.staked);
    expect(f.devnet.account(CUSTODY).liquid).toBe(before.liquid - (failed as { fee: bigint }).fee);
  });

  it('counts RPC calls per poll and per harvest', async () => {
    f = await fixture();
    const calls: string[] = [];
    const adapter = f.adapter(undefined, undefined, (method) => calls.push(method));
    const pools = f.devnet.pools;
    await adapter.delegate(pools[0]!, AMOUNT);
    await adapter.delegate(pools[1]!, AMOUNT);
    const first = await claimAndHarvest(adapter, null);
    f.devnet.nextEpoch();

    calls.length = 0;
    await adapter.position();
    const poll = calls.length;
    calls.length = 0;
    const steady = await claimAndHarvest(adapter, first.checkpoint);
    const harvest = calls.length;
    const harvestByMethod = count(calls);
    calls.length = 0;
    await adapter.delegate(pools[0]!, AMOUNT);
    const delegate = calls.length;
    f.devnet.nextEpoch();
    calls.length = 0;
    await claimAndHarvest(adapter, steady.checkpoint);
    const afterDelegate = calls.length;
    calls.length = 0;
    await claimAndHarvest(adapter, steady.checkpoint.replace(/"height":\d+/, '"height":1000'));
    const longWalk = calls.length;
    console.log(JSON.stringify({ poll, delegate, harvest, harvestByMethod, afterDelegate, longWalk }));
    expect(poll).toBe(1 + 1 + pools.length + 1);
    expect(harvest).toBeLessThanOrEqual(30);
  });

  it('a stored intent never sent is broadcast, and a stale nonce is still found stale: the node long-polls `tx` for a transaction it has not seen', async () => {
    f = await fixture({ pollingTimeoutMs: 5_000 });
    const adapter = f.adapter();
    const pool = f.devnet.pools[0]!;
    // Signed, stored, never sent: the lookup before the send must not wait for the node's polling timeout.
    const stored = await adapter.sign({ kind: 'delegate', validator: pool, amount: AMOUNT });
    const receipt = await adapter.broadcast(stored);
    expect(receipt.hash).toBe(stored.hash);
    expect(f.devnet.account(CUSTODY).pools[0]!.staked).toBe(AMOUNT);
    expect(await adapter.status(stored)).toMatchObject({ state: 'included' });
    // A second signature with a nonce since taken: refused, and the re-check after InvalidNonce answers at once.
    const first = await adapter.sign({ kind: 'delegate', validator: pool, amount: AMOUNT });
    const stale = await adapter.sign({ kind: 'delegate', validator: pool, amount: 2n * AMOUNT });
    await adapter.broadcast(first);
    const refused = await adapter.broadcast(stale).catch((e: unknown) => e);
    expect(refused).toMatchObject({ included: false, retryable: false, code: 'InvalidNonceError' });
    expect(await adapter.status(stale)).toEqual({ state: 'expired' });
  });

  it('the devnet answers `tx` as nearcore does: NONE at once, any other level after polling', async () => {
    f = await fixture({ pollingTimeoutMs: 300 });
    const unseen = { tx_hash: '11111111111111111111111111111111', sender_account_id: CUSTODY };
    const none = await rpc(f.devnet.urls[0]!, 'tx', { ...unseen, wait_until: 'NONE' });
    expect(none.error).toMatchObject({ name: 'HANDLER_ERROR', cause: { name: 'UNKNOWN_TRANSACTION' } });
    const started = Date.now();
    const polled = await rpc(f.devnet.urls[0]!, 'tx', { ...unseen, wait_until: 'FINAL' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(polled.error).toMatchObject({ name: 'HANDLER_ERROR', cause: { name: 'TIMEOUT_ERROR' } });
    // A transaction included while the request waits is answered when it lands.
    const adapter = f.adapter();
    const signed = await adapter.sign({ kind: 'claim', validators: [f.devnet.pools[0]!] });
    const waiting = rpc(f.devnet.urls[0]!, 'tx', { tx_hash: signed.hash, sender_account_id: CUSTODY, wait_until: 'FINAL' });
    await adapter.broadcast(signed);
    expect((await waiting).result).toMatchObject({ final_execution_status: 'FINAL', transaction: { hash: signed.hash } });
  });

  it('validators: by block only for an epoch\'s last block; position and harvest ask for the epoch, and see a pool leave the set', async () => {
    f = await fixture();
    const adapter = f.adapter();
    const [alpha, beta] = [f.devnet.pools[0]!, f.devnet.pools[1]!];
    await adapter.delegate(alpha, AMOUNT);
    let checkpoint = (await claimAndHarvest(adapter, null)).checkpoint;
    f.devnet.nextEpoch();
    f.devnet.nextEpoch();
    const url = f.devnet.urls[0]!;
    const head = f.devnet.height();
    expect((await rpc(url, 'validators', { block_id: head - 2 })).error).toMatchObject({ cause: { name: 'VALIDATOR_INFO_UNAVAILABLE' } });
    const lastOfEpoch = f.devnet.chain.epochStartHeight(f.devnet.epoch()) - 1;
    expect((await rpc(url, 'validators', { block_id: lastOfEpoch })).result).toMatchObject({ epoch_height: f.devnet.epoch() - 1 });
    expect((await rpc(url, 'validators', [null])).result).toMatchObject({ epoch_height: f.devnet.epoch() });

    // Mid-epoch, after the pool earned: harvest reports the reward.
    const result = await claimAndHarvest(adapter, checkpoint);
    checkpoint = result.checkpoint;
    expect(sumOf(result.events)).toBeGreaterThan(0n);
    expect((await adapter.position()).validators).toEqual([
      { validator: alpha, active: true, jailed: false },
      { validator: beta, active: true, jailed: false },
    ]);

    f.devnet.leaveValidatorSet(alpha);
    f.devnet.nextEpoch();
    expect((await adapter.position()).validators.find((v) => v.validator === alpha)).toEqual({ validator: alpha, active: false, jailed: false });
    expect((await rpc(url, 'validators', [null])).result).toMatchObject({ prev_epoch_kickout: [{ account_id: alpha }] });
    // Out of the set, the pool earns no validator reward (0.1 % of the stake an epoch): only the contract's
    // 3/10 share of the gas its own pings burnt comes in.
    await claimAndHarvest(adapter, checkpoint).then((r) => (checkpoint = r.checkpoint));
    f.devnet.nextEpoch();
    const idle = await claimAndHarvest(adapter, checkpoint);
    const alphaReward = sumOf(idle.events.filter((e) => e.validator === alpha));
    expect(alphaReward).toBeGreaterThanOrEqual(0n);
    expect(alphaReward).toBeLessThan(AMOUNT / 100_000n);
  });

  it('a non-archival node has garbage collected a checkpoint older than 5 epochs: harvest says so, in few requests, and names the way forward', async () => {
    f = await fixture();
    const calls: string[] = [];
    const adapter = f.adapter(undefined, undefined, (method) => calls.push(method));
    await adapter.delegate(f.devnet.pools[0]!, AMOUNT);
    const { checkpoint } = await claimAndHarvest(adapter, null);
    for (let i = 0; i < 6; i += 1) f.devnet.nextEpoch();
    // The node's own words: a collected block's state is GARBAGE_COLLECTED_BLOCK, the block itself UNKNOWN_BLOCK.
    const old = JSON.parse(checkpoint) as { height: number };
    const url = f.devnet.urls[0]!;
    expect((await rpc(url, 'query', { request_type: 'view_account', account_id: CUSTODY, block_id: old.height })).error).toMatchObject({ cause: { name: 'GARBAGE_COLLECTED_BLOCK' } });
    expect((await rpc(url, 'block', { block_id: old.height })).error).toMatchObject({ cause: { name: 'UNKNOWN_BLOCK' } });
    expect((await rpc(url, 'status', [])).result).toMatchObject({ sync_info: { earliest_block_height: f.devnet.chain.epochStartHeight(f.devnet.epoch() - 4) } });
    calls.length = 0;
    const error = await adapter.harvest(checkpoint).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChainProtocolError);
    expect((error as ChainProtocolError).retryable).toBe(false);
    expect(String(error)).toMatch(/garbage collected/);
    expect(String(error)).toMatch(/archival/);
    expect(calls.length).toBeLessThanOrEqual(10);
    // Without a checkpoint it starts at the earliest block the node has, from what the custody held there:
    // the deposit before it is not taken for a reward; the rewards distributed since (by the pings) are.
    const fresh = await claimAndHarvest(adapter, null);
    expect(sumOf(fresh.events)).toBeGreaterThan(0n);
    expect(sumOf(fresh.events)).toBe(f.devnet.rewardsPaid(CUSTODY));
  });

  it('an archival node keeps every block: the same old checkpoint harvests', async () => {
    f = await fixture({ archival: true });
    const adapter = f.adapter();
    await adapter.delegate(f.devnet.pools[0]!, AMOUNT);
    const { checkpoint } = await claimAndHarvest(adapter, null);
    await adapter.delegate(f.devnet.pools[0]!, AMOUNT);
    for (let i = 0; i < 6; i += 1) f.devnet.nextEpoch();
    const result = await claimAndHarvest(adapter, checkpoint);
    expect(sumOf(result.events)).toBe(f.devnet.rewardsPaid(CUSTODY));
  });

  it('endpoints [regular, archival] over one chain: a checkpoint older than the regular node keeps harvests through the archival one, exactly what the devnet paid; the regular node alone names the heights and the fix', async () => {
    // Listener 0 a regular node keeping 2 epochs (nearcore `gc_num_epochs_to_keep`), listener 1 an archival node.
    f = await fixture({ gcEpochs: 2, archivalListeners: [1] });
    const [regular, archival] = f.devnet.urls as [string, string];
    const adapter = f.adapter([regular, archival]);
    await adapter.delegate(f.devnet.pools[0]!, AMOUNT);
    const first = await claimAndHarvest(adapter, null);
    // A transaction after the checkpoint that only the archival node will still have, then 3 epochs of rewards.
    await adapter.delegate(f.devnet.pools[0]!, AMOUNT);
    for (let i = 0; i < 3; i += 1) f.devnet.nextEpoch();
    const old = (JSON.parse(first.checkpoint) as { height: number }).height;
    const earliest = f.devnet.chain.epochStartHeight(f.devnet.epoch() - 1);
    expect(old).toBeLessThan(earliest);
    // The nodes' own words, each as nearcore answers: the regular one has collected the block, the archival one has it.
    const viewOld = { request_type: 'view_account', account_id: CUSTODY, block_id: old };
    expect((await rpc(regular, 'query', viewOld)).error).toMatchObject({ cause: { name: 'GARBAGE_COLLECTED_BLOCK' } });
    expect((await rpc(archival, 'query', viewOld)).result).toMatchObject({ block_height: old });
    expect((await rpc(regular, 'status', [])).result).toMatchObject({ sync_info: { earliest_block_height: earliest } });
    expect((await rpc(archival, 'status', [])).result).toMatchObject({ sync_info: { earliest_block_height: f.devnet.chain.genesisHeight } });

    const result = await claimAndHarvest(adapter, first.checkpoint);
    expect(sumOf(result.events)).toBeGreaterThan(0n);
    expect(sumOf(first.events) + sumOf(result.events)).toBe(f.devnet.rewardsPaid(CUSTODY));

    // Preflight: a warning with an archival endpoint among them, a failure with the regular node alone.
    const archivalCheck = async (endpoints: string[]) => (await f!.adapter(endpoints).preflight(first.checkpoint)).find((c) => c.kind === 'dependency' && c.name === 'archival');
    expect(await archivalCheck([regular, archival])).toMatchObject({ status: 'warning' });
    expect(await archivalCheck([regular])).toMatchObject({ status: 'failure' });

    const error = await f.adapter([regular]).harvest(first.checkpoint).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChainProtocolError);
    expect((error as ChainProtocolError).retryable).toBe(false);
    expect(String(error)).toContain(`from height ${old}, but the endpoints have garbage collected blocks below ${earliest}`);
    expect(String(error)).toMatch(/Add an archival RPC endpoint/);
  });

  it('refuses a node serving another network', async () => {
    f = await fixture();
    const error = await f.adapter(undefined, { networkId: 'mainnet' }).position().catch((e: unknown) => e);
    expect(String(error)).toMatch(/serves chain near-devnet, the config expects mainnet/);
  });

  it('a regular node: preflight says, before the harvest fails, that a checkpoint older than the node keeps needs an archival endpoint', async () => {
    f = await fixture({ archival: false, gcEpochs: 2 });
    const adapter = f.adapter();
    await adapter.delegate(f.devnet.pools[0]!, AMOUNT);
    const { checkpoint } = await claimAndHarvest(adapter, null);
    expect((await adapter.preflight(checkpoint)).find((c) => c.name === 'archival')?.status).toBe('ok');
    for (let i = 0; i < 3; i += 1) f.devnet.nextEpoch();
    const archival = (await adapter.preflight(checkpoint)).find((c) => c.kind === 'dependency' && c.name === 'archival');
    expect(archival?.status).toBe('failure');
    expect(archival?.detail).toMatch(/the harvest reads from height \d+; http:\/\/127\.0\.0\.1:\d+ keeps blocks from \d+/);
    await expect(adapter.harvest(checkpoint)).rejects.toThrow();
  });
});

/** A block's time on the devnet, ms. */
function blockTime(devnet: NearDevnet, height: number): number {
  return devnet.chain.block(height)!.time;
}

/** One JSON-RPC call over HTTP, as any client would make it. */
async function rpc(url: string, method: string, params: unknown): Promise<{ result?: unknown; error?: unknown }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 'dontcare', method, params }) });
  return (await response.json()) as { result?: unknown; error?: unknown };
}

function sumFees(receipts: readonly { fee: bigint }[]): bigint {
  return receipts.reduce((sum, r) => sum + r.fee, 0n);
}

function count(methods: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of methods) out[m] = (out[m] ?? 0) + 1;
  return out;
}

