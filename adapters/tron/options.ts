/**
 * The TRON adapter's options (the chain block's `options`), validated with
 * zod and resolved to their defaults in one place.
 */
import * as z from 'zod';

import { uintString } from '../integers.js';

/** The resource a freeze buys besides Tron Power (`common.proto` ResourceCode). */
export type TronResource = 'BANDWIDTH' | 'ENERGY';

/** The TRON adapter's options. */
export interface TronOptions {
  /**
   * Solidity node endpoints (`/walletsolidity/*`), tried in order, where
   * they are not the chain block's `endpoints` (a full node of java-tron
   * serves both; TronGrid serves both on one host). Every read that counts
   * (position, due, harvest, inclusion) goes here: only a solidified block
   * is final.
   * @defaultValue the chain block's `endpoints`
   */
  solidityEndpoints?: string[];
  /**
   * The network's genesis block id (`wallet/getblock` of block 0): preflight
   * refuses an endpoint on another network. TRON has no chain id; mainnet's
   * genesis id is `00000000000000001ebf88508a03865c71d452e25f4d51194196a1d22b6653dc`.
   * @defaultValue none (any network)
   */
  genesisBlockId?: string;
  /**
   * A file holding a TronGrid API key, sent as the `TRON-PRO-API-KEY`
   * header on every request; read once, never logged.
   * @defaultValue none (no header)
   */
  apiKeyFile?: string;
  /**
   * What a freeze buys besides Tron Power. BANDWIDTH, so that the custody
   * account's own transactions are paid from its staked bandwidth and cost
   * no TRX.
   * @defaultValue `'BANDWIDTH'`
   */
  resource?: TronResource;
  /**
   * TRX (in sun, a decimal string) that stays liquid: bandwidth beyond the
   * staked and free allowance is paid by burning TRX (1000 sun a byte on
   * mainnet), so an account frozen to the last sun could not even unfreeze.
   * @defaultValue `'10000000'` (10 TRX)
   */
  reserve?: string;
  /**
   * How long `broadcast` waits for a solidity node to report an accepted
   * transaction, ms. A transaction is solid about 19 blocks (57 s) after
   * its block.
   * @defaultValue 120000
   */
  inclusionTimeoutMs?: number;
  /**
   * How often `broadcast` asks a solidity node whether the transaction is
   * final, ms.
   * @defaultValue 3000 (a block)
   */
  pollIntervalMs?: number;
}

/** {@link TronOptions} with every default filled in. */
export interface ResolvedTronOptions {
  genesisBlockId: string | undefined;
  solidityEndpoints: string[] | undefined;
  apiKeyFile: string | undefined;
  resource: TronResource;
  reserve: bigint;
  inclusionTimeoutMs: number;
  pollIntervalMs: number;
}

/** The zod schema of {@link TronOptions}; unknown keys are refused. */
export const optionsSchema = z.strictObject({
  genesisBlockId: z.string().regex(/^[0-9a-f]{64}$/, 'a block id: 64 lower-case hex digits').optional(),
  solidityEndpoints: z.array(z.url()).min(1).max(16).optional(),
  apiKeyFile: z.string().min(1).optional(),
  resource: z.enum(['BANDWIDTH', 'ENERGY']).optional(),
  reserve: z.string().regex(/^(0|[1-9][0-9]{0,18})$/, 'sun, a decimal integer string').optional(),
  inclusionTimeoutMs: z.number().int().min(1).max(3_600_000).optional(),
  pollIntervalMs: z.number().int().min(1).max(60_000).optional(),
}) satisfies z.ZodType<TronOptions>;

/** Validates `options` and fills in the defaults. @throws ZodError */
export function resolveOptions(options: TronOptions): ResolvedTronOptions {
  const parsed = optionsSchema.parse(options ?? {});
  return {
    genesisBlockId: parsed.genesisBlockId,
    solidityEndpoints: parsed.solidityEndpoints,
    apiKeyFile: parsed.apiKeyFile,
    resource: parsed.resource ?? 'BANDWIDTH',
    reserve: uintString.parse(parsed.reserve ?? '10000000'),
    inclusionTimeoutMs: parsed.inclusionTimeoutMs ?? 120_000,
    pollIntervalMs: parsed.pollIntervalMs ?? 3_000,
  };
}
