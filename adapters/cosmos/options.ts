/**
 * The Cosmos adapter's options (the chain block's `options`), validated with
 * zod and resolved to their defaults in one place.
 */
import { stringToPath } from '@cosmjs/crypto';
import { GasPrice } from '@cosmjs/stargate';
import * as z from 'zod';

/** Fixed gas limits per message, instead of simulating every transaction. */
export interface CosmosGasLimits {
  /** Gas for one MsgDelegate. Unset: simulated. */
  delegate?: number;
  /** Gas for one MsgUndelegate. Unset: simulated. */
  undelegate?: number;
  /** Gas for one MsgWithdrawDelegatorReward (a harvest sends one per validator). Unset: simulated. */
  withdraw?: number;
}

/** The Cosmos adapter's options. */
export interface CosmosOptions {
  /**
   * The chain id the adapter expects (e.g. `cosmoshub-4`). Every endpoint's
   * `status` must report it as its network on first use, or the adapter
   * refuses to talk to it: signing for the wrong chain is never what an
   * operator meant. Required.
   */
  chainId: string;
  /**
   * The bech32 prefix of account addresses; validators use `<prefix>valoper`.
   * @defaultValue `'cosmos'`
   */
  prefix?: string;
  /**
   * The staking denom, the asset's base unit. Balances, stakes, rewards and
   * fees are read in this denom only.
   * @defaultValue `'uatom'`
   */
  denom?: string;
  /**
   * The BIP-44 derivation path of the custody key under the signer mnemonic.
   * @defaultValue `"m/44'/118'/0'/0/0"` (the Cosmos Hub path)
   */
  hdPath?: string;
  /**
   * The price of one unit of gas, `<decimal><denom>`; the denom must be
   * {@link CosmosOptions.denom}, so fees are booked in the staked asset.
   * @defaultValue `'0.025'` followed by the denom (e.g. `'0.025uatom'`)
   */
  gasPrice?: string;
  /**
   * The most the adapter pays per unit of gas, `<decimal><denom>`. On a
   * chain with a fee market (the Cosmos Hub's x/feemarket) the price moves
   * with demand, and a transaction priced below it is refused in CheckTx
   * (`insufficient fee`, code 13) or fails in its block; the adapter then
   * signs again at the chain's price (with 20 % headroom) as long as that
   * stays within this ceiling, and otherwise waits (a retryable error) for
   * the price to come down.
   * @defaultValue ten times {@link CosmosOptions.gasPrice}
   */
  maxGasPrice?: string;
  /**
   * How long an endpoint that answered HTTP 429 (rate limited) is asked
   * only after the others, ms: hammering a rate limiter prolongs the ban and
   * spends a public provider's budget.
   * @defaultValue 30000
   */
  rateLimitCooldownMs?: number;
  /**
   * A node must still hold this much block history, ms; a node that prunes
   * closer is reported in `/ready` (harvest reads the time of each block
   * that paid a reward since the last harvest).
   * @defaultValue 86400000 (one day)
   */
  minBlockHistoryMs?: number;
  /**
   * The gas limit is the simulated gas times this factor (simulation
   * under-estimates: signature checks and state growth between simulate and
   * inclusion). Ignored for message kinds with a fixed {@link gasLimits} entry.
   * @defaultValue 1.4
   */
  gasAdjustment?: number;
  /**
   * Fixed gas per message kind; a kind listed here is not simulated (one RPC
   * call less per signature, but a refusal then costs a fee on chain).
   * @defaultValue `{}` (simulate everything)
   */
  gasLimits?: CosmosGasLimits;
  /**
   * How long `broadcast` waits for an accepted transaction to appear in a
   * block before giving up with a retryable TxNotIncludedError, ms. About
   * ten Cosmos Hub blocks.
   * @defaultValue 60000
   */
  inclusionTimeoutMs?: number;
  /**
   * How often `broadcast` asks (`tx_search` by hash) whether an accepted transaction is in a block, ms.
   * @defaultValue 1000
   */
  pollIntervalMs?: number;
  /**
   * A harvest reads at most this many `tx_search` pages of the custody
   * account's transactions; the rest comes with the next harvest (the
   * checkpoint then stops at the last complete height).
   * @defaultValue 50
   */
  maxTxSearchPages?: number;
  /**
   * Transactions per `tx_search` page. CometBFT caps it at 100.
   * @defaultValue 100
   */
  txSearchPageSize?: number;
  /**
   * Validators whose health `position()` reports besides those the account
   * delegates to (e.g. the rebalancer's targets before the first stake).
   * @defaultValue `[]`
   */
  validators?: string[];
  /**
   * Whether `harvest` reports stake lost to slashing as negative reward
   * events, by comparing the delegations with the principal the account's
   * own transactions explain (carried in the checkpoint).
   * @defaultValue true
   */
  detectSlashing?: boolean;
  /**
   * The memo of every transaction the adapter signs.
   * @defaultValue `''`
   */
  memo?: string;
}

/** {@link CosmosOptions} with every default filled in. */
export interface ResolvedCosmosOptions {
  chainId: string;
  prefix: string;
  denom: string;
  hdPath: string;
  gasPrice: GasPrice;
  /** {@link CosmosOptions.maxGasPrice} as Dec atomics (10^18 = one base unit per gas). */
  maxGasPrice: bigint;
  rateLimitCooldownMs: number;
  minBlockHistoryMs: number;
  gasAdjustment: number;
  gasLimits: CosmosGasLimits;
  inclusionTimeoutMs: number;
  pollIntervalMs: number;
  maxTxSearchPages: number;
  txSearchPageSize: number;
  validators: string[];
  detectSlashing: boolean;
  memo: string;
}

/** The Cosmos SDK's denom pattern (types/coin.go). */
export const DENOM_PATTERN = /^[a-zA-Z][a-zA-Z0-9/:._-]{2,127}$/;

const gasLimit = z.number().int().min(1).max(100_000_000);

/** The zod schema of {@link CosmosOptions}; unknown keys are refused (a typo must not pass silently). */
export const cosmosOptionsSchema = z
  .strictObject({
    chainId: z.string().min(1).max(64),
    prefix: z
      .string()
      .regex(/^[a-z][a-z0-9]{0,82}$/, 'a bech32 prefix: lower-case letters and digits')
      .optional(),
    denom: z.string().regex(DENOM_PATTERN, 'a Cosmos SDK denom').optional(),
    hdPath: z
      .string()
      .refine((path) => {
        try {
          stringToPath(path);
          return true;
        } catch {
          return false;
        }
      }, "a BIP-32 path such as m/44'/118'/0'/0/0")
      .optional(),
    gasPrice: z
      .string()
      .refine((price) => {
        try {
          GasPrice.fromString(price);
          return true;
        } catch {
          return false;
        }
      }, 'a gas price such as 0.025uatom')
      .optional(),
    maxGasPrice: z
      .string()
      .refine((price) => {
        try {
          GasPrice.fromString(price);
          return true;
        } catch {
          return false;
        }
      }, 'a gas price such as 0.25uatom')
      .optional(),
    rateLimitCooldownMs: z.number().int().min(0).max(3_600_000).optional(),
    minBlockHistoryMs: z.number().int().min(0).max(365 * 86_400_000).optional(),
    gasAdjustment: z.number().min(1).max(10).optional(),
    gasLimits: z.strictObject({ delegate: gasLimit.optional(), undelegate: gasLimit.optional(), withdraw: gasLimit.optional() }).optional(),
    inclusionTimeoutMs: z.number().int().min(1).max(3_600_000).optional(),
    pollIntervalMs: z.number().int().min(1).max(60_000).optional(),
    maxTxSearchPages: z.number().int().min(1).max(10_000).optional(),
    txSearchPageSize: z.number().int().min(1).max(100).optional(),
    validators: z.array(z.string().min(1).max(128)).max(200).optional(),
    detectSlashing: z.boolean().optional(),
    memo: z.string().max(256).optional(),
  })
  .superRefine((options, context) => {
    const denom = options.denom ?? 'uatom';
    if (options.gasPrice !== undefined && GasPrice.fromString(options.gasPrice).denom !== denom) {
      context.addIssue({ code: 'custom', path: ['gasPrice'], message: `the gas price must be in the staking denom ${denom}, so fees are booked in the staked asset` });
    }
    if (options.maxGasPrice !== undefined) {
      const max = GasPrice.fromString(options.maxGasPrice);
      if (max.denom !== denom) context.addIssue({ code: 'custom', path: ['maxGasPrice'], message: `the gas price ceiling must be in the staking denom ${denom}` });
      else if (options.gasPrice !== undefined && max.amount.isLessThan(GasPrice.fromString(options.gasPrice).amount)) {
        context.addIssue({ code: 'custom', path: ['maxGasPrice'], message: 'the gas price ceiling must not be below gasPrice' });
      }
    }
  }) satisfies z.ZodType<CosmosOptions>;

/** A gas price as Dec atomics: 10^18 is one base unit per unit of gas. */
export function priceAtomics(price: GasPrice): bigint {
  return BigInt(price.amount.atomics) * 10n ** BigInt(18 - price.amount.fractionalDigits);
}

/** Validates `options` and fills in the defaults. @throws ZodError */
export function resolveCosmosOptions(options: CosmosOptions): ResolvedCosmosOptions {
  const parsed = cosmosOptionsSchema.parse(options);
  const denom = parsed.denom ?? 'uatom';
  const gasPrice = GasPrice.fromString(parsed.gasPrice ?? `0.025${denom}`);
  return {
    chainId: parsed.chainId,
    prefix: parsed.prefix ?? 'cosmos',
    denom,
    hdPath: parsed.hdPath ?? "m/44'/118'/0'/0/0",
    gasPrice,
    maxGasPrice: parsed.maxGasPrice === undefined ? priceAtomics(gasPrice) * 10n : priceAtomics(GasPrice.fromString(parsed.maxGasPrice)),
    rateLimitCooldownMs: parsed.rateLimitCooldownMs ?? 30_000,
    minBlockHistoryMs: parsed.minBlockHistoryMs ?? 86_400_000,
    gasAdjustment: parsed.gasAdjustment ?? 1.4,
    gasLimits: parsed.gasLimits ?? {},
    inclusionTimeoutMs: parsed.inclusionTimeoutMs ?? 60_000,
    pollIntervalMs: parsed.pollIntervalMs ?? 1_000,
    maxTxSearchPages: parsed.maxTxSearchPages ?? 50,
    txSearchPageSize: parsed.txSearchPageSize ?? 100,
    validators: parsed.validators ?? [],
    detectSlashing: parsed.detectSlashing ?? true,
    memo: parsed.memo ?? '',
  };
}
