/**
 * A real chain's devnet for a daemon that a test runs as a child process:
 * the Cosmos or the NEAR devnet (wall clock, so the daemon sees time pass),
 * a funded custody account, and what `writeDaemonConfig` needs to point the
 * daemon at it. The test keeps the devnet in its own process, so it drives
 * it through the kit's `DevnetControls` (`onIncluded`, faults, `truth`) and
 * reads stake from the chain's own snapshot.
 */
import { createFundedAccount, startCosmosDevnet, type CosmosDevnet } from '../../adapters/cosmos/devnet.js';
import type { DevnetControls } from '../../adapters/devnet/controls.js';
import { startNearDevnet, type NearDevnet } from '../../adapters/near/devnet.js';
import type { DaemonConfigOptions } from './daemon.js';

/** The chain kinds a daemon test can run on. */
export type DaemonChainKind = 'cosmos' | 'near';

/** A devnet with a funded custody account, ready for a daemon config. */
export interface DaemonChain {
  kind: DaemonChainKind;
  /** The chain block's name: reward events are stored as `<name>:<adapter id>`. */
  name: string;
  asset: { symbol: string; decimals: number };
  /** One whole token in base units. */
  unit: bigint;
  /** The kit's controls of the devnet. */
  devnet: DevnetControls<{ hash: string }>;
  custody: string;
  /** The custody key as the adapter's signer file holds it (never logged by the daemon). */
  secret: string;
  validators: readonly string[];
  /** What `writeDaemonConfig` takes for this chain (endpoints, key, adapter, asset, validators with `weights`). */
  daemonConfig(weights?: readonly number[]): Pick<DaemonConfigOptions, 'endpoints' | 'keyHex' | 'chain' | 'asset' | 'validators'>;
  /** The custody's stake per validator, on chain now. */
  staked(): Map<string, bigint>;
  /**
   * Makes the chain pay the next rewards without moving chain time off the
   * wall clock (the daemon stamps reward events with block time): nothing on
   * Cosmos, where rewards accrue with every block; a new epoch on NEAR.
   */
  nextRewards(): void;
  /** Slashes `bps` basis points of the validator's (pool's) stake, in a new block. */
  slash(validator: string, bps: number): void;
  close(): Promise<void>;
}

/** Options of {@link startDaemonChain}. */
export interface DaemonChainOptions {
  /** Whole tokens the custody account holds. @defaultValue 1000 */
  funds?: bigint;
  /** Cosmos: block time, ms. @defaultValue 500 */
  blockMs?: number;
  /** Cosmos: annual inflation, so rewards come within a test's seconds. @defaultValue "20" (2000 %) */
  inflation?: string;
  /** Load the adapter as a plugin module (`module:` in the chain block) instead of by kind. @defaultValue false */
  asPlugin?: boolean;
}

const COSMOS_NAME = 'cosmoshub-devnet';
const NEAR_NAME = 'near-devnet';
const NEAR_CUSTODY = 'custody.devnet';

/** The adapter modules, for a chain block that loads one by path. */
export const ADAPTER_MODULES: Record<DaemonChainKind, string> = {
  cosmos: new URL('../../adapters/cosmos/adapter.ts', import.meta.url).pathname,
  near: new URL('../../adapters/near/adapter.ts', import.meta.url).pathname,
};

/** Starts `kind`'s devnet with a funded custody account. */
export async function startDaemonChain(kind: DaemonChainKind, options: DaemonChainOptions = {}): Promise<DaemonChain> {
  return kind === 'cosmos' ? startCosmos(options) : startNear(options);
}

function chainBlock(kind: DaemonChainKind, name: string, adapterOptions: string, asPlugin: boolean): NonNullable<DaemonConfigOptions['chain']> {
  return { name, kind, options: adapterOptions, ...(asPlugin ? { module: ADAPTER_MODULES[kind] } : {}) };
}

async function startCosmos(options: DaemonChainOptions): Promise<DaemonChain> {
  const unit = 10n ** 6n;
  const devnet: CosmosDevnet = await startCosmosDevnet({ clock: 'wall', blockMs: options.blockMs ?? 500, inflation: options.inflation ?? '20' });
  const account = await createFundedAccount(devnet, (options.funds ?? 1000n) * unit);
  const chain = chainBlock('cosmos', COSMOS_NAME, `{ chainId: ${devnet.chainId}, pollIntervalMs: 100 }`, options.asPlugin ?? false);
  return {
    kind: 'cosmos',
    name: COSMOS_NAME,
    asset: { symbol: 'ATOM', decimals: 6 },
    unit,
    devnet,
    custody: account.address,
    secret: account.mnemonic,
    validators: devnet.validators,
    daemonConfig: (weights = []) => ({
      endpoints: [...devnet.urls],
      keyHex: account.mnemonic,
      chain,
      asset: { symbol: 'ATOM', decimals: 6 },
      validators: devnet.validators.map((address, i) => ({ address, weight: weights[i] ?? 1 })),
    }),
    staked: () => new Map(devnet.account(account.address).delegations.map((d) => [d.validator, d.amount])),
    nextRewards: () => undefined,
    slash: (validator, bps) => devnet.slash(validator, bps),
    close: () => devnet.close(),
  };
}

async function startNear(options: DaemonChainOptions): Promise<DaemonChain> {
  const unit = 10n ** 24n;
  const devnet: NearDevnet = await startNearDevnet({ clock: 'wall' });
  const secret = devnet.createAccount(NEAR_CUSTODY, (options.funds ?? 1000n) * unit);
  const chain = chainBlock('near', NEAR_NAME, `{ accountId: ${NEAR_CUSTODY}, networkId: ${devnet.chainId} }`, options.asPlugin ?? false);
  return {
    kind: 'near',
    name: NEAR_NAME,
    asset: { symbol: 'NEAR', decimals: 24 },
    unit,
    devnet,
    custody: NEAR_CUSTODY,
    secret,
    validators: devnet.pools,
    daemonConfig: (weights = []) => ({
      endpoints: [...devnet.urls],
      keyHex: secret,
      chain,
      asset: { symbol: 'NEAR', decimals: 24 },
      validators: devnet.pools.map((address, i) => ({ address, weight: weights[i] ?? 1 })),
    }),
    staked: () => new Map(devnet.account(NEAR_CUSTODY).pools.filter((p) => p.staked > 0n).map((p) => [p.pool, p.staked])),
    nextRewards: () => devnet.nextEpoch(),
    slash: (pool, bps) => devnet.slash(pool, bps),
    close: () => devnet.close(),
  };
}
