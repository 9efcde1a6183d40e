import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseDecode, decodeSignedTransaction, KeyPair, Signature, SignedTransaction } from 'near-api-js';
import { afterEach, describe, expect, it } from 'vitest';
import { ChainProtocolError, TxRejectedError } from '../../adapters/errors.js';
import { adapter as near, createNearAdapter, type NearOptions } from '../../adapters/near/adapter.js';
import { NUM_EPOCHS_TO_UNLOCK, ONE_NEAR, startNearDevnet, type NearDevnet, type NearDevnetOptions } from '../../adapters/near/devnet.js';
import type { AdapterConfig, ChainAdapter, RewardEvent } from '../../adapters/types.js';
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
    options: { networkId: devnet.chainId, pools: devnet.pools, epochDurationMs: EPOCH_MS, ...options },
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
  // Signed bytes expire 60 blocks (3 epochs) after their reference block, not a day.
  const f = await fixture({ txValidityBlocks: 60 });
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
      const g = await fixture({ keepBlocks: 2 * EPOCH_LENGTH });
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
    expect(position.unbonding[0]!.completesAt).toBe(position.at + 4 * EPOCH_MS);
    expect(position.unbonding[0]!.completesAt).toBeGreaterThan(receipt.at);

    for (let i = 1; i <= 3; i += 1) {
      f.devnet.nextEpoch();
      const liquid = f.devnet.account(CUSTODY).liquid;
      const result = await claimAndHarvest(adapter, checkpoint);
      checkpoint = result.checkpoint;
      expect(f.devnet.account(CUSTODY).pools[0]!.unstaked).toBe(AMOUNT / 4n);
      expect(f.devnet.account(CUSTODY).liquid).toBe(liquid - sumFees(result.receipts));
    }
    f.devnet.nextEpoch();
    expect(f.devnet.epoch()).toBe(unstakeEpoch + 4);
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

  it('refuses a node serving another network', async () => {
    f = await fixture();
    const error = await f.adapter(undefined, { networkId: 'mainnet' }).position().catch((e: unknown) => e);
    expect(String(error)).toMatch(/serves chain near-devnet, the config expects mainnet/);
  });

  it('a regular node: blocks older than it keeps are gone, so a harvest from an older checkpoint fails where preflight said it would', async () => {
    f = await fixture({ keepBlocks: 2 * EPOCH_LENGTH });
    const adapter = f.adapter();
    await adapter.delegate(f.devnet.pools[0]!, AMOUNT);
    const { checkpoint } = await claimAndHarvest(adapter, null);
    for (let i = 0; i < 3; i += 1) f.devnet.nextEpoch();
    const status = (await (await fetch(f.devnet.urls[0]!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'status', params: [] }) })).json()) as { result: { sync_info: { earliest_block_height: number; latest_block_height: number } } };
    expect(status.result.sync_info.earliest_block_height).toBe(status.result.sync_info.latest_block_height - 2 * EPOCH_LENGTH + 1);
    // near-api-js's GarbageCollectedBlockError, from nearcore's GARBAGE_COLLECTED_BLOCK.
    expect(String(await adapter.harvest(checkpoint).catch((e: unknown) => e))).toMatch(/has been garbage collected/);
    const archival = (await adapter.preflight(checkpoint)).find((c) => c.kind === 'dependency' && c.name === 'archival');
    expect(archival?.status).toBe('failure');
  });
});

function sumFees(receipts: readonly { fee: bigint }[]): bigint {
  return receipts.reduce((sum, r) => sum + r.fee, 0n);
}

function count(methods: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of methods) out[m] = (out[m] ?? 0) + 1;
  return out;
}

