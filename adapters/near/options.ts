/**
 * The NEAR adapter's options (the chain block's `options`), validated with
 * zod and resolved to their defaults in one place.
 */
import * as z from 'zod';

/** The NEAR adapter's options. */
export interface NearOptions {
  /**
   * The chain id the endpoints must serve (`mainnet`, `testnet`, …), checked
   * against `status` once per adapter. Unset: whatever the node reports.
   */
  networkId?: string;
  /** The custody account id. Unset: the key file's `account_id`. */
  accountId?: string;
  /**
   * The staking pools (their account ids, e.g. `pool.poolv1.near`) the
   * custody stakes with: `position` reads them, `harvest` measures them,
   * `sign` refuses any other.
   * @defaultValue the chain block's validators
   */
  pools?: string[];
  /**
   * Gas attached to each staking-pool call, as a decimal string or integer.
   * Every call the adapter makes (`deposit_and_stake`, `unstake`,
   * `withdraw_all`, `ping`) may restake: the pool then issues a stake action
   * and an `on_stake_action` callback to which it attaches
   * `ON_STAKE_ACTION_GAS` (20 Tgas, core-contracts staking-pool/src/lib.rs)
   * out of what this call brought, on top of its own execution. A call
   * that runs short fails on chain and still pays for what it burnt. The
   * lockup contract, by the pool's authors, attaches 3 × its 25 Tgas base
   * to the same calls (core-contracts lockup/src/gas.rs); so does this.
   * Unused gas is refunded, so a generous attachment costs nothing.
   * @defaultValue `'75000000000000'` (75 Tgas)
   */
  gas?: string | number;
  /**
   * Epochs an unstaked balance stays locked (the staking pool's `NUM_EPOCHS_TO_UNLOCK`).
   * @defaultValue 4
   */
  epochsToUnlock?: number;
  /**
   * An epoch's duration, ms, for estimating when unstaked funds unlock.
   * Unset: measured, the node's `epoch_length` (43,200 blocks on mainnet
   * and testnet) times the block time seen in the current epoch (about
   * 0.6 s on testnet: 7.2 h).
   */
  epochDurationMs?: number;
  /**
   * The height from which a harvest without checkpoint looks for the
   * custody key's transactions (the key's creation, say). Unset: the
   * node's earliest block (`status`), which on an archival node is genesis.
   */
  historyFromHeight?: number;
}

/** 75 Tgas: see {@link NearOptions.gas}. */
export const DEFAULT_GAS = 75_000_000_000_000n;

/** {@link NearOptions} with the defaults filled in. */
export interface ResolvedNearOptions {
  networkId: string | undefined;
  accountId: string | undefined;
  pools: string[];
  gas: bigint;
  epochsToUnlock: number;
  epochDurationMs: number | undefined;
  historyFromHeight: number | undefined;
}

const accountId = z
  .string()
  .min(2)
  .max(64)
  .regex(/^(([a-z\d]+[-_])*[a-z\d]+\.)*([a-z\d]+[-_])*[a-z\d]+$/, 'not a NEAR account id');

export const optionsSchema: z.ZodType<NearOptions> = z.strictObject({
  networkId: z.string().min(1).max(64).optional(),
  accountId: accountId.optional(),
  pools: z.array(accountId).min(1).max(100).optional(),
  gas: z.union([z.string().regex(/^[1-9][0-9]{0,15}$/), z.number().int().positive()]).optional(),
  epochsToUnlock: z.number().int().min(0).max(100).optional(),
  epochDurationMs: z.number().int().min(1).max(30 * 86_400_000).optional(),
  historyFromHeight: z.number().int().nonnegative().optional(),
});

/** @param validators - the chain block's validators, the default pools. */
export function resolveOptions(options: NearOptions, validators: readonly string[] = []): ResolvedNearOptions {
  const parsed = optionsSchema.parse(options);
  const pools = parsed.pools ?? [...validators];
  if (pools.length === 0) throw new RangeError('near: no staking pools: list them as the chain\'s validators (or options.pools)');
  return {
    networkId: parsed.networkId,
    accountId: parsed.accountId,
    pools: [...new Set(pools)],
    gas: BigInt(parsed.gas ?? DEFAULT_GAS),
    epochsToUnlock: parsed.epochsToUnlock ?? 4,
    epochDurationMs: parsed.epochDurationMs,
    historyFromHeight: parsed.historyFromHeight,
  };
}
