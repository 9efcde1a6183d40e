/**
 * The Aptos adapter's options (the chain block's `options`), validated with
 * zod and resolved to their defaults in one place.
 */
import { AccountAddress } from '@aptos-labs/ts-sdk';
import * as z from 'zod';

/** The Aptos adapter's options. */
export interface AptosOptions {
  /**
   * The chain id the endpoints must serve (1 mainnet, 2 testnet, 4 a local
   * node), checked against the ledger info once per adapter and signed into
   * every transaction. Unset: whatever the node reports.
   */
  chainId?: number;
  /**
   * The delegation pools (`0x1::delegation_pool` addresses) the custody
   * stakes in: `position` reads them, `harvest` measures them, `sign`
   * refuses any other.
   * @defaultValue the chain block's validators
   */
  pools?: string[];
  /**
   * A file holding a node API key (sent as `Authorization: Bearer`, as the
   * SDK's `clientConfig.API_KEY` does). Read once; never logged.
   */
  apiKeyFile?: string;
  /**
   * Seconds of chain time a signed transaction stays valid: its
   * `expiration_timestamp_secs` is the node's `ledger_timestamp` plus this
   * (the local clock is never used; a node may lag it).
   * @defaultValue 60
   */
  expirationSecs?: number;
  /**
   * How long `broadcast` waits for inclusion before answering "not included
   * yet, send the same bytes again", ms.
   * @defaultValue 20000 (the SDK's `waitForTransaction` default)
   */
  inclusionWaitMs?: number;
  /**
   * The custody account's first sequence number whose transactions a
   * harvest without checkpoint reads (the account's stake flows before it
   * are taken as none). @defaultValue 0
   */
  historyFromSequence?: number;
}

/** {@link AptosOptions} with the defaults filled in. */
export interface ResolvedAptosOptions {
  chainId: number | undefined;
  /** Long form (`0x` + 64 hex digits), as the adapter compares them. */
  pools: string[];
  /** Each pool's long form → its spelling in the config, which is what the adapter reports (the planner matches it). */
  labels: ReadonlyMap<string, string>;
  apiKeyFile: string | undefined;
  expirationSecs: bigint;
  inclusionWaitMs: number;
  historyFromSequence: bigint;
}

const address = z.string().regex(/^0x[0-9a-fA-F]{1,64}$/, 'not an Aptos account address (0x + up to 64 hex digits)');

export const optionsSchema: z.ZodType<AptosOptions> = z.strictObject({
  chainId: z.number().int().min(1).max(255).optional(),
  pools: z.array(address).min(1).max(100).optional(),
  apiKeyFile: z.string().min(1).optional(),
  expirationSecs: z.number().int().min(5).max(3_600).optional(),
  inclusionWaitMs: z.number().int().min(50).max(600_000).optional(),
  historyFromSequence: z.number().int().nonnegative().optional(),
});

/** An address in its long form, the one spelling the adapter compares. */
export function longAddress(text: string): string {
  return AccountAddress.from(text, { maxMissingChars: 63 }).toStringLong();
}

/** @param validators - the chain block's validators, the default pools. */
export function resolveOptions(options: AptosOptions, validators: readonly string[] = []): ResolvedAptosOptions {
  const parsed = optionsSchema.parse(options);
  const pools = parsed.pools ?? [...validators];
  if (pools.length === 0) throw new RangeError("aptos: no delegation pools: list them as the chain's validators (or options.pools)");
  const labels = new Map<string, string>();
  for (const pool of pools) {
    let long: string;
    try {
      long = longAddress(pool);
    } catch {
      throw new RangeError(`aptos: validator ${JSON.stringify(pool)} is not an Aptos address (a delegation pool's 0x…)`);
    }
    if (!labels.has(long)) labels.set(long, pool);
  }
  return {
    chainId: parsed.chainId,
    pools: [...labels.keys()],
    labels,
    apiKeyFile: parsed.apiKeyFile,
    expirationSecs: BigInt(parsed.expirationSecs ?? 60),
    inclusionWaitMs: parsed.inclusionWaitMs ?? 20_000,
    historyFromSequence: BigInt(parsed.historyFromSequence ?? 0),
  };
}
