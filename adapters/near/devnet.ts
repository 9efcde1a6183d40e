/**
 * A local NEAR chain for the NEAR adapter: NEAR JSON-RPC 2.0 over HTTP on
 * 127.0.0.1, several listeners sharing one chain (for failover tests), with
 * staking-pool contracts that pay epoch rewards as a rising share price.
 * near-api-js talks to it unmodified; the devnet decodes the borsh
 * SignedTransaction with near-api-js's own codec and verifies it as nearcore
 * would (see devnet/chain.ts). Tests move time with {@link NearDevnet.nextEpoch}
 * or `advance(ms)` and inject faults per listener or per method.
 *
 * The clock, block production, mempool faults, listeners and the ground
 * truth come from the devnet kit (adapters/devnet/); this file and devnet/
 * hold NEAR's rules and codecs.
 *
 * Also `softstake devnet`'s NEAR chain: {@link devnet}.
 */
import { randomBytes } from 'node:crypto';
import { KeyPair } from 'near-api-js';
import type { DevnetModule } from '../devnet.js';
import type { DevnetClock } from '../devnet/clock.js';
import { kitControls, type DevnetControls } from '../devnet/controls.js';
import type { Faults } from '../devnet/faults.js';
import type { GroundTruth } from '../devnet/groundTruth.js';
import type { ListenerFault } from '../devnet/listeners.js';
import { startDevnetServer } from '../devnet/server.js';
import { NearChain, ONE_NEAR, type FunctionCallPermission, type IncludedTx, type NearChainOptions } from './devnet/chain.js';
import { nearRouter } from './devnet/rpc.js';

export type { FunctionCallPermission } from './devnet/chain.js';
export { NearChain, ONE_NEAR, GAS_PRICE, CALL_GAS, TX_GAS, STAKE_ACTION_GAS, ON_STAKE_CALLBACK_GAS } from './devnet/chain.js';
export { NUM_EPOCHS_TO_UNLOCK } from './devnet/pool.js';

/** Blocks per epoch on mainnet and testnet (nearcore genesis `epoch_length`). */
export const REAL_EPOCH_LENGTH = 43_200;
/** Testnet's block time, about 0.6 s (43,200 blocks ≈ 7.2 h). */
export const REAL_BLOCK_MS = 600;

/** A fault one listener can be told to show. */
export type NearDevnetFault = ListenerFault;

/** A staking pool of the devnet. */
export interface NearPoolOptions {
  /** The pool's account id, e.g. `alpha.poolv1.near`. */
  id: string;
  /** The validator's reward per epoch, parts per million of the pool's total stake. @defaultValue 1000 (0.1%) */
  rewardPpmPerEpoch?: number;
  /** The owner's `reward_fee_fraction`, [numerator, denominator]. @defaultValue [10, 100] */
  fee?: [number, number];
  /** Stake the pool starts with (owned by nobody, as after the contract's `new`), yoctoNEAR. @defaultValue 1 000 000 NEAR */
  initialStake?: bigint;
}

/** Options of {@link startNearDevnet}. */
export interface NearDevnetOptions extends NearChainOptions {
  /** @defaultValue two pools, `alpha.poolv1.near` (0.1%/epoch, 10% fee) and `beta.poolv1.near` (0.2%/epoch, 5% fee) */
  pools?: NearPoolOptions[];
  /** HTTP listeners sharing the chain. @defaultValue 2 */
  listeners?: number;
  /** Ports to listen on; 0 or absent: any free port. */
  ports?: number[];
}

/** A delegator's record in one pool, as the devnet sees it. */
export interface NearPoolBalance {
  pool: string;
  staked: bigint;
  unstaked: bigint;
  /** The epoch height from which the unstaked balance can be withdrawn. */
  availableEpoch: bigint;
}

/** An account as a test sees it, at the latest block. */
export interface NearAccountSnapshot {
  liquid: bigint;
  height: number;
  epochHeight: number;
  pools: NearPoolBalance[];
}

/** A running NEAR devnet and its test controls (the kit's, and NEAR's own). */
export interface NearDevnet extends DevnetControls<IncludedTx> {
  /** One `http://127.0.0.1:<port>` per listener. */
  readonly urls: string[];
  /** Same as `urls` (the kit's name). */
  readonly endpoints: readonly string[];
  readonly chainId: string;
  /** The pools' account ids. */
  readonly pools: string[];
  /** The chain itself, for tests that look deeper. */
  readonly chain: NearChain;
  /** Produces blocks up to the next epoch switch, where every pool receives its reward (distributed by the next `ping`). */
  nextEpoch(): void;
  /** The chain's clock (the kit's). */
  readonly clock: DevnetClock;
  /** Moves chain time forward by `ms`: a block every `blockMs`, an epoch every `epochLength` blocks. */
  advance(ms: number): void;
  /** The current epoch height. */
  epoch(): number;
  /** The latest block height. */
  height(): number;
  /** Cuts `bps` of the pool's total staked balance (lowers its share price). */
  slash(pool: string, bps: number): void;
  /** The pool is kicked out of the validator set at the next epoch switch: absent from `validators`, it earns nothing. */
  leaveValidatorSet(pool: string): void;
  setFault(index: number, fault: NearDevnetFault | null): void;
  /** Faults per listener, per JSON-RPC method, or both: `faults.inject({ target: 'send_tx' }, 'http503', 1)`. */
  readonly faults: Faults;
  /** The next new valid transaction is accepted and lost (send_tx answers TIMEOUT_ERROR); the same bytes later land. */
  dropNextTx(): void;
  /** The next new valid transaction is included and its receipt fails: gas burnt, nonce used, deposit refunded. */
  failNextTx(): void;
  /** The next new valid transaction waits `ms` (real time) before its block; `send_tx` answers when it is in. */
  delayNextTx(ms: number): void;
  /** The next new valid transaction is included and the answer to its `send_tx` is lost (the connection is cut). */
  loseNextResponse(): void;
  /** Runs `hook` after a transaction is included (newly or again), before the sender gets its answer. */
  onIncluded(hook: ((tx: IncludedTx) => void | Promise<void>) | null): void;
  /** Creates an account holding `amount` yoctoNEAR; returns its full-access key as `ed25519:<base58>`. */
  createAccount(accountId: string, amount: bigint): string;
  /** Adds a fresh access key to an existing account (full access, or a function-call key with that permission); returns it as `ed25519:<base58>`. */
  addKey(accountId: string, functionCall?: FunctionCallPermission): string;
  /** Credits `amount` yoctoNEAR as a faucet's transfer would: tops up an account, or creates an implicit one (64 hex digits) with its key. */
  fund(accountId: string, amount: bigint): void;
  account(accountId: string): NearAccountSnapshot;
  /**
   * The devnet's own reward accounting for the account, across pools: its
   * balance in each pool (staked + unstaked) minus what it deposited plus
   * what it withdrew, i.e. the growth no deposit or withdrawal explains:
   * distributed epoch rewards, minus slashes, plus the share rounding of
   * the contract (a yoctoNEAR here and there).
   */
  rewardsPaid(accountId: string): bigint;
  /** The kit's ground truth: `truth.of(account)` is `{ paid, slashed, net }`, `net` being {@link rewardsPaid}. */
  readonly truth: GroundTruth;
  close(): Promise<void>;
}

const MAX_BODY = 1024 * 1024;

/** Starts a NEAR devnet on 127.0.0.1. */
export async function startNearDevnet(options: NearDevnetOptions = {}): Promise<NearDevnet> {
  const chain = new NearChain(options);
  const poolOptions = options.pools ?? [
    { id: 'alpha.poolv1.near', rewardPpmPerEpoch: 1000, fee: [10, 100] },
    { id: 'beta.poolv1.near', rewardPpmPerEpoch: 2000, fee: [5, 100] },
  ];
  for (const p of poolOptions) {
    chain.createPool(p.id, {
      ownerId: `owner.${p.id}`,
      initialStake: p.initialStake ?? 1_000_000n * ONE_NEAR,
      rewardPpmPerEpoch: p.rewardPpmPerEpoch ?? 1000,
      fee: p.fee ?? [10, 100],
    });
  }
  let server: Awaited<ReturnType<typeof startDevnetServer>>;
  try {
    server = await startDevnetServer({
      name: 'near devnet',
      count: options.listeners ?? (options.ports?.length || 2),
      ...(options.ports ? { ports: options.ports } : {}),
      jsonRpc: nearRouter(chain),
      // nearcore serves JSON-RPC over HTTP only.
      websocketPaths: [],
      maxBodyBytes: MAX_BODY,
      fallback: () => ({ status: 405, body: { error: 'POST JSON-RPC only' } }),
    });
  } catch (error) {
    chain.close();
    throw error;
  }
  const truth: GroundTruth = {
    of: (accountId) => chain.truthOf(accountId),
    entries: (accountId) => chain.slashes.entries(accountId),
  };
  return {
    ...kitControls({ server, mempool: chain.mempool, truth, stop: () => chain.close() }),
    urls: server.urls,
    endpoints: server.urls,
    chainId: chain.chainId,
    pools: poolOptions.map((p) => p.id),
    chain,
    nextEpoch: () => {
      chain.nextEpoch();
    },
    clock: chain.clock,
    advance: (ms) => chain.advance(ms),
    epoch: () => chain.head.epochHeight,
    height: () => chain.head.height,
    slash: (poolId, bps) => chain.slash(poolId, bps),
    leaveValidatorSet: (poolId) => chain.leaveValidatorSet(poolId),
    createAccount: (accountId, amount) => chain.createAccount(accountId, amount),
    addKey: (accountId, functionCall) => chain.addKey(accountId, functionCall),
    fund: (accountId, amount) => chain.fund(accountId, amount),
    account: (accountId) => ({
      liquid: chain.state.accounts.get(accountId)?.amount ?? 0n,
      height: chain.head.height,
      epochHeight: chain.head.epochHeight,
      pools: chain.poolBalances(accountId).map(({ pool, staked, unstaked, availableEpoch }) => ({ pool, staked, unstaked, availableEpoch })),
    }),
    rewardsPaid: (accountId) => chain.truthOf(accountId).net,
  };
}

/** NEAR for `softstake devnet`: two pools, wall-clock blocks, an epoch every few seconds. */
export const devnet: DevnetModule = {
  kind: 'near',
  async start(options) {
    // A real epoch is EPOCH_LENGTH blocks of about BLOCK_MS (7.2 h on testnet); sped up by the devnet clock, in
    // 20 blocks, and kept between 1 s and 15 s so a person sees rewards within a minute.
    const epochMs = Math.min(15_000, Math.max(1_000, Math.round((REAL_EPOCH_LENGTH * REAL_BLOCK_MS) / Math.max(1, options.speedup))));
    const epochLength = 20;
    const chain = await startNearDevnet({
      clock: 'wall',
      blockProduction: 'clock',
      speedup: options.speedup,
      epochLength,
      blockMs: Math.max(1, Math.round(epochMs / epochLength)),
      // The person's own node: it keeps every block, as an archival node does.
      archival: true,
      ...(options.ports === undefined ? {} : { ports: options.ports }),
    });
    return {
      endpoints: chain.urls,
      validators: chain.pools,
      chainId: chain.chainId,
      async createFundedAccount(amount, label = 'account') {
        const accountId = `${label}-${randomBytes(4).toString('hex')}.devnet`;
        const secret = chain.createAccount(accountId, amount);
        const publicKey = KeyPair.fromString(secret as `ed25519:${string}`).getPublicKey().toString();
        return {
          secret: JSON.stringify({ account_id: accountId, public_key: publicKey, private_key: secret }),
          address: accountId,
          key: secret,
          keyFormat: 'ed25519 secret key, as near-cli and near-api-js KeyPair.fromString take it',
        };
      },
      controls: chain,
      validatorFaults: { slash: (pool, bps) => chain.slash(pool, bps) },
      close: () => chain.close(),
    };
  },
};
