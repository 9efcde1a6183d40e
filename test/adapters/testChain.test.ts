import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ChainProtocolError, ChainUnavailableError, TxRejectedError } from '../../adapters/errors.js';
import { EndpointHttpError, fetchJson, withFailover } from '../../adapters/failover.js';
import type { AdapterConfig, ChainAdapter } from '../../adapters/types.js';
import { adapter as testchain, type TestChainOptions } from '../chain/adapter.js';
import { startTestDevnet, TxCode, type TestDevnet, type TestDevnetOptions } from '../chain/devnet.js';
import { addressOf, generateTestKey, publicKeyOf, signTx, type TestKey, type TxBody } from '../chain/keys.js';
import { claimAndHarvest, describeAdapterConformance, settleDue, stakeOf, type ConformanceHarness } from './conformance.js';

const ALPHA = 'testval1alpha';
const BETA = 'testval1beta';
const FUNDS = 100_000_000_000n;

/** A devnet, a funded custody key in a signer file, and adapters built for it; all closed by `dispose`. */
interface Fixture {
  devnet: TestDevnet;
  key: TestKey;
  keyFile: string;
  config(endpoints?: readonly string[], options?: TestChainOptions): AdapterConfig<TestChainOptions>;
  adapter(endpoints?: readonly string[], options?: TestChainOptions): ChainAdapter;
  /** The custody address configured, the signer file missing. */
  readOnlyAdapter(): ChainAdapter;
  dispose(): Promise<void>;
}

async function fixture(options: Partial<TestDevnetOptions> = {}): Promise<Fixture> {
  const devnet = await startTestDevnet({
    validators: [
      { address: ALPHA, rewardBpsPerDay: 10 },
      { address: BETA, rewardBpsPerDay: 25, commissionBps: 700 },
    ],
    ...options,
  });
  const key = generateTestKey();
  devnet.fund(key.address, FUNDS);
  const dir = await mkdtemp(join(tmpdir(), 'softstake-testchain-'));
  const keyFile = join(dir, 'custody.key');
  await writeFile(keyFile, `${key.secretHex}\n`, { mode: 0o600 });
  const adapters: ChainAdapter[] = [];
  const config = (endpoints: readonly string[] = devnet.urls, adapterOptions: TestChainOptions = {}): AdapterConfig<TestChainOptions> => ({
    name: 'testchain-devnet',
    asset: 'TEST',
    decimals: 6,
    endpoints: [...endpoints],
    signer: { file: keyFile },
    requestTimeoutMs: 300,
    options: { chainId: devnet.chainId, inclusionTimeoutMs: 500, pollIntervalMs: 50, ...adapterOptions },
  });
  return {
    devnet,
    key,
    keyFile,
    config,
    adapter(endpoints, adapterOptions) {
      const built = testchain.create(config(endpoints, adapterOptions));
      adapters.push(built);
      return built;
    },
    readOnlyAdapter() {
      const built = testchain.create({ ...config(), signer: { file: join(dir, 'no-such-key') }, address: key.address });
      adapters.push(built);
      return built;
    },
    async dispose() {
      for (const built of adapters) await built.close();
      await devnet.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describeAdapterConformance('testchain', async () => {
  const f = await fixture();
  const harness: ConformanceHarness = {
    devnet: {
      endpoints: f.devnet.urls,
      advance: (ms) => f.devnet.advance(ms),
      setFault: (index, fault) => f.devnet.setFault(index, fault),
      failNextTx: () => f.devnet.failNextTx(),
      dropNextTx: () => f.devnet.dropNextTx(),
      rewardsPaid: () => f.devnet.rewardsPaid(f.key.address),
      slash: (validator, bps) => f.devnet.slash(validator, bps),
      close: () => f.dispose(),
    },
    createAdapter: (endpoints) => f.adapter(endpoints),
    createReadOnlyAdapter: () => f.readOnlyAdapter(),
    validators: [ALPHA, BETA],
    amount: 1_000_000_000n,
    // 0.1 %/day on 10^9 base units: about 41 666 units an hour.
    rewardPeriodMs: 3_600_000,
    unknownValidator: 'testval1nobody',
    frozenClock: true,
  };
  return harness;
});

/** Posts raw tx bytes to the devnet as any client would. */
async function post(devnet: TestDevnet, bytes: Uint8Array): Promise<{ code: number; log: string; included: boolean; pending: boolean; hash: string }> {
  return (await fetchJson(devnet.urls[0]!, '/txs', { body: bytes })) as { code: number; log: string; included: boolean; pending: boolean; hash: string };
}

function body(f: Fixture, overrides: Partial<TxBody> = {}): TxBody {
  return {
    chain: f.devnet.chainId,
    from: f.key.address,
    pubkey: publicKeyOf(f.key.secretHex),
    nonce: 0n,
    fee: f.devnet.fee,
    kind: 'delegate',
    validator: ALPHA,
    amount: 1_000_000n,
    ...overrides,
  };
}

describe('testchain devnet', () => {
  let f: Fixture | undefined;
  afterEach(async () => {
    await f?.dispose();
    f = undefined;
  });

  it('keys: an address is test1 + 20 bytes of sha256(public key), stable for a seed', () => {
    const key = generateTestKey();
    expect(key.address).toMatch(/^test1[0-9a-f]{40}$/);
    expect(addressOf(key.secretHex)).toBe(key.address);
    expect(generateTestKey().address).not.toBe(key.address);
  });

  it('rejects a wrong nonce before inclusion, and includes the right one', async () => {
    f = await fixture();
    const ahead = await post(f.devnet, signTx(body(f, { nonce: 1n }), f.key.secretHex).bytes);
    expect(ahead).toMatchObject({ code: TxCode.WRONG_SEQUENCE, included: false, pending: false });
    expect(ahead.log).toMatch(/expected 0, got 1/);
    expect(f.devnet.account(f.key.address)).toMatchObject({ nonce: 0n, liquid: FUNDS });
    expect(f.devnet.txCount(f.key.address)).toBe(0);

    expect(await post(f.devnet, signTx(body(f), f.key.secretHex).bytes)).toMatchObject({ code: 0, included: true });
    const replayedNonce = await post(f.devnet, signTx(body(f, { amount: 2_000_000n }), f.key.secretHex).bytes);
    expect(replayedNonce).toMatchObject({ code: TxCode.WRONG_SEQUENCE, included: false });
    expect(f.devnet.account(f.key.address).nonce).toBe(1n);
  });

  it('rejects a bad signature, a key that is not the sender, another chain, a low fee, a malleated body', async () => {
    f = await fixture();
    const good = signTx(body(f), f.key.secretHex);
    const wire = JSON.parse(new TextDecoder().decode(good.bytes)) as { body: string; signature: string };
    const signature = Buffer.from(wire.signature, 'base64');
    signature[0] = signature[0]! ^ 0xff;
    const tampered = new TextEncoder().encode(JSON.stringify({ body: wire.body, signature: signature.toString('base64') }));
    expect(await post(f.devnet, tampered)).toMatchObject({ code: TxCode.UNAUTHORIZED, included: false, log: 'signature verification failed' });

    const other = generateTestKey();
    f.devnet.fund(other.address, FUNDS);
    const impostor = signTx(body(f, { pubkey: publicKeyOf(other.secretHex) }), other.secretHex);
    expect(await post(f.devnet, impostor.bytes)).toMatchObject({ code: TxCode.UNAUTHORIZED, included: false });

    expect(await post(f.devnet, signTx(body(f, { chain: 'otherchain-1' }), f.key.secretHex).bytes)).toMatchObject({ code: TxCode.WRONG_CHAIN_ID });
    expect(await post(f.devnet, signTx(body(f, { fee: f.devnet.fee - 1n }), f.key.secretHex).bytes)).toMatchObject({ code: TxCode.INSUFFICIENT_FEE });
    expect(await post(f.devnet, signTx(body(f, { amount: FUNDS }), f.key.secretHex).bytes)).toMatchObject({ code: TxCode.INSUFFICIENT_FUNDS });

    const spaced = Buffer.from(`${Buffer.from(wire.body, 'base64').toString('utf8').replace('{', '{ ')}`).toString('base64');
    const malleated = new TextEncoder().encode(JSON.stringify({ body: spaced, signature: wire.signature }));
    expect(await post(f.devnet, malleated)).toMatchObject({ code: TxCode.TX_DECODE, included: false });

    expect(f.devnet.account(f.key.address)).toMatchObject({ nonce: 0n, liquid: FUNDS });
    expect(await post(f.devnet, good.bytes)).toMatchObject({ code: 0, included: true, hash: good.hash });
  });

  it('pending rewards are truncated to whole units, not rounded, and the fraction is kept', async () => {
    f = await fixture({ blockMs: 1, validators: [{ address: ALPHA, rewardBpsPerDay: 100 }] });
    const adapter = f.adapter();
    await adapter.delegate(ALPHA, 1_000_000n); // earns exactly 10 000 a day
    f.devnet.advance(86_400_000 - 1); // 9 999.99988…
    expect((await adapter.position()).pendingRewards).toBe(9_999n);

    const harvest = await claimAndHarvest(adapter, null);
    expect(harvest.events.map((e) => e.amount)).toEqual([9_999n]);
    expect((await adapter.position()).pendingRewards).toBe(0n);
    f.devnet.advance(1); // the kept 0.99988… and one more millisecond make exactly 1
    expect((await adapter.position()).pendingRewards).toBe(1n);
  });

  it('undelegating more than is staked is included and fails: fee charged, nonce used, stake kept', async () => {
    f = await fixture();
    const adapter = f.adapter();
    await adapter.delegate(ALPHA, 5_000n);
    const before = f.devnet.account(f.key.address);
    const error = await adapter.undelegate(ALPHA, 5_001n).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TxRejectedError);
    expect(error).toMatchObject({ included: true, code: TxCode.INSUFFICIENT_DELEGATION, fee: f.devnet.fee });
    const after = f.devnet.account(f.key.address);
    expect(after.nonce).toBe(before.nonce + 1n);
    expect(after.liquid).toBe(before.liquid - f.devnet.fee);
    expect(after.delegations).toEqual(before.delegations);
    expect(after.unbonding).toEqual([]);
  });

  it('unbonding matures into the liquid balance once chain time passes its completion', async () => {
    f = await fixture({ unbondingMs: 60_000 });
    const adapter = f.adapter();
    await adapter.delegate(ALPHA, 1_000_000n);
    const receipt = await adapter.undelegate(ALPHA, 1_000_000n);
    const unbonding = await adapter.position();
    expect(unbonding.unbonding).toEqual([{ validator: ALPHA, amount: 1_000_000n, completesAt: receipt.at + 60_000 }]);
    expect(stakeOf(unbonding, ALPHA)).toBe(0n);

    f.devnet.advance(59_000);
    expect((await adapter.position()).unbonding).toHaveLength(1);
    f.devnet.advance(1_000);
    const matured = await adapter.position();
    expect(matured.unbonding).toEqual([]);
    expect(matured.liquid).toBe(unbonding.liquid + 1_000_000n);
  });

  it('a jailed validator is reported and stops earning', async () => {
    f = await fixture();
    const adapter = f.adapter();
    await adapter.delegate(BETA, 1_000_000_000n);
    f.devnet.advance(3_600_000);
    f.devnet.jail(BETA);
    const jailed = await adapter.position();
    expect(jailed.validators.find((v) => v.validator === BETA)).toEqual({ validator: BETA, jailed: true, active: false, commissionBps: 700 });
    f.devnet.advance(3_600_000);
    expect((await adapter.position()).pendingRewards).toBe(jailed.pendingRewards);
  });

  it('a dropped transaction stays out of every block until its bytes come again', async () => {
    f = await fixture();
    const signed = signTx(body(f), f.key.secretHex);
    f.devnet.dropNextTx();
    expect(await post(f.devnet, signed.bytes)).toMatchObject({ code: 0, included: false, pending: true, hash: signed.hash });
    f.devnet.advance(60_000);
    const lookup = await fetchJson(f.devnet.urls[1]!, `/txs/${signed.hash}`).catch((e: unknown) => e);
    expect(lookup).toBeInstanceOf(EndpointHttpError);
    expect((lookup as EndpointHttpError).status).toBe(404);
    expect(f.devnet.account(f.key.address).nonce).toBe(0n);

    expect(await post(f.devnet, signed.bytes)).toMatchObject({ code: 0, included: true });
    expect(await post(f.devnet, signed.bytes)).toMatchObject({ code: 0, included: true });
    expect(f.devnet.txCount(f.key.address, 'delegate')).toBe(1);
    expect(await fetchJson(f.devnet.urls[1]!, `/txs/${signed.hash}`)).toMatchObject({ hash: signed.hash, code: 0 });
  });

  it('an events page never splits a height', async () => {
    f = await fixture();
    const adapter = f.adapter();
    await adapter.delegate(ALPHA, 1_000_000_000n);
    await adapter.delegate(BETA, 1_000_000_000n);
    f.devnet.advance(3_600_000);
    const receipts = await settleDue(adapter, null); // one withdraw paying both validators
    const page = (await fetchJson(f.devnet.urls[0]!, `/accounts/${f.key.address}/events?after=0&limit=1`)) as {
      throughHeight: string;
      events: { id: string; height: string }[];
    };
    expect(page.events.map((e) => e.id)).toEqual([`${receipts[0]!.hash}:0`, `${receipts[0]!.hash}:1`]);
    expect(page.throughHeight).toBe(receipts[0]!.height.toString());
  });

  it('wall clock: rewards accrue in real time', async () => {
    f = await fixture({ clock: 'wall', blockMs: 10, validators: [{ address: ALPHA, rewardBpsPerDay: 10_000 }] });
    const adapter = f.adapter();
    await adapter.delegate(ALPHA, 10_000_000_000n); // ≈ 115 740 units a second
    const start = await adapter.position();
    await new Promise((resolve) => setTimeout(resolve, 60));
    const later = await adapter.position();
    expect(later.height).toBeGreaterThan(start.height);
    expect(later.at).toBeGreaterThan(start.at);
    expect(later.pendingRewards).toBeGreaterThan(start.pendingRewards);
  });

  it('a reset connection is an endpoint fault: the adapter fails over', async () => {
    f = await fixture();
    f.devnet.setFault(0, 'reset');
    expect((await f.adapter().position()).liquid).toBe(FUNDS);
    f.devnet.setFault(1, 'reset');
    const error = await f
      .adapter()
      .position()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChainUnavailableError);
    expect((error as ChainUnavailableError).failures.map((x) => x.reason)).toEqual([
      expect.stringMatching(/^network error/),
      expect.stringMatching(/^network error/),
    ]);
  });

  it('close() returns while a request is held open by a timeout fault', async () => {
    f = await fixture({ listeners: 1 });
    f.devnet.setFault(0, 'timeout');
    const held = fetch(`${f.devnet.urls[0]}/status`).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await f.devnet.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await held).toBeInstanceOf(TypeError);
  });
});

describe('testchain adapter', () => {
  let f: Fixture | undefined;
  afterEach(async () => {
    await f?.dispose();
    f = undefined;
  });

  it('is a loadable module: kind, strict options', () => {
    expect(testchain.kind).toBe('testchain');
    expect(testchain.optionsSchema.safeParse({}).success).toBe(true);
    expect(testchain.optionsSchema.safeParse({ chainId: 'x', inclusionTimeoutMs: 100 }).success).toBe(true);
    expect(testchain.optionsSchema.safeParse({ chainid: 'x' }).success).toBe(false);
    expect(testchain.optionsSchema.safeParse({ inclusionTimeoutMs: 1.5 }).success).toBe(false);
  });

  it('loads by path through tsx, as the daemon does', async () => {
    const path = new URL('../chain/adapter.ts', import.meta.url).pathname;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', `const m = await import(${JSON.stringify(path)}); console.log(m.adapter.kind);`],
      { cwd: new URL('../..', import.meta.url).pathname, timeout: 15_000 },
    );
    expect(stdout.trim()).toBe('testchain');
  });

  it('refuses an endpoint serving another chain', async () => {
    f = await fixture();
    const error = await f
      .adapter(undefined, { chainId: 'cosmoshub-4' })
      .position()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChainProtocolError);
    expect((error as Error).message).toMatch(/serves chain testchain-1, the config expects cosmoshub-4/);
  });

  it('a bad key file is a non-retryable error that does not echo the file', async () => {
    f = await fixture();
    await writeFile(f.keyFile, 'correct horse battery staple\n');
    const error = await f
      .adapter()
      .position()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChainProtocolError);
    expect((error as Error).message).not.toMatch(/horse/);
  });

  it('credentials in an endpoint go in a header, never into an error message', async () => {
    f = await fixture();
    const withCredentials = f.devnet.urls.map((url) => url.replace('http://', 'http://operator:hunter2@'));
    const adapter = f.adapter(withCredentials);
    expect((await adapter.position()).liquid).toBe(FUNDS);
    f.devnet.setFault(0, 'http503');
    f.devnet.setFault(1, 'http429');
    const error = await adapter.position().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChainUnavailableError);
    const message = (error as Error).message;
    expect(message).not.toMatch(/hunter2|operator/);
    expect(message).toContain(`${f.devnet.urls[0]}: HTTP 503`);
    expect(message).toContain(`${f.devnet.urls[1]}: HTTP 429`);
  });

  it('a harvest checkpoint above the chain height is refused (the chain was reset)', async () => {
    f = await fixture();
    const error = await f
      .adapter()
      .harvest('999999999')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChainProtocolError);
  });
});

/** A local port nothing listens on (just released), so connecting is refused. */
async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('withFailover', () => {
  it('rethrows a rejection at once, without trying the next endpoint', async () => {
    const tried: string[] = [];
    const rejected = new TxRejectedError('c', 'H', 5, 'insufficient funds', false);
    const error = await withFailover('c', ['http://a', 'http://b'], 1000, async (endpoint) => {
      tried.push(endpoint);
      throw rejected;
    }).catch((e: unknown) => e);
    expect(error).toBe(rejected);
    expect(tried).toEqual(['http://a']);
  });

  it('HTTP 400 stops; 429, 5xx, refused connections and timeouts move on', async () => {
    const tried: string[] = [];
    const error = await withFailover('c', ['http://a', 'http://b'], 1000, async (endpoint) => {
      tried.push(endpoint);
      throw new EndpointHttpError(400, endpoint);
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EndpointHttpError);
    expect(tried).toEqual(['http://a']);

    const dead = `http://127.0.0.1:${await refusedPort()}`;
    const answers = ['http://x', 'http://y', dead, 'http://z', 'http://ok'];
    const result = await withFailover('c', answers, 200, async (endpoint, signal) => {
      if (endpoint === 'http://x') throw new EndpointHttpError(429, endpoint);
      if (endpoint === 'http://y') throw new EndpointHttpError(502, endpoint);
      if (endpoint === dead) return fetchJson(endpoint, '/status', { signal });
      if (endpoint === 'http://z') return new Promise<never>(() => undefined); // ignores its signal
      return 'answered';
    });
    expect(result).toBe('answered');
  });

  it('names every endpoint and its fault when all fail, and is retryable', async () => {
    const port = await refusedPort();
    const error = await withFailover('c', [`http://u:pw@127.0.0.1:${port}/rpc?key=s3cret`, 'http://b'], 100, async (endpoint, signal) => {
      if (endpoint === 'http://b') return new Promise<never>(() => undefined);
      return fetchJson(endpoint, '/status', { signal });
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChainUnavailableError);
    const unavailable = error as ChainUnavailableError;
    expect(unavailable.retryable).toBe(true);
    expect(unavailable.failures).toEqual([
      { endpoint: `http://127.0.0.1:${port}/rpc`, reason: 'network error (ECONNREFUSED)' },
      { endpoint: 'http://b', reason: 'timeout after 100 ms' },
    ]);
    expect(unavailable.message).not.toMatch(/s3cret|pw/);
  });

  it('no endpoints configured is a retryable ChainUnavailableError', async () => {
    const error = await withFailover('c', [], 100, async () => 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChainUnavailableError);
  });
});
