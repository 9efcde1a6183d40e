/**
 * Transaction intents over the NEAR devnet: signed bytes that expire are
 * looked up once more and signed again only when the chain did not include
 * them; an action of several transactions resumes at its next step after a
 * crash and never repeats a confirmed one. The intents live in PostgreSQL,
 * the adapter talks to the devnet through near-api-js.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { KeyPair } from 'near-api-js';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';

import { RetryableError } from '../../src/errors.js';
import { adapter as near } from '../../adapters/near/adapter.js';
import { ONE_NEAR, startNearDevnet, type NearDevnet } from '../../adapters/near/devnet.js';
import type { ChainAdapter, SignedTx, StakeAction } from '../../adapters/types.js';
import { finishActions, listIntents, runAction, type Signing } from '../../src/pipeline/intents.js';
import { withSignerLock } from '../../src/pipeline/signerLock.js';
import { atom, freshDatabase, type TestDatabase } from '../helpers/db.js';

const CUSTODY = 'custody.devnet';
const AMOUNT = 10n * ONE_NEAR;
const quiet = pino({ level: 'silent' });

interface Fixture {
  db: TestDatabase;
  devnet: NearDevnet;
  adapter: ChainAdapter;
  dispose(): Promise<void>;
}

let f: Fixture | undefined;
afterEach(async () => {
  await f?.dispose();
  f = undefined;
});

async function fixture(txValidityBlocks: number): Promise<Fixture> {
  const db = await freshDatabase({ NEAR: atom({ symbol: 'NEAR', decimals: 24 }) });
  const devnet = await startNearDevnet({ epochLength: 20, blockMs: 1000, txValidityBlocks });
  const secret = devnet.createAccount(CUSTODY, 100n * ONE_NEAR);
  const dir = await mkdtemp(join(tmpdir(), 'softstake-intents-'));
  const keyFile = join(dir, 'custody.json');
  const publicKey = KeyPair.fromString(secret as `ed25519:${string}`).getPublicKey().toString();
  await writeFile(keyFile, JSON.stringify({ account_id: CUSTODY, public_key: publicKey, private_key: secret }), { mode: 0o600 });
  const adapter = near.create({
    name: 'near-intents',
    asset: 'NEAR',
    decimals: 24,
    endpoints: [...devnet.urls],
    signer: { file: keyFile },
    requestTimeoutMs: 300,
    options: { networkId: devnet.chainId, pools: devnet.pools, epochDurationMs: 20_000 },
  });
  return {
    db,
    devnet,
    adapter,
    async dispose() {
      await adapter.close();
      await devnet.close();
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `work` holding the chain's signer lock, as a job does. */
function locked<T>(work: (s: Signing) => Promise<T>): Promise<T> {
  return withSignerLock(f!.db.pool, 'near-intents', (lock) => work({ pool: f!.db.pool, lock, now: Date.now }));
}

function staked(devnet: NearDevnet, pool: string): bigint {
  return devnet.account(CUSTODY).pools.find((p) => p.pool === pool)?.staked ?? 0n;
}

/**
 * The NEAR adapter with `delegate` taken as two transactions (half, then the
 * rest), as TRON takes a freeze and then a vote: the pipeline's handling of
 * multi-transaction actions is under test, the chain is real. `failSign`
 * makes the signing of that step fail once, retryably: a crash between two
 * steps.
 */
function twoStepDelegate(inner: ChainAdapter, failSign: { step?: number }): ChainAdapter {
  const half = (action: Extract<StakeAction, { amount: bigint }>, step: number): StakeAction => ({
    ...action,
    amount: step === 0 ? action.amount / 2n : action.amount - action.amount / 2n,
  });
  return Object.assign(Object.create(inner) as ChainAdapter, {
    steps: (action: StakeAction) => (action.kind === 'delegate' ? 2 : 1),
    sign: async (action: StakeAction, step = 0): Promise<SignedTx> => {
      if (failSign.step === step) {
        delete failSign.step;
        throw new RetryableError('the worker died between two steps');
      }
      return action.kind === 'delegate' ? inner.sign(half(action, step), 0) : inner.sign(action, step);
    },
  });
}

describe('transaction intents', () => {
  it('expired bytes: asked once more, not included, signed again under a new hash; one stake on chain', async () => {
    f = await fixture(30);
    const pool = f.devnet.pools[0]!;
    // The node takes the bytes and loses them: the intent stays signed, its outcome unknown.
    f.devnet.dropNextTx();
    const failed = await locked((s) => runAction(s, f!.adapter, 'expiry-1', { kind: 'delegate', validator: pool, amount: AMOUNT })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((failed as { retryable?: boolean }).retryable).toBe(true);
    const [open] = await listIntents(f.db.pool, 'near-intents');
    expect(open).toMatchObject({ status: 'signed', superseded: [] });
    expect(open!.expires?.height).toBeGreaterThan(0n);
    const stored = await f.db.pool.query<{ tx_bytes: Buffer }>('SELECT tx_bytes FROM tx_intents WHERE id = $1', ['expiry-1']);
    const old: SignedTx = { hash: open!.txHash, bytes: new Uint8Array(stored.rows[0]!.tx_bytes), expires: open!.expires! };
    expect(await f.adapter.status(old)).toEqual({ state: 'pending' });

    // 40 blocks later the reference block is out of the 30-block validity window.
    f.devnet.nextEpoch();
    f.devnet.nextEpoch();
    expect(BigInt(f.devnet.height())).toBeGreaterThan(open!.expires!.height!);
    expect((await locked((s) => finishActions(s, f!.adapter, quiet))).finished).toBe(1);

    const [done] = await listIntents(f.db.pool, 'near-intents');
    expect(done).toMatchObject({ id: 'expiry-1', status: 'confirmed', superseded: [open!.txHash] });
    expect(done!.txHash).not.toBe(open!.txHash);
    // One deposit, not two (the pool's share price rounds a yoctoNEAR away).
    expect(AMOUNT - staked(f.devnet, pool)).toBeLessThanOrEqual(1n);
    // The old bytes can never land now, and the chain says so.
    expect(await f.adapter.status(old)).toEqual({ state: 'expired' });
    await expect(f.adapter.broadcast(old)).rejects.toMatchObject({ code: 'expired', included: false });
  });

  it('bytes that landed before their expiry passed are found, not signed again', async () => {
    f = await fixture(30);
    const pool = f.devnet.pools[0]!;
    f.devnet.dropNextTx();
    await locked((s) => runAction(s, f!.adapter, 'landed-1', { kind: 'delegate', validator: pool, amount: AMOUNT })).catch(() => undefined);
    const [open] = await listIntents(f.db.pool, 'near-intents');
    // The same bytes arrive (another node had them) before they expire.
    const signed = await f.db.pool.query<{ tx_bytes: Buffer }>('SELECT tx_bytes FROM tx_intents WHERE id = $1', ['landed-1']);
    await f.adapter.broadcast({ hash: open!.txHash, bytes: new Uint8Array(signed.rows[0]!.tx_bytes) });
    f.devnet.nextEpoch();
    f.devnet.nextEpoch();
    await locked((s) => finishActions(s, f!.adapter, quiet));
    const [done] = await listIntents(f.db.pool, 'near-intents');
    expect(done).toMatchObject({ status: 'confirmed', txHash: open!.txHash, superseded: [] });
    expect(staked(f.devnet, pool)).toBe(AMOUNT);
  });

  it('an action of two transactions resumes at the second after a crash between them, and never repeats the first', async () => {
    f = await fixture(86_400);
    const pool = f.devnet.pools[1]!;
    const crash: { step?: number } = { step: 1 };
    const adapter = twoStepDelegate(f.adapter, crash);
    const error = await locked((s) => runAction(s, adapter, 'two-step', { kind: 'delegate', validator: pool, amount: AMOUNT })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RetryableError);
    expect(staked(f.devnet, pool)).toBe(AMOUNT / 2n);
    expect((await listIntents(f.db.pool, 'near-intents')).map((i) => [i.step, i.status])).toEqual([[0, 'confirmed']]);

    // The next job finishes unfinished actions first.
    expect((await locked((s) => finishActions(s, adapter, quiet))).finished).toBe(1);
    const intents = await listIntents(f.db.pool, 'near-intents');
    expect(intents.map((i) => [i.actionId, i.step, i.steps, i.status]).sort()).toEqual([
      ['two-step', 0, 2, 'confirmed'],
      ['two-step', 1, 2, 'confirmed'],
    ]);
    expect(staked(f.devnet, pool)).toBe(AMOUNT);
    // Run again (a retried job): nothing new is signed.
    const again = await locked((s) => runAction(s, adapter, 'two-step', { kind: 'delegate', validator: pool, amount: AMOUNT }));
    expect(again.status).toBe('already');
    expect((await locked((s) => finishActions(s, adapter, quiet))).finished).toBe(0);
    expect(staked(f.devnet, pool)).toBe(AMOUNT);
  });
});
