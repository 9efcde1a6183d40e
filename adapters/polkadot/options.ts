/**
 * The Polkadot adapter's options (the chain block's `options`), validated
 * with zod and resolved to their defaults in one place.
 *
 * Two ways to stake, one per chain block:
 *
 * - `mode: pool`: the custody joins nomination pool `poolId`; the pool is
 *   its one target, named `pool:<id>` (what the chain block's `validators`
 *   lists, if anything);
 * - `mode: nominate`: the custody bonds and nominates the chain block's
 *   validators (SS58 stashes, at most the chain's nominations quota, 16).
 */
import * as z from 'zod';

/** The Polkadot adapter's options. */
export interface PolkadotOptions {
  /** Nominate validators directly, or join a nomination pool. @defaultValue 'nominate' */
  mode?: 'pool' | 'nominate';
  /** The nomination pool to join (`mode: pool`). */
  poolId?: number;
  /** The custody key's scheme. @defaultValue 'sr25519' */
  keyType?: 'sr25519' | 'ed25519';
  /**
   * The SS58 address format of addresses the adapter makes offline
   * (`softstake keys`): 0 Polkadot and its Asset Hub, 2 Kusama, 42 Westend
   * and Paseo. Addresses read from the chain use the chain's own.
   * @defaultValue 0
   */
  ss58Format?: number;
  /**
   * The genesis hash the endpoints must serve (`0x…`), checked once per
   * connection. Unset: whatever chain the node serves.
   */
  genesisHash?: string;
  /**
   * How long an era lasts, ms, for estimating when unbonded funds unlock
   * and when unclaimed payouts expire (Polkadot, Kusama: 6 sessions of
   * 4 h / 1 h; on Asset Hub eras follow the relay chain's sessions, so no
   * constant on the chain says it).
   * @defaultValue 86400000 (24 h, Polkadot)
   */
  eraDurationMs?: number;
  /**
   * Blocks a signed extrinsic stays valid (its mortal era's period; rounded
   * up to a power of two by the codec). After that the pipeline may sign
   * the intent again.
   * @defaultValue 64 (about 13 minutes at 12 s blocks)
   */
  mortalityBlocks?: number;
  /**
   * How long `broadcast` waits for a submitted extrinsic to be finalized,
   * ms, before answering "not included yet, send the same bytes again".
   * @defaultValue 60000
   */
  inclusionWaitMs?: number;
  /** How often `broadcast` looks at the finalized head while waiting, ms. @defaultValue 1000 */
  pollIntervalMs?: number;
  /**
   * How long opening one endpoint may take (the socket, the metadata and
   * the runtime version), ms; a single request has `requestTimeout`.
   * @defaultValue 30000
   */
  connectTimeoutMs?: number;
  /**
   * The block from which a harvest without checkpoint looks for payouts
   * (the custody's first bond, say). Needs an archive node for old blocks.
   * @defaultValue 0 (genesis)
   */
  historyFromBlock?: number;
}

/** {@link PolkadotOptions} with the defaults filled in. */
export interface ResolvedPolkadotOptions {
  mode: 'pool' | 'nominate';
  poolId: number | undefined;
  keyType: 'sr25519' | 'ed25519';
  ss58Format: number;
  /** Nominate mode: the validators (SS58) to nominate, as configured. Pool mode: `['pool:<id>']`. */
  targets: string[];
  /** Pool mode: what else the chain block's validators list (not the pool: preflight says so). */
  strays: string[];
  genesisHash: string | undefined;
  eraDurationMs: number;
  mortalityBlocks: number;
  inclusionWaitMs: number;
  pollIntervalMs: number;
  connectTimeoutMs: number;
  historyFromBlock: number;
}

export const optionsSchema: z.ZodType<PolkadotOptions> = z.strictObject({
  mode: z.enum(['pool', 'nominate']).optional(),
  poolId: z.number().int().min(1).max(0xffff_ffff).optional(),
  keyType: z.enum(['sr25519', 'ed25519']).optional(),
  ss58Format: z.number().int().min(0).max(16_383).optional(),
  genesisHash: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'a 32-byte hex hash').optional(),
  eraDurationMs: z.number().int().min(1).max(30 * 86_400_000).optional(),
  mortalityBlocks: z.number().int().min(4).max(65_536).optional(),
  inclusionWaitMs: z.number().int().min(1).max(3_600_000).optional(),
  pollIntervalMs: z.number().int().min(1).max(600_000).optional(),
  connectTimeoutMs: z.number().int().min(1).max(600_000).optional(),
  historyFromBlock: z.number().int().nonnegative().optional(),
});

/** The target name of nomination pool `id`. */
export function poolTarget(id: number): string {
  return `pool:${id}`;
}

/** @param validators - the chain block's validators: the nominations (nominate mode). */
export function resolveOptions(options: PolkadotOptions, validators: readonly string[] = []): ResolvedPolkadotOptions {
  const parsed = optionsSchema.parse(options);
  const mode = parsed.mode ?? 'nominate';
  let targets: string[];
  if (mode === 'pool') {
    if (parsed.poolId === undefined) throw new RangeError('polkadot: mode pool needs options.poolId');
    // Any other validator listed is refused when signing and named by preflight.
    targets = [poolTarget(parsed.poolId)];
  } else {
    if (parsed.poolId !== undefined) throw new RangeError('polkadot: options.poolId is for mode pool');
    targets = [...new Set(validators)];
    if (targets.length === 0) throw new RangeError('polkadot: no validators to nominate: list them as the chain\'s validators');
    // The nominations quota of every Polkadot runtime (`FixedNominationsQuota<16>`); the chain checks its own too.
    if (targets.length > 16) throw new RangeError(`polkadot: ${targets.length} validators; a nominator nominates at most 16`);
  }
  return {
    mode,
    poolId: parsed.poolId,
    keyType: parsed.keyType ?? 'sr25519',
    ss58Format: parsed.ss58Format ?? 0,
    targets,
    strays: mode === 'pool' ? validators.filter((v) => v !== targets[0]) : [],
    genesisHash: parsed.genesisHash?.toLowerCase(),
    eraDurationMs: parsed.eraDurationMs ?? 86_400_000,
    mortalityBlocks: parsed.mortalityBlocks ?? 64,
    inclusionWaitMs: parsed.inclusionWaitMs ?? 60_000,
    pollIntervalMs: parsed.pollIntervalMs ?? 1_000,
    connectTimeoutMs: parsed.connectTimeoutMs ?? 30_000,
    historyFromBlock: parsed.historyFromBlock ?? 0,
  };
}
