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
   * @defaultValue `'50000000000000'` (50 Tgas; the pool's calls use far less, the rest is refunded)
   */
  gas?: string | number;
  /**
   * Epochs an unstaked balance stays locked (the staking pool's `NUM_EPOCHS_TO_UNLOCK`).
   * @defaultValue 4
   */
  epochsToUnlock?: number;
  /**
   * An epoch's duration, ms, for estimating when unstaked funds unlock.
   * @defaultValue 43200000 (12 h: 43 200 blocks of about 1 s)
   */
  epochDurationMs?: number;
  /**
   * The height from which a harvest without checkpoint looks for the
   * custody key's transactions (the key's creation, say). Unset: the
   * node's earliest block (`status`), which on an archival node is genesis.
   */
  historyFromHeight?: number;
}

/** {@link NearOptions} with the defaults filled in. */
export interface ResolvedNearOptions {
  networkId: string | undefined;
  accountId: string | undefined;
  pools: string[];
  gas: bigint;
  epochsToUnlock: number;
  epochDurationMs: number;
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
    gas: BigInt(parsed.gas ?? '50000000000000'),
    epochsToUnlock: parsed.epochsToUnlock ?? 4,
    epochDurationMs: parsed.epochDurationMs ?? 43_200_000,
    historyFromHeight: parsed.historyFromHeight,
  };
}
