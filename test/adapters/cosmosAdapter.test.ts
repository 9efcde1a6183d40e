/**
 * The Cosmos adapter: its pure parts (wire amounts, event extraction,
 * checkpoints, options), then the conformance suite and Cosmos-specific
 * behaviour against the Cosmos devnet, through unmodified cosmjs over HTTP.
 */
import { Registry } from '@cosmjs/proto-signing';
import { defaultRegistryTypes } from '@cosmjs/stargate';
import { MsgWithdrawDelegatorReward } from 'cosmjs-types/cosmos/distribution/v1beta1/tx';
import { MsgBeginRedelegate, MsgCancelUnbondingDelegation, MsgDelegate, MsgUndelegate } from 'cosmjs-types/cosmos/staking/v1beta1/tx';
import { AuthInfo, TxBody, TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Secp256k1, sha256 } from '@cosmjs/crypto';
import { toBech32 } from '@cosmjs/encoding';
import { DirectSecp256k1HdWallet, makeSignBytes } from '@cosmjs/proto-signing';
import { GasPrice, QueryClient, setupDistributionExtension, SigningStargateClient } from '@cosmjs/stargate';
import { connectComet } from '@cosmjs/tendermint-rpc';
import { afterEach, describe, expect, it } from 'vitest';
import { adapter as cosmos, type CosmosChainAdapter, type CosmosOptions } from '../../adapters/cosmos/adapter.js';
import { createFundedAccount, startCosmosDevnet, type CosmosDevnet, type CosmosDevnetOptions } from '../../adapters/cosmos/devnet.js';
import { ChainProtocolError, TxRejectedError } from '../../adapters/errors.js';
import type { AdapterConfig } from '../../adapters/types.js';
import { until } from '../helpers/wait.js';
import { claimAndHarvest, describeAdapterConformance, moduleKeys, stakeOf, sumOf, type ConformanceHarness } from './conformance.js';
import { AmountFormatError, coinAmount, decAtomics, decToBps, timestampMs, truncateDec } from '../../adapters/cosmos/amounts.js';
import { formatCheckpoint, parseCheckpoint } from '../../adapters/cosmos/checkpoint.js';
import { cancelledUnbondings, feeOf, payoutEvents, principalChanges, type IndexedTxLike } from '../../adapters/cosmos/events.js';
import { resolveCosmosOptions } from '../../adapters/cosmos/options.js';
import { feeFor, formatPrice, requiredGasPrice } from '../../adapters/cosmos/fees.js';

const ME = 'cosmos1custody';
const OTHER = 'cosmos1someoneelse';
const VAL_A = 'cosmosvaloper1alpha';
const VAL_B = 'cosmosvaloper1beta';
const IBC = 'ibc/27394FB092D2ECCD56123C74F36E4C1F926001CEADA9CA97EA622B25F41E5EB2';

function withdrawEvent(attributes: Record<string, string>): IndexedTxLike['events'][number] {
  return { type: 'withdraw_rewards', attributes: Object.entries(attributes).map(([key, value]) => ({ key, value })) };
}

const registry = new Registry(defaultRegistryTypes);

function txBytes(messages: { typeUrl: string; value: unknown }[], fee: { denom: string; amount: string }[] = [{ denom: 'uatom', amount: '5000' }]): Uint8Array {
  const body = TxBody.encode(TxBody.fromPartial({ messages: messages.map((m) => registry.encodeAsAny(m)) })).finish();
  const authInfo = AuthInfo.encode(AuthInfo.fromPartial({ fee: { amount: fee, gasLimit: 200_000n } })).finish();
  return TxRaw.encode(TxRaw.fromPartial({ bodyBytes: body, authInfoBytes: authInfo, signatures: [new Uint8Array(64)] })).finish();
}

function indexedTx(overrides: Partial<IndexedTxLike>): IndexedTxLike {
  return { hash: 'AB12', height: 7n, index: 0, code: 0, events: [], tx: txBytes([]), ...overrides };
}

describe('cosmos amounts', () => {
  it('DecCoin rewards are truncated to whole base units, never rounded', () => {
    expect(truncateDec('5000000000000000000000')).toBe(5000n); // 5000 uatom, the protobuf atomics form
    expect(truncateDec('1999999999999999999')).toBe(1n); // 1.999… uatom
    expect(truncateDec('999999999999999999')).toBe(0n);
    expect(truncateDec('0')).toBe(0n);
    expect(truncateDec('12.999999999999999999')).toBe(12n); // the human form
    expect(truncateDec('123456789012345678901234567890123456789.5')).toBe(123456789012345678901234567890123456789n);
    expect(decAtomics('0.5')).toBe(500_000_000_000_000_000n);
    for (const bad of ['', '-1', '1e21', '1.0000000000000000001', ' 1', '01']) expect(() => truncateDec(bad)).toThrow(AmountFormatError);
  });

  it('commission rates become basis points, truncated', () => {
    expect(decToBps('50000000000000000')).toBe(500); // 0.05
    expect(decToBps('0.07')).toBe(700);
    expect(decToBps('1000000000000000000')).toBe(10_000);
    expect(decToBps('123456789012345')).toBe(1); // 0.000123… → 1.23 bps → 1
    expect(() => decToBps('1000000000000000001')).toThrow(AmountFormatError);
  });

  it('coin lists: only the staking denom counts; empty is nothing', () => {
    expect(coinAmount('123uatom', 'uatom')).toBe(123n);
    expect(coinAmount(`5${IBC},123uatom`, 'uatom')).toBe(123n);
    expect(coinAmount(`5${IBC}`, 'uatom')).toBe(0n);
    expect(coinAmount('', 'uatom')).toBe(0n);
    expect(coinAmount('1uatom,2uatom', 'uatom')).toBe(3n);
    expect(coinAmount('340282366920938463463374607431768211456uatom', 'uatom')).toBe(2n ** 128n);
    for (const bad of ['uatom', '1.5uatom', '-1uatom', '12', '1u']) expect(() => coinAmount(bad, 'uatom')).toThrow(AmountFormatError);
  });

  it('timestamps: seconds and nanos to whole milliseconds', () => {
    expect(timestampMs({ seconds: 1_700_000_000n, nanos: 999_999_999 })).toBe(1_700_000_000_999);
    expect(() => timestampMs({ seconds: -1n, nanos: 0 })).toThrow(AmountFormatError);
  });
});

describe('cosmos events', () => {
  it('collects the custody account’s withdraw_rewards payouts with deterministic ids', () => {
    const tx = indexedTx({
      hash: 'FEED',
      events: [
        { type: 'message', attributes: [{ key: 'sender', value: ME }] },
        withdrawEvent({ amount: '10uatom', validator: VAL_A, delegator: ME, msg_index: '0' }),
        withdrawEvent({ amount: `3${IBC},20uatom`, validator: VAL_B, delegator: ME, msg_index: '1' }),
        withdrawEvent({ amount: '7uatom', validator: VAL_B, delegator: OTHER, msg_index: '1' }),
        withdrawEvent({ amount: '', validator: VAL_A, delegator: ME, msg_index: '2' }),
        withdrawEvent({ amount: '30uatom', validator: VAL_B, delegator: ME, msg_index: '1' }),
        withdrawEvent({ amount: '1uatom', validator: VAL_A }), // older SDK: no delegator, no msg_index
      ],
    });
    expect(payoutEvents(tx, ME, 'uatom')).toEqual([
      { id: 'FEED:0:0', amount: 10n, validator: VAL_A, height: 7n },
      { id: 'FEED:1:0', amount: 20n, validator: VAL_B, height: 7n },
      // the ordinal counts the other delegator's event too: ids never depend on the filter
      { id: 'FEED:1:2', amount: 30n, validator: VAL_B, height: 7n },
      { id: 'FEED:0:1', amount: 1n, validator: VAL_A, height: 7n },
    ]);
  });

  it('a failed transaction pays nothing and moves no principal', () => {
    const tx = indexedTx({
      code: 5,
      events: [withdrawEvent({ amount: '10uatom', validator: VAL_A, delegator: ME, msg_index: '0' })],
      tx: txBytes([{ typeUrl: MsgDelegate.typeUrl, value: MsgDelegate.fromPartial({ delegatorAddress: ME, validatorAddress: VAL_A, amount: { denom: 'uatom', amount: '5' } }) }]),
    });
    expect(payoutEvents(tx, ME, 'uatom')).toEqual([]);
    expect(principalChanges(tx, ME, 'uatom').size).toBe(0);
  });

  it('principal moves come from the signed messages; the fee from AuthInfo', () => {
    const tx = indexedTx({
      tx: txBytes(
        [
          { typeUrl: MsgDelegate.typeUrl, value: MsgDelegate.fromPartial({ delegatorAddress: ME, validatorAddress: VAL_A, amount: { denom: 'uatom', amount: '1000' } }) },
          { typeUrl: MsgUndelegate.typeUrl, value: MsgUndelegate.fromPartial({ delegatorAddress: ME, validatorAddress: VAL_A, amount: { denom: 'uatom', amount: '300' } }) },
          {
            typeUrl: MsgBeginRedelegate.typeUrl,
            value: MsgBeginRedelegate.fromPartial({ delegatorAddress: ME, validatorSrcAddress: VAL_A, validatorDstAddress: VAL_B, amount: { denom: 'uatom', amount: '200' } }),
          },
          { typeUrl: MsgWithdrawDelegatorReward.typeUrl, value: MsgWithdrawDelegatorReward.fromPartial({ delegatorAddress: ME, validatorAddress: VAL_A }) },
        ],
        [
          { denom: 'uatom', amount: '4321' },
          { denom: IBC, amount: '9' },
        ],
      ),
    });
    expect(principalChanges(tx, ME, 'uatom')).toEqual(
      new Map([
        [VAL_A, 500n],
        [VAL_B, 200n],
      ]),
    );
    expect(feeOf(tx.tx, 'uatom')).toBe(4321n);
  });

  it('a cancelled unbonding names its entry by creation height, so a completion is not expected to pay it', () => {
    const cancel = (delegatorAddress: string, amount: string) => ({
      typeUrl: MsgCancelUnbondingDelegation.typeUrl,
      value: MsgCancelUnbondingDelegation.fromPartial({ delegatorAddress, validatorAddress: VAL_A, creationHeight: 12n, amount: { denom: 'uatom', amount } }),
    });
    const tx = indexedTx({ tx: txBytes([cancel(ME, '400'), cancel(OTHER, '50')]) });
    expect(cancelledUnbondings(tx, ME, 'uatom')).toEqual([{ validator: VAL_A, creationHeight: 12n, amount: 400n }]);
    expect(principalChanges(tx, ME, 'uatom')).toEqual(new Map([[VAL_A, 400n]]));
    expect(cancelledUnbondings({ ...tx, code: 5 }, ME, 'uatom')).toEqual([]);
  });
});

describe('cosmos gas prices', () => {
  it('reads the price an insufficient-fee refusal asks for: x/feemarket names it, x/auth names the fee', () => {
    const market = 'error checking fee: got: 10000uatom required: 40000uatom, minGasPrice: 0.100000000000000000uatom, gas: 1234: insufficient fee';
    expect(requiredGasPrice(market, 400_000n, 'uatom')).toBe(10n ** 17n);
    expect(requiredGasPrice('insufficient fees; got: 100uatom required: 10001uatom: insufficient fee', 400_000n, 'uatom')).toBe(25_002_500_000_000_000n);
    expect(requiredGasPrice('insufficient fees; got: 100uatom required: 7ibc/ABC: insufficient fee', 400_000n, 'uatom')).toBeUndefined();
    expect(formatPrice(25_000_000_000_000_000n)).toBe('0.025');
    expect(formatPrice(2n * 10n ** 18n)).toBe('2');
    expect(feeFor(200_001, 25_000_000_000_000_000n, 'uatom')).toEqual({ amount: [{ denom: 'uatom', amount: '5001' }], gas: '200001' });
  });
});

describe('cosmos checkpoint', () => {
  it('null starts at genesis with nothing staked; a checkpoint round-trips deterministically', () => {
    expect(parseCheckpoint(null)).toEqual({ height: 0n, principal: new Map(), rates: new Map(), unbonding: new Map() });
    const full = formatCheckpoint({ height: 7n, principal: new Map([[VAL_A, 3n]]), rates: new Map([[VAL_A, { tokens: 95n, shares: 100n * 10n ** 18n }]]), unbonding: new Map([[`${VAL_A}/5/1000`, 2n]]) });
    expect(parseCheckpoint(full)).toEqual({ height: 7n, principal: new Map([[VAL_A, 3n]]), rates: new Map([[VAL_A, { tokens: 95n, shares: 100n * 10n ** 18n }]]), unbonding: new Map([[`${VAL_A}/5/1000`, 2n]]) });
    const withInitial = { height: 8n, principal: new Map([[VAL_A, 3n]]), rates: undefined, unbonding: new Map([[`${VAL_A}/5/1000`, 2n]]), initial: new Map([[`${VAL_A}/5/1000`, 40n]]) };
    expect(parseCheckpoint(formatCheckpoint(withInitial))).toEqual(withInitial);
    const text = formatCheckpoint({ height: 42n, principal: new Map([[VAL_B, 5n], [VAL_A, 7n], ['cosmosvaloper1gone', 0n]]) });
    expect(text).toBe(`{"height":"42","principal":{"${VAL_A}":"7","${VAL_B}":"5"}}`);
    expect(parseCheckpoint(text)).toEqual({ height: 42n, principal: new Map([[VAL_A, 7n], [VAL_B, 5n]]) });
    expect(parseCheckpoint('{"height":"9"}')).toEqual({ height: 9n, principal: undefined });
    for (const bad of ['9', '{"height":9}', '{"height":"-1"}', '{"height":"1","extra":1}', 'nope']) expect(() => parseCheckpoint(bad)).toThrow();
  });
});

describe('cosmos options', () => {
  it('strict, with documented defaults; the gas price must be in the staking denom', () => {
    expect(cosmos.kind).toBe('cosmos');
    expect(cosmos.optionsSchema.safeParse({ chainId: 'cosmoshub-4' }).success).toBe(true);
    expect(cosmos.optionsSchema.safeParse({}).success).toBe(false);
    expect(cosmos.optionsSchema.safeParse({ chainId: 'x', chainid: 'x' }).success).toBe(false);
    expect(cosmos.optionsSchema.safeParse({ chainId: 'x', gasPrice: '0.025uosmo' }).success).toBe(false);
    expect(cosmos.optionsSchema.safeParse({ chainId: 'x', denom: 'uosmo', gasPrice: '0.025uosmo' }).success).toBe(true);
    expect(cosmos.optionsSchema.safeParse({ chainId: 'x', hdPath: 'not/a/path' }).success).toBe(false);
    expect(cosmos.optionsSchema.safeParse({ chainId: 'x', gasLimits: { delegate: 1.5 } }).success).toBe(false);
    const resolved = resolveCosmosOptions({ chainId: 'cosmoshub-4' });
    expect(resolved).toMatchObject({ prefix: 'cosmos', denom: 'uatom', hdPath: "m/44'/118'/0'/0/0", gasAdjustment: 1.4, detectSlashing: true });
    expect(resolved.gasPrice.toString()).toBe('0.025uatom');
  });
});

// ---- Against the Cosmos devnet. ----

const FUNDS = 100_000_000_000n; // 100 000 ATOM
const AMOUNT = 1_000_000_000n; // 1 000 ATOM
const HOUR = 3_600_000;
/** The conformance devnet's unbonding time: 10 minutes (120 blocks) rather than 21 days. */
const UNBONDING_MS = 600_000;

/** A devnet, a funded custody mnemonic in a signer file, and adapters built for it; all closed by `dispose`. */
interface Fixture {
  devnet: CosmosDevnet;
  address: string;
  mnemonic: string;
  keyFile: string;
  config(endpoints?: readonly string[], options?: Partial<CosmosOptions>, requestTimeoutMs?: number): AdapterConfig<CosmosOptions>;
  adapter(endpoints?: readonly string[], options?: Partial<CosmosOptions>, requestTimeoutMs?: number): CosmosChainAdapter;
  /** The custody address configured, the signer file missing. */
  readOnlyAdapter(): CosmosChainAdapter;
  dispose(): Promise<void>;
}

async function fixture(options: CosmosDevnetOptions = {}): Promise<Fixture> {
  const devnet = await startCosmosDevnet(options);
  const { mnemonic, address } = await createFundedAccount(devnet, FUNDS);
  const dir = await mkdtemp(join(tmpdir(), 'softstake-cosmos-'));
  const keyFile = join(dir, 'custody.mnemonic');
  await writeFile(keyFile, `${mnemonic}\n`, { mode: 0o600 });
  const built: CosmosChainAdapter[] = [];
  const config = (endpoints: readonly string[] = devnet.urls, adapterOptions: Partial<CosmosOptions> = {}, requestTimeoutMs = 300): AdapterConfig<CosmosOptions> => ({
    name: 'cosmos-devnet',
    asset: 'ATOM',
    decimals: 6,
    endpoints: [...endpoints],
    signer: { file: keyFile },
    requestTimeoutMs,
    options: { chainId: devnet.chainId, inclusionTimeoutMs: 500, pollIntervalMs: 20, ...adapterOptions },
  });
  return {
    devnet,
    address,
    mnemonic,
    keyFile,
    config,
    adapter(endpoints, adapterOptions, requestTimeoutMs) {
      const a = cosmos.create(config(endpoints, adapterOptions, requestTimeoutMs));
      built.push(a);
      return a;
    },
    readOnlyAdapter() {
      const a = cosmos.create({ ...config(), signer: { file: join(dir, 'no-such-key') }, address });
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

describeAdapterConformance('cosmos', async () => {
  const f = await fixture({ unbondingMs: UNBONDING_MS });
  const harness: ConformanceHarness = {
    devnet: f.devnet,
    custody: f.address,
    slash: (validator, bps) => f.devnet.slash(validator, bps),
    sendMethod: 'broadcast_tx_sync',
    unlockMs: UNBONDING_MS,
    close: () => f.dispose(),
    createAdapter: (endpoints) => f.adapter(endpoints),
    createReadOnlyAdapter: () => f.readOnlyAdapter(),
    validators: [f.devnet.validators[0]!, ...f.devnet.validators.slice(1)],
    amount: AMOUNT,
    // 10 % inflation on 2M ATOM bonded: about 11 000 uatom an hour on 1 000 ATOM.
    rewardPeriodMs: HOUR,
    unknownValidator: toBech32('cosmosvaloper', new Uint8Array(20).fill(7)),
    frozenClock: true,
    keys: moduleKeys(cosmos, (file) => ({ ...f.config(), signer: { file }, validators: [...f.devnet.validators] })),
    fund: async (address, amount) => f.devnet.fund(address, amount),
    // A node with `[tx_index] indexer = "null"`: the harvest and the broadcast's confirmation need tx_search.
    lacking: async () => {
      const g = await fixture({ unbondingMs: UNBONDING_MS, txIndex: false });
      return { adapter: g.adapter(), dependency: 'tx-index', checkpoint: null, close: () => g.dispose() };
    },
  };
  return harness;
});

/** The error a promise rejects with; fails the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${String(value)}`);
    },
    (error: unknown) => error,
  );
}

/**
 * A JSON-RPC forwarder in front of a devnet endpoint that can run `before`
 * ahead of the next `broadcast_tx_sync` it forwards: another client acting
 * on the account between the adapter's read of its sequence and its
 * broadcast, as happens when two signers share an account.
 */
async function interposer(
  target: string,
): Promise<{ url: string; beforeNextBroadcast(hook: () => Promise<void>): void; broadcasts(): number; close(): Promise<void> }> {
  let hook: (() => Promise<void>) | undefined;
  let broadcasts = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const method = (JSON.parse(body.toString('utf8')) as { method?: string }).method;
        if (method === 'broadcast_tx_sync') broadcasts += 1;
        if (method === 'broadcast_tx_sync' && hook !== undefined) {
          const run = hook;
          hook = undefined;
          await run();
        }
        const forwarded = httpRequest(target, { method: 'POST', headers: { 'content-type': 'application/json' } }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, { 'content-type': 'application/json' });
          answer.pipe(res);
        });
        forwarded.on('error', () => res.destroy());
        forwarded.end(body);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    beforeNextBroadcast(next) {
      hook = next;
    },
    broadcasts: () => broadcasts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('cosmos adapter against the devnet', () => {
  let f: Fixture | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
    await f?.dispose();
    f = undefined;
  });

  it('a transaction signed with the wrong key is rejected, non-retryable, and nothing happens', async () => {
    f = await fixture();
    const adapter = f.adapter();
    const validator = f.devnet.validators[0]!;
    const signed = await adapter.sign({ kind: 'delegate', validator, amount: AMOUNT });

    // The same sign doc, signed by a key that is not the custody account's.
    const raw = TxRaw.decode(signed.bytes);
    const stranger = await Secp256k1.makeKeypair(sha256(new TextEncoder().encode('not the custody key')));
    const account = f.devnet.account(f.address);
    const signDoc = { bodyBytes: raw.bodyBytes, authInfoBytes: raw.authInfoBytes, chainId: f.devnet.chainId, accountNumber: account.accountNumber! };
    const signature = await Secp256k1.createSignature(sha256(makeSignBytes(signDoc)), stranger.privkey);
    const forged = TxRaw.encode({ ...raw, signatures: [Secp256k1.trimRecoveryByte(signature.toFixedLength())] }).finish();
    const forgedHash = Buffer.from(sha256(forged)).toString('hex').toUpperCase();

    const error = await rejection(adapter.broadcast({ hash: forgedHash, bytes: forged }));
    expect(error).toBeInstanceOf(TxRejectedError);
    expect(error).toMatchObject({ code: 4, included: false, retryable: false, fee: 0n });
    expect(f.devnet.account(f.address)).toMatchObject({ sequence: 0n, liquid: FUNDS, delegations: [] });

    // The genuine bytes still land.
    const receipt = await adapter.broadcast(signed);
    expect(stakeOf(await adapter.position(), validator)).toBe(AMOUNT);
    expect(f.devnet.account(f.address).liquid).toBe(FUNDS - AMOUNT - receipt.fee);
  });

  it('stored bytes whose sequence another transaction took are rejected (never included), not retried', async () => {
    f = await fixture();
    const adapter = f.adapter();
    const [v0, v1] = f.devnet.validators;
    const stale = await adapter.sign({ kind: 'delegate', validator: v0!, amount: AMOUNT });
    await adapter.delegate(v1!, AMOUNT); // takes the same sequence
    const error = await rejection(adapter.broadcast(stale));
    expect(error).toBeInstanceOf(TxRejectedError);
    expect(error).toMatchObject({ code: 32, included: false, retryable: false });
    expect(stakeOf(await adapter.position(), v0!)).toBe(0n);
  });

  it('a sequence mismatch in delegate() (another client used the sequence) is re-signed once and succeeds', async () => {
    f = await fixture();
    const proxy = await interposer(f.devnet.urls[0]!);
    cleanups.push(() => proxy.close());
    const adapter = f.adapter([proxy.url], {}, 5_000);
    const [v0, v1] = f.devnet.validators;
    const devnet = f.devnet;

    // A second signer on the same account, through cosmjs's own client, between the adapter's read and its broadcast.
    const wallet = await DirectSecp256k1HdWallet.fromMnemonic(f.mnemonic);
    const other = await SigningStargateClient.connectWithSigner(devnet.urls[1]!, wallet, { gasPrice: GasPrice.fromString(devnet.minGasPrice), broadcastPollIntervalMs: 10 });
    cleanups.push(async () => other.disconnect());
    proxy.beforeNextBroadcast(async () => {
      const result = await other.delegateTokens(f!.address, v1!, { denom: 'uatom', amount: '5000' }, 'auto');
      expect(result.code).toBe(0);
    });

    const before = devnet.account(f.address).sequence;
    const receipt = await adapter.delegate(v0!, AMOUNT);
    const after = devnet.account(f.address);
    expect(after.sequence).toBe(before + 2n);
    expect(proxy.broadcasts()).toBe(2); // the stale signature, then the re-signed one
    const position = await adapter.position();
    expect(stakeOf(position, v0!)).toBe(AMOUNT);
    expect(stakeOf(position, v1!)).toBe(5000n);
    expect(receipt.height).toBeGreaterThan(0n);
  });

  it('a reward paid by a delegation change is reported once across harvests; all harvests sum to what the chain paid', async () => {
    f = await fixture();
    const adapter = f.adapter();
    const [v0, v1] = f.devnet.validators;
    await adapter.delegate(v0!, AMOUNT);
    await adapter.delegate(v1!, AMOUNT);
    f.devnet.advance(HOUR);
    const restake = await adapter.delegate(v0!, AMOUNT); // pays v0's pending rewards
    const paidByRestake = f.devnet.rewardsPaid(f.address);
    expect(paidByRestake).toBeGreaterThan(0n);
    f.devnet.advance(HOUR);

    const first = await claimAndHarvest(adapter, null);
    const fromRestake = first.events.filter((e) => e.id.startsWith(`${restake.hash}:`));
    expect(fromRestake).toHaveLength(1);
    expect(fromRestake[0]).toMatchObject({ amount: paidByRestake, validator: v0, at: restake.at });
    expect(first.receipts).toHaveLength(1); // one withdrawal for both validators
    expect(first.events.filter((e) => e.id.startsWith(`${first.receipts[0]!.hash}:`)).map((e) => e.validator).sort()).toEqual([v0, v1].sort());

    f.devnet.advance(HOUR);
    const unbond = await adapter.undelegate(v1!, AMOUNT / 2n); // pays v1's pending rewards
    const second = await claimAndHarvest(adapter, first.checkpoint);
    expect(second.events.filter((e) => first.events.some((p) => p.id === e.id))).toEqual([]);
    expect(second.events.some((e) => e.id.startsWith(`${unbond.hash}:`))).toBe(true);
    expect(sumOf(first.events) + sumOf(second.events)).toBe(f.devnet.rewardsPaid(f.address));

    const third = await claimAndHarvest(adapter, second.checkpoint);
    expect(third.events).toEqual([]);
    expect(third.receipts).toEqual([]);
  });

  it('a claim whose wait timed out lands from the same bytes; the next harvest reports its payouts once and nothing is due after', async () => {
    f = await fixture({ inclusionDelayMs: 200 });
    const [v0] = f.devnet.validators;
    await f.adapter(undefined, { inclusionTimeoutMs: 5_000 }).delegate(v0!, AMOUNT);
    f.devnet.advance(HOUR);
    const impatient = f.adapter(undefined, { inclusionTimeoutMs: 20 });
    const [due] = await impatient.due(null);
    expect(due?.action).toEqual({ kind: 'claim', validators: [v0] });
    const signed = await impatient.sign(due!.action);
    const error = await rejection(impatient.broadcast(signed));
    expect(error).toMatchObject({ name: 'TxNotIncludedError', retryable: true });
    // The claim lands meanwhile: the devnet's ground truth books its payouts.
    const paid = await until(() => f!.devnet.truth.of(f!.address).paid, 'the claim was included', 5_000, 20);
    expect(await impatient.status(signed)).toMatchObject({ state: 'included' });

    const adapter = f.adapter(undefined, { inclusionTimeoutMs: 5_000 });
    const claim = await adapter.broadcast(signed); // the pipeline's retry: the same bytes, already included
    expect(claim.fee).toBeGreaterThan(0n);
    expect(sumOf(claim.moved.filter((m) => m.kind === 'reward'))).toBe(paid);
    const result = await adapter.harvest(null);
    expect(sumOf(result.events)).toBe(paid);
    expect(result.events.every((e) => e.id.startsWith(`${claim.hash}:`))).toBe(true);
    expect(await adapter.due(result.checkpoint)).toEqual([]);
  });

  it('a slash between harvests is reported once, net of the account’s own stake changes since the checkpoint', async () => {
    f = await fixture();
    const adapter = f.adapter();
    const [v0, v1] = f.devnet.validators;
    await adapter.delegate(v0!, AMOUNT);
    await adapter.delegate(v1!, AMOUNT);
    const first = await adapter.harvest(null);
    expect(first.events.filter((e) => e.amount < 0n)).toEqual([]);

    f.devnet.slash(v0!, 500); // 5 %
    await adapter.delegate(v0!, AMOUNT); // own changes after the slash must not hide or inflate it
    await adapter.undelegate(v1!, AMOUNT / 4n);
    const second = await adapter.harvest(first.checkpoint);
    const slashes = second.events.filter((e) => e.amount < 0n);
    expect(slashes).toHaveLength(1);
    expect(slashes[0]!.id).toMatch(new RegExp(`^slash:${v0}:\\d+$`));
    // Exactly the stake the account's own transactions do not explain: 2 000 ATOM paid in with v0.
    const stakeV0 = stakeOf(await adapter.position(), v0!);
    expect(slashes[0]).toMatchObject({ validator: v0, amount: stakeV0 - 2n * AMOUNT });
    // That is the slash plus at most one unit of share rounding from delegating at the slashed exchange rate,
    // which the chain keeps as well (the devnet's `slashed` counts only the slash itself).
    expect(-slashes[0]!.amount - f.devnet.slashed(f.address)).toBeGreaterThanOrEqual(0n);
    expect(-slashes[0]!.amount - f.devnet.slashed(f.address)).toBeLessThanOrEqual(1n);

    f.devnet.advance(HOUR);
    const third = await adapter.harvest(second.checkpoint);
    expect(third.events.filter((e) => e.amount < 0n)).toEqual([]);
  });

  it('a slash that takes from unbonding entries too is reported once, in full', async () => {
    // Found by the chaos soak: the users' withdrawals leave unbonding entries, which a slash also cuts
    // (cosmos-sdk x/staking/keeper/slash.go SlashUnbondingDelegation); only the bonded part was reported.
    f = await fixture();
    const adapter = f.adapter();
    const [v0] = f.devnet.validators;
    await adapter.delegate(v0!, AMOUNT);
    await adapter.undelegate(v0!, AMOUNT / 4n); // an entry the checkpoint knows
    const first = await adapter.harvest(null);
    expect(first.events.filter((e) => e.amount < 0n)).toEqual([]);

    await adapter.undelegate(v0!, AMOUNT / 4n); // an entry new since the checkpoint
    f.devnet.slash(v0!, 500); // 5 % of the stake and of both entries
    const second = await adapter.harvest(first.checkpoint);
    // One event for the bonded stake and one per unbonding entry cut: together, what the chain took.
    const slashes = second.events.filter((e) => e.amount < 0n);
    expect(slashes.length).toBeGreaterThan(1);
    expect(f.devnet.account(f.address).unbonding.reduce((sum, e) => sum + e.amount, 0n)).toBeLessThan(AMOUNT / 2n);
    expect(-slashes.reduce((sum, e) => sum + e.amount, 0n)).toBe(f.devnet.slashed(f.address));

    f.devnet.advance(HOUR);
    const third = await adapter.harvest(second.checkpoint);
    expect(third.events.filter((e) => e.amount < 0n)).toEqual([]);
  });

  it('pending rewards are truncated per delegation, not rounded', async () => {
    f = await fixture();
    const adapter = f.adapter();
    const [v0] = f.devnet.validators;
    await adapter.delegate(v0!, AMOUNT);
    const comet = await connectComet(f.devnet.urls[0]!);
    const query = QueryClient.withExtensions(comet, setupDistributionExtension);
    cleanups.push(async () => comet.disconnect());
    // Find a moment where the raw DecCoin has a fraction ≥ 0.5, where rounding and truncation differ.
    let raw = '';
    for (let step = 0; step < 200; step += 1) {
      f.devnet.advance(5_000);
      const rewards = await query.distribution.delegationTotalRewards(f.address);
      raw = rewards.rewards.find((r) => r.validatorAddress === v0)?.reward.find((c) => c.denom === 'uatom')?.amount ?? '0';
      if (BigInt(raw) % 10n ** 18n >= 5n * 10n ** 17n) break;
    }
    const fraction = BigInt(raw) % 10n ** 18n;
    expect(fraction).toBeGreaterThanOrEqual(5n * 10n ** 17n);
    expect((await adapter.position()).pendingRewards).toBe(BigInt(raw) / 10n ** 18n);
  });

  it('position() reports validator health: jailed, active, commission in bps', async () => {
    f = await fixture();
    const [v0, v1] = f.devnet.validators;
    const adapter = f.adapter(undefined, { validators: [v1!] });
    await adapter.delegate(v0!, AMOUNT);
    f.devnet.jail(v0!);
    const { validators } = await adapter.position();
    expect(validators).toEqual(
      [
        { validator: v0, jailed: true, active: false, commissionBps: 500 },
        { validator: v1, jailed: false, active: true, commissionBps: 1000 },
      ].sort((a, b) => a.validator!.localeCompare(b.validator!)),
    );
  });

  it('RPC calls per poll and per harvest do not grow with the number of other accounts', async () => {
    f = await fixture();
    const adapter = f.adapter();
    const [v0, v1] = f.devnet.validators;
    await adapter.delegate(v0!, AMOUNT);
    await adapter.delegate(v1!, AMOUNT);
    await adapter.position(); // connected: the status probe is behind us

    const measure = async (): Promise<{ poll: number; harvest: number; idleHarvest: number }> => {
      f!.devnet.advance(HOUR);
      let start = adapter.rpcRequests();
      await adapter.position();
      const poll = adapter.rpcRequests() - start;
      start = adapter.rpcRequests();
      const { checkpoint } = await adapter.harvest(null);
      const harvest = adapter.rpcRequests() - start;
      start = adapter.rpcRequests();
      await adapter.harvest(checkpoint);
      return { poll, harvest, idleHarvest: adapter.rpcRequests() - start };
    };
    const alone = await measure();

    // 20 other delegators, each with its own stake and a payout in the chain's history.
    for (let i = 0; i < 20; i += 1) {
      const other = await createFundedAccount(f.devnet, FUNDS);
      const wallet = await DirectSecp256k1HdWallet.fromMnemonic(other.mnemonic);
      const client = await SigningStargateClient.connectWithSigner(f.devnet.urls[1]!, wallet, { gasPrice: GasPrice.fromString(f.devnet.minGasPrice), broadcastPollIntervalMs: 10 });
      await client.delegateTokens(other.address, i % 2 === 0 ? v0! : v1!, { denom: 'uatom', amount: AMOUNT.toString() }, 'auto');
      await client.withdrawRewards(other.address, i % 2 === 0 ? v0! : v1!, 'auto');
      client.disconnect();
    }
    const crowded = await measure();
    // The withdrawal's inclusion polls may vary by one; nothing else may.
    expect(crowded.poll).toBe(alone.poll);
    expect(Math.abs(crowded.harvest - alone.harvest)).toBeLessThanOrEqual(1);
    expect(crowded.idleHarvest).toBe(alone.idleHarvest);
    console.info(`cosmos RPC calls: position ${crowded.poll}, harvest with a withdrawal ${crowded.harvest}, harvest with nothing new ${crowded.idleHarvest}`);
  });

  it('refuses an endpoint serving another chain', async () => {
    f = await fixture();
    const error = await rejection(f.adapter(undefined, { chainId: 'cosmoshub-4' }).position());
    expect(error).toBeInstanceOf(ChainProtocolError);
    expect((error as Error).message).toMatch(/serves chain softstake-devnet-1, the config expects cosmoshub-4/);
  });

  it('a bad mnemonic is a non-retryable error that does not echo the secret', async () => {
    f = await fixture();
    await writeFile(f.keyFile, 'correct horse battery staple zebra\n');
    const error = await rejection(f.adapter().position());
    expect(error).toBeInstanceOf(ChainProtocolError);
    expect((error as Error).message).not.toMatch(/horse|zebra|staple/);
  });
});

/**
 * The testnet breaks of issue 11, each against a devnet that now behaves as
 * the Hub's nodes do (max_entries with merged entries, a fee market, slashed
 * unbonding and redelegation entries, nodes without a tx index or with
 * pruned blocks, rate-limited endpoints). Each failed on the adapter before.
 */
describe('cosmos adapter against a devnet that behaves like the Hub', () => {
  let f: Fixture | undefined;
  afterEach(async () => {
    await f?.dispose();
    f = undefined;
  });

  it('an undelegation past max_entries is refused with an error that names the limit and when it frees up', async () => {
    f = await fixture({ maxEntries: 3 });
    const adapter = f.adapter(undefined, {}, 2_000);
    const [v0] = f.devnet.validators;
    await adapter.delegate(v0!, AMOUNT);
    for (let i = 0; i < 3; i += 1) await adapter.undelegate(v0!, 1_000n);
    expect(await adapter.limits()).toMatchObject({ maxUnbondingEntries: { count: 3, per: 'target' } });
    const error = await rejection(adapter.undelegate(v0!, 1_000n));
    expect(error).toBeInstanceOf(TxRejectedError);
    expect((error as TxRejectedError).code).toBe('max-entries');
    expect((error as TxRejectedError).log).toMatch(new RegExp(`max_entries = 3.*${v0}|${v0}.*max_entries = 3`));
    expect((error as TxRejectedError).log).toMatch(/3 open unbonding entries/);
    expect((error as TxRejectedError).log).toMatch(/earliest completes at \d{4}-\d\d-\d\dT/);
  });

  it('a fee market whose base price rose: delegate() signs again at the chain price, within maxGasPrice', async () => {
    f = await fixture({ feeMarket: true, minGasPrice: '0.025uatom' });
    const adapter = f.adapter(undefined, {}, 2_000); // the default ceiling: ten times gasPrice (0.025)
    const [v0] = f.devnet.validators;
    f.devnet.setBaseGasPrice('0.1');
    const receipt = await adapter.delegate(v0!, AMOUNT);
    expect(f.devnet.account(f.address).delegations[0]?.amount).toBe(AMOUNT);
    // Paid at least the chain's price: 0.1 per gas of what it signed for.
    expect(receipt.fee).toBeGreaterThan(0n);
    expect(f.devnet.account(f.address).liquid).toBe(FUNDS - AMOUNT - receipt.fee);
  });

  it('a fee market: stored bytes refused for their price are expired, signed again, and land; above the ceiling the error is retryable', async () => {
    f = await fixture({ feeMarket: true, minGasPrice: '0.025uatom' });
    const adapter = f.adapter(undefined, { maxGasPrice: '0.25uatom' }, 2_000);
    const [v0] = f.devnet.validators;
    const signed = await adapter.sign({ kind: 'delegate', validator: v0!, amount: AMOUNT });
    f.devnet.setBaseGasPrice('0.1');
    const refused = await rejection(adapter.broadcast(signed));
    expect(refused).toBeInstanceOf(TxRejectedError);
    expect((refused as TxRejectedError).code).toBe('expired');
    expect((refused as TxRejectedError).retryable).toBe(false);
    expect(await adapter.status(signed)).toEqual({ state: 'expired' });
    const again = await adapter.sign({ kind: 'delegate', validator: v0!, amount: AMOUNT });
    expect((await adapter.broadcast(again)).hash).toBe(again.hash);
    expect(f.devnet.account(f.address).delegations[0]?.amount).toBe(AMOUNT);

    f.devnet.setBaseGasPrice('1');
    const tooDear = await rejection(adapter.delegate(v0!, AMOUNT));
    expect((tooDear as { retryable?: boolean }).retryable).toBe(true);
    expect((tooDear as Error).message).toMatch(/maxGasPrice/);
  });

  it('stake slashed while unbonding is reported as a negative reward, once, and the harvests sum to what the chain slashed', async () => {
    f = await fixture({ unbondingMs: 21 * 24 * HOUR });
    const adapter = f.adapter(undefined, {}, 2_000);
    const [v0] = f.devnet.validators;
    await adapter.delegate(v0!, AMOUNT);
    await adapter.undelegate(v0!, AMOUNT / 2n);
    const first = await adapter.harvest(null);
    f.devnet.slash(v0!, 1_000); // 10 %: of the bonded half and of the unbonding entry
    const second = await adapter.harvest(first.checkpoint);
    const slashed = f.devnet.slashed(f.address);
    expect(slashed).toBeGreaterThan(AMOUNT / 20n); // more than the bonded half's 5 %
    expect(-sumOf(second.events.filter((e) => e.amount < 0n))).toBe(slashed);
    f.devnet.advance(HOUR);
    const third = await adapter.harvest(second.checkpoint);
    expect(third.events.filter((e) => e.amount < 0n)).toEqual([]);
  });

  it('an unbonding entry slashed and completed between two harvests: its completion reports the loss, exactly what the chain slashed', async () => {
    // The gap: the entry is gone from the staking state when the harvest looks, so only its
    // complete_unbonding block event (what it paid) tells what the slash took.
    f = await fixture({ unbondingMs: UNBONDING_MS });
    const adapter = f.adapter(undefined, {}, 2_000);
    const [v0] = f.devnet.validators;
    await adapter.delegate(v0!, AMOUNT);
    await adapter.undelegate(v0!, AMOUNT); // all of it unbonding: the slash takes only from the entry
    const first = await adapter.harvest(null);
    f.devnet.slash(v0!, 1_000); // 10 % of the entry's initial balance
    const slashed = f.devnet.slashed(f.address);
    expect(slashed).toBe(AMOUNT / 10n);
    f.devnet.advance(UNBONDING_MS + 60_000); // the entry matures: paid back, 10 % short
    expect(f.devnet.account(f.address).unbonding).toEqual([]);
    const second = await adapter.harvest(first.checkpoint);
    const losses = second.events.filter((e) => e.amount < 0n);
    expect(losses).toHaveLength(1);
    expect(losses[0]!.id).toMatch(new RegExp(`^slash:${v0}:unbonding-completed:\\d+$`));
    expect(losses[0]).toMatchObject({ validator: v0, amount: -slashed });
    // The soak's invariant: what the harvests reported is what the chain paid less what it slashed.
    const truth = f.devnet.truth.of(f.address);
    expect(sumOf([...first.events, ...second.events])).toBe(truth.paid - truth.slashed);
    // Harvesting the same window again gives the same ids; the next window reports nothing more.
    expect((await adapter.harvest(first.checkpoint)).events.filter((e) => e.amount < 0n)).toEqual(losses);
    f.devnet.advance(HOUR);
    const third = await adapter.harvest(second.checkpoint);
    expect(third.events.filter((e) => e.amount < 0n)).toEqual([]);
  });

  it('an unbonding entry whose slash one harvest saw and whose completion the next saw is reported once', async () => {
    f = await fixture({ unbondingMs: UNBONDING_MS });
    const adapter = f.adapter(undefined, {}, 2_000);
    const [v0, v1] = f.devnet.validators;
    await adapter.delegate(v0!, AMOUNT);
    await adapter.delegate(v1!, AMOUNT);
    await adapter.undelegate(v0!, AMOUNT / 2n);
    await adapter.undelegate(v1!, AMOUNT / 4n); // another validator's entry, unslashed, completing in the same window
    const first = await adapter.harvest(null);
    f.devnet.slash(v0!, 500); // 5 % of the bonded half and of the entry
    const second = await adapter.harvest(first.checkpoint);
    expect(-sumOf(second.events.filter((e) => e.amount < 0n))).toBe(f.devnet.slashed(f.address));
    f.devnet.advance(UNBONDING_MS + 60_000);
    expect(f.devnet.account(f.address).unbonding).toEqual([]);
    const third = await adapter.harvest(second.checkpoint);
    expect(third.events.filter((e) => e.amount < 0n)).toEqual([]);
    const truth = f.devnet.truth.of(f.address);
    expect(sumOf([...first.events, ...second.events, ...third.events])).toBe(truth.paid - truth.slashed);
  });

  it('an entry slashed to nothing completes with an empty amount: the whole entry is reported lost', async () => {
    f = await fixture({ unbondingMs: UNBONDING_MS });
    const adapter = f.adapter(undefined, {}, 2_000);
    const [v0] = f.devnet.validators;
    await adapter.delegate(v0!, AMOUNT);
    await adapter.undelegate(v0!, AMOUNT);
    const first = await adapter.harvest(null);
    f.devnet.slash(v0!, 10_000);
    f.devnet.advance(UNBONDING_MS + 60_000);
    const second = await adapter.harvest(first.checkpoint);
    expect(second.events.filter((e) => e.amount < 0n).map((e) => e.amount)).toEqual([-AMOUNT]);
    expect(f.devnet.slashed(f.address)).toBe(AMOUNT);
  });

  it('entries that complete unslashed cost the harvest one block_search and one block_results per completion block, nothing when none completed', async () => {
    f = await fixture({ unbondingMs: UNBONDING_MS });
    const adapter = f.adapter(undefined, {}, 2_000);
    const [v0] = f.devnet.validators;
    await adapter.delegate(v0!, AMOUNT);
    await adapter.undelegate(v0!, AMOUNT / 2n);
    const first = await adapter.harvest(null);
    f.devnet.advance(HOUR / 60);
    let start = adapter.rpcRequests();
    const idle = await adapter.harvest(first.checkpoint);
    const idleCost = adapter.rpcRequests() - start;
    f.devnet.advance(UNBONDING_MS);
    start = adapter.rpcRequests();
    const completed = await adapter.harvest(idle.checkpoint);
    expect(adapter.rpcRequests() - start).toBe(idleCost + 2);
    expect(completed.events.filter((e) => e.amount < 0n)).toEqual([]);
  });

  it('a redelegation slashed for its source validator’s infraction is reported as a negative reward', async () => {
    f = await fixture({ unbondingMs: 21 * 24 * HOUR });
    const adapter = f.adapter(undefined, {}, 2_000);
    const [v0, v1] = f.devnet.validators;
    await adapter.delegate(v0!, AMOUNT);
    const first = await adapter.harvest(null);
    const wallet = await DirectSecp256k1HdWallet.fromMnemonic(f.mnemonic);
    const client = await SigningStargateClient.connectWithSigner(f.devnet.urls[0]!, wallet, { gasPrice: GasPrice.fromString('0.025uatom'), broadcastPollIntervalMs: 20 });
    const moved = await client.signAndBroadcast(
      f.address,
      [{ typeUrl: MsgBeginRedelegate.typeUrl, value: MsgBeginRedelegate.fromPartial({ delegatorAddress: f.address, validatorSrcAddress: v0!, validatorDstAddress: v1!, amount: { denom: 'uatom', amount: (AMOUNT / 2n).toString() } }) }],
      'auto',
    );
    client.disconnect();
    expect(moved.code).toBe(0);
    f.devnet.slash(v0!, 1_000);
    const second = await adapter.harvest(first.checkpoint);
    const slashes = second.events.filter((e) => e.amount < 0n);
    expect(slashes.map((e) => e.validator).sort()).toEqual([v0, v1].sort());
    expect(-sumOf(slashes)).toBe(f.devnet.slashed(f.address));
  });

  it('share-to-token truncation after a slash never books a phantom slash of 1 uatom', async () => {
    f = await fixture();
    const adapter = f.adapter(undefined, {}, 2_000);
    const [v0] = f.devnet.validators;
    await adapter.delegate(v0!, AMOUNT);
    const first = await adapter.harvest(null);
    f.devnet.slash(v0!, 333); // an exchange rate that is not 1:1
    const second = await adapter.harvest(first.checkpoint);
    expect(-sumOf(second.events.filter((e) => e.amount < 0n))).toBe(f.devnet.slashed(f.address));
    // Delegations at the slashed rate: some of them are worth one unit less than their messages say.
    const stakeBefore = stakeOf(await adapter.position(), v0!);
    let checkpoint = second.checkpoint;
    let truncated = 0n;
    for (const amount of [1_000_003n, 2_000_007n, 3_000_011n, 999_999n, 7n]) {
      const before = stakeOf(await adapter.position(), v0!);
      await adapter.delegate(v0!, amount);
      truncated += before + amount - stakeOf(await adapter.position(), v0!);
      const next = await adapter.harvest(checkpoint);
      expect(next.events.filter((e) => e.amount < 0n)).toEqual([]);
      checkpoint = next.checkpoint;
    }
    expect(truncated).toBeGreaterThan(0n); // the case arose
    expect(stakeOf(await adapter.position(), v0!)).toBeLessThan(stakeBefore + 7_000_027n);
    expect(f.devnet.slashed(f.address)).toBe(-sumOf(second.events.filter((e) => e.amount < 0n)));
  });

  it('a node with its tx indexer off, or pruning blocks, is named in the position /ready reads', async () => {
    f = await fixture({ txIndex: false });
    const blind = await f.adapter(undefined, {}, 2_000).position();
    expect(blind.problems).toHaveLength(2);
    expect(blind.problems![0]).toMatch(/endpoint 1 of 2: the node's tx indexer is off/);
    expect(blind.problems!.join(' ')).not.toMatch(/127\.0\.0\.1/);
    await f.dispose();

    f = await fixture({ retainBlocks: 100 });
    f.devnet.produceBlocks(200);
    const pruned = await f.adapter([f.devnet.urls[0]!], {}, 2_000).position();
    expect(pruned.problems).toHaveLength(1);
    expect(pruned.problems![0]).toMatch(/endpoint 1 of 1: the node keeps blocks only from height 102/);
    expect((await f.adapter([f.devnet.urls[0]!], { minBlockHistoryMs: 0 }, 2_000).position()).problems).toBeUndefined();

    // A payout in a block the nodes pruned: each endpoint is at fault (another might keep it), the error retryable.
    const adapter = f.adapter(undefined, {}, 2_000);
    await adapter.delegate(f.devnet.validators[0]!, AMOUNT);
    f.devnet.advance(HOUR);
    await adapter.delegate(f.devnet.validators[0]!, AMOUNT); // pays the pending rewards
    f.devnet.produceBlocks(200);
    const error = await rejection(adapter.harvest(null));
    expect((error as { retryable?: boolean }).retryable).toBe(true);
    expect((error as Error).message).toMatch(/HTTP 501.*HTTP 501/);
  });

  it('preflight: blocks the harvest needs that a node pruned are a block-history failure naming the node; with a checkpoint past them, ok', async () => {
    const g = await fixture({ retainBlocks: 100 });
    f = g;
    const adapter = g.adapter(undefined, {}, 2_000);
    await adapter.delegate(g.devnet.validators[0]!, AMOUNT);
    const before = (await adapter.preflight(null)).find((c) => c.name === 'block-history');
    expect(before?.status).toBe('ok');
    g.devnet.produceBlocks(200);
    const checks = await adapter.preflight(null);
    const history = checks.find((c) => c.kind === 'dependency' && c.name === 'block-history');
    expect(history?.status).toBe('failure');
    expect(history?.detail).toMatch(/keeps blocks from \d+; the custody's transactions since the checkpoint start at height \d+/);
    // A checkpoint past the custody's last transaction needs nothing pruned.
    const { checkpoint } = await adapter.harvest(null).catch(() => ({ checkpoint: JSON.stringify({ height: String(g.devnet.height()) }) }));
    const later = (await adapter.preflight(checkpoint)).find((c) => c.name === 'block-history');
    expect(later?.status, JSON.stringify(later)).toBe('ok');
  });

  it('a rate-limited endpoint (HTTP 429) is asked after the others for a while, not on every request', async () => {
    f = await fixture();
    const adapter = f.adapter(undefined, {}, 2_000);
    await adapter.delegate(f.devnet.validators[0]!, AMOUNT);
    const refused = f.devnet.rateLimit(0, { requests: 0, perMs: 60_000 });
    const before = adapter.rpcRequests();
    const position = await adapter.position();
    await adapter.harvest(null);
    expect(position.bonded).toBe(AMOUNT);
    expect(adapter.rpcRequests() - before).toBeGreaterThan(8);
    // The first request that met the limiter, and the node check asking each endpoint about itself.
    expect(refused()).toBeLessThanOrEqual(2);
    const seen = refused();
    await adapter.position();
    await adapter.harvest(null);
    expect(refused()).toBe(seen);
  });
});
