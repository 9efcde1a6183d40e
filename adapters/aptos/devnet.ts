/**
 * A local Aptos chain for the Aptos adapter: the node's REST API (`/v1`) on
 * 127.0.0.1, several listeners sharing one chain (for failover tests), with
 * `0x1::delegation_pool` pools on `0x1::stake` validators that pay epoch
 * rewards by the framework's rules. @aptos-labs/ts-sdk talks to it
 * unmodified: the devnet decodes BCS with the SDK's own classes and checks a
 * transaction as the node does (devnet/chain.ts); every rule names the
 * aptos-core file it follows, and docs/chains/aptos.md has the research.
 *
 * The clock, block production, mempool faults, listeners and the ground
 * truth come from the devnet kit (adapters/devnet/); this file and devnet/
 * hold Aptos's rules and codecs.
 *
 * Also `softstake devnet`'s Aptos chain: {@link devnet}.
 */
import { Account, type Ed25519Account, PrivateKey, PrivateKeyVariants } from '@aptos-labs/ts-sdk';
import type { DevnetModule } from '../devnet.js';
import { kitControls, type DevnetControls } from '../devnet/controls.js';
import { startDevnetServer } from '../devnet/server.js';
import { aptosRouter } from './devnet/api.js';
import { AptosChain, OCTAS_PER_APT, type AptosChainOptions, type IncludedTx, type PoolSetup } from './devnet/chain.js';
import * as dp from './devnet/delegationPool.js';
import { apiAddress, hex, longAddress, sha3 } from './devnet/transactions.js';

export { AptosChain, OCTAS_PER_APT, MIN_GAS_UNIT_PRICE, MAX_GAS_AMOUNT, GAS_USED, DEFAULT_STAKING_CONFIG } from './devnet/chain.js';
export type { IncludedTx, PoolSetup } from './devnet/chain.js';
export { MIN_COINS_ON_SHARES_POOL } from './devnet/delegationPool.js';

/** Options of {@link startAptosDevnet}. */
export interface AptosDevnetOptions extends AptosChainOptions {
  /** @defaultValue two pools: `alpha` (10 % commission) and `beta` (5 %), 2 M APT each, full performance */
  pools?: PoolSetup[];
  /** HTTP listeners sharing the chain. @defaultValue 2 */
  listeners?: number;
  /** Ports to listen on; 0 or absent: any free port. */
  ports?: number[];
}

/** A delegator's stake in one pool, as `get_stake` shows it at the latest version. */
export interface AptosStake {
  pool: string;
  active: bigint;
  inactive: bigint;
  pendingInactive: bigint;
}

/** A running Aptos devnet and its test controls (the kit's, and Aptos's own). */
export interface AptosDevnet extends DevnetControls<IncludedTx> {
  readonly chainId: number;
  /** The pools' addresses (long form). */
  readonly pools: string[];
  readonly chain: AptosChain;
  /** Makes blocks until the next epoch has begun (rewards paid, lockups checked). */
  nextEpoch(): void;
  /** The current epoch. */
  epoch(): bigint;
  /** Creates an account holding `amount` octas; returns the SDK account (legacy Ed25519, as `Account.fromPrivateKey` makes it). */
  createAccount(amount: bigint): Ed25519Account;
  /** The account's liquid APT. */
  balance(address: string): bigint;
  /** The account's stake in each pool where it has any. */
  stakes(address: string): AptosStake[];
  /** The pool's validator leaves the active set at the next epoch. */
  leaveValidatorSet(pool: string): void;
  /** Sets a pool's proposals per epoch (its performance; rewards scale by successful / total). */
  setProposals(pool: string, successful: bigint, failed: bigint): void;
  /** Governance's `block::update_epoch_interval_microsecs`: the next epoch change comes `secs` after the last. */
  setEpochInterval(secs: bigint): void;
}

/** The pool address the devnet derives from a name (a resource-account-like sha3 of the seed). */
export function poolAddress(name: string): string {
  return longAddress(hex(sha3('softstake-devnet:delegation_pool:', name)));
}

/** Starts an Aptos devnet on 127.0.0.1. */
export async function startAptosDevnet(options: AptosDevnetOptions = {}): Promise<AptosDevnet> {
  const chain = new AptosChain(options);
  const setups = options.pools ?? [
    { name: 'alpha', commissionBps: 1_000n },
    { name: 'beta', commissionBps: 500n },
  ];
  const pools = setups.map((setup) => {
    const address = poolAddress(setup.name);
    chain.createPool(address, longAddress(hex(sha3('softstake-devnet:operator:', setup.name))), setup);
    return address;
  });
  let server: Awaited<ReturnType<typeof startDevnetServer>>;
  try {
    server = await startDevnetServer({
      name: 'aptos devnet',
      count: options.listeners ?? (options.ports?.length || 2),
      ...(options.ports ? { ports: options.ports } : {}),
      rest: aptosRouter(chain),
      websocketPaths: [],
      maxBodyBytes: 8 * 1024 * 1024,
      // Unknown paths: the web framework's 404 (body shape unconfirmed).
      fallback: ({ method, path }) => ({ status: 404, body: { message: `not found: ${method} ${path}`, error_code: 'web_framework_error', vm_error_code: null } }),
    });
  } catch (error) {
    chain.close();
    throw error;
  }
  return {
    ...kitControls({ server, mempool: chain.mempool, truth: chain.truth, stop: () => chain.close() }),
    endpoints: server.urls,
    chainId: chain.chainId,
    pools,
    chain,
    clock: chain.clock,
    advance: (ms) => chain.advance(ms),
    nextEpoch: () => chain.nextEpoch(),
    epoch: () => chain.state.epoch,
    createAccount(amount) {
      const account = Account.generate();
      chain.fund(account.accountAddress.toStringLong(), account.accountAddress.toStringLong(), amount);
      return account;
    },
    balance: (address) => chain.state.accounts.get(longAddress(address))?.balance ?? 0n,
    stakes(address) {
      const key = longAddress(address);
      const out: AptosStake[] = [];
      for (const pool of chain.state.pools.values()) {
        const [active, inactive, pendingInactive] = dp.getStake(pool, key);
        if (active + inactive + pendingInactive > 0n) out.push({ pool: pool.address, active, inactive, pendingInactive });
      }
      return out;
    },
    leaveValidatorSet: (pool) => chain.leaveValidatorSet(pool),
    setProposals: (pool, successful, failed) => chain.setProposals(pool, successful, failed),
    setEpochInterval: (secs) => chain.setEpochInterval(secs),
  };
}

/** Aptos for `softstake devnet`: two pools, wall-clock blocks, epochs and lockups shortened by the speedup. */
export const devnet: DevnetModule = {
  kind: 'aptos',
  async start(options) {
    const speedup = BigInt(Math.max(1, options.speedup));
    // At least 2 s: an epoch change's DKG window must stay a small part of an epoch.
    const epochIntervalSecs = 7_200n / speedup > 2n ? 7_200n / speedup : 2n;
    const lockup = (14n * 86_400n) / speedup > epochIntervalSecs ? (14n * 86_400n) / speedup : epochIntervalSecs;
    const chain = await startAptosDevnet({
      clock: 'wall',
      speedup: options.speedup,
      blockMs: 1000,
      // DKG takes seconds on mainnet (unconfirmed); shortened with the epochs, as stake operations abort meanwhile.
      reconfigurationMs: 200,
      epochIntervalSecs,
      staking: { recurringLockupDurationSecs: lockup },
      ...(options.ports === undefined ? {} : { ports: options.ports }),
    });
    return {
      endpoints: [...chain.endpoints],
      validators: chain.pools.map(apiAddress),
      chainId: String(chain.chainId),
      async createFundedAccount(amount) {
        const account = chain.createAccount(amount);
        const aip80 = PrivateKey.formatPrivateKey(account.privateKey.toHexString(), PrivateKeyVariants.Ed25519);
        return {
          address: account.accountAddress.toStringLong(),
          secret: aip80,
          key: aip80,
          keyFormat: 'Ed25519 private key in AIP-80 form (ed25519-priv-0x…), as the Aptos CLI and ts-sdk Ed25519PrivateKey take it',
        };
      },
      close: () => chain.close(),
    };
  },
};

/** 1 APT in octas (re-exported for tests and the adapter). */
export const ONE_APT = OCTAS_PER_APT;
