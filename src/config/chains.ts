/**
 * The `chains` section: what to stake where. Each chain block names its
 * adapter, asset, endpoints, signer, validators and stake policy; amounts are
 * validated here, the adapter's own `options` by the adapter module when the
 * daemon loads it.
 */
import * as z from 'zod';
import { amount, checkAmount, duration, percentage } from './fields.js';
import { resolvePath, type Issue } from './secrets.js';

/** A validator the custody account delegates to, and its share of the stake. */
export interface ValidatorConfig {
  address: string;
  /** Relative share of new stake (weights need not sum to anything). @defaultValue 1 */
  weight: number;
}

/** How much of the users' balances to stake, and how much to keep liquid. */
export interface StakePolicy {
  /**
   * Share of users' balances to keep staked, in basis points. The rest is the
   * liquidity buffer that lets users withdraw without waiting for unbonding.
   * @defaultValue 9000 (90%)
   */
  targetRatioBps: number;
  /** The buffer never goes below this, base units. @defaultValue 0n */
  minBuffer: bigint;
  /**
   * Stake moves smaller than this are not worth their fee and are skipped,
   * base units; `0n`: any move. Absent: 100 times the chain's typical fee
   * (the adapter's `limits().typicalFee`, see `DEFAULT_MIN_MOVE_FEES`).
   * @defaultValue undefined (100 × the chain's typical fee)
   */
  minMove?: bigint;
}

/** How often the scheduler enqueues each chain job, milliseconds. */
export interface ChainIntervals {
  /** Position snapshot. @defaultValue 60 000 (1 minute) */
  pollMs: number;
  /** Claim and record rewards. @defaultValue 3 600 000 (1 hour) */
  harvestMs: number;
  /** Stake or unbond toward the target ratio. @defaultValue 600 000 (10 minutes) */
  rebalanceMs: number;
}

/** One chain the daemon stakes on. */
export interface ChainConfig {
  /** The chain block's key, e.g. `cosmoshub-devnet`; names its queue and metrics. */
  name: string;
  /** Built-in adapter kind (`cosmos`, `near`, …) or, with `module`, the plugin's kind. */
  kind: string;
  /** Absolute path of a plugin adapter module (exporting `adapter`); `null` for built-in kinds. */
  module: string | null;
  /** The ledger asset (a key of `assets`). */
  asset: string;
  /** RPC endpoints, tried in order on timeouts, 429 and 5xx. */
  endpoints: string[];
  /** Where the signing key is: a file (resolved to an absolute path) or an environment variable name. */
  signer: { file: string } | { env: string };
  /**
   * The custody account's address (`address:` in the chain block): what
   * positions, `/ready` and the API read, without the key. `null`: derived
   * from the key on first use (so every role reads the key).
   * @defaultValue null
   */
  address: string | null;
  /** Per-request timeout before failing over. @defaultValue 10 000 */
  requestTimeoutMs: number;
  validators: ValidatorConfig[];
  stake: StakePolicy;
  intervals: ChainIntervals;
  /** The adapter's own options, as written; validated by the adapter module. */
  options: unknown;
}

export const DEFAULT_INTERVALS: ChainIntervals = { pollMs: 60_000, harvestMs: 3_600_000, rebalanceMs: 600_000 };

const endpoint = z.string().superRefine((text, ctx) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not a valid URL' });
    return;
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol)) {
    ctx.addIssue({ code: 'custom', message: 'expected an http(s):// or ws(s):// URL' });
  }
});

const signer = z.union(
  [
    z.strictObject({ file: z.string().min(1, { error: 'must be a file path' }) }),
    z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name' }) }),
  ],
  { error: 'expected { file: path/to/key } or { env: VARIABLE_NAME }' },
);

const chainSchema = z.strictObject({
  kind: z.string().regex(/^[a-z][a-z0-9-]*$/, { error: 'expected an adapter kind like "cosmos" or "near"' }),
  /** A plugin adapter module, relative to the config file. */
  module: z.string().min(1).optional(),
  asset: z.string(),
  endpoints: z.array(endpoint).min(1, { error: 'list at least one endpoint' }).max(16),
  signer,
  /** The custody account's address, so roles that only read (api, scheduler) never open the key. */
  address: z.string().trim().min(1).max(256).optional(),
  requestTimeout: duration(100, 300_000).prefault('10s'),
  validators: z
    .array(
      z.strictObject({
        address: z.string().min(1),
        weight: z.number().int({ error: 'expected a whole number' }).min(1).max(1_000_000).default(1),
      }),
    )
    .min(1, { error: 'list at least one validator' })
    .max(64)
    .refine((list) => new Set(list.map((v) => v.address)).size === list.length, { error: 'a validator is listed twice' }),
  stake: z
    .strictObject({
      targetRatio: percentage('90%').prefault('90%'),
      /** Whole tokens, converted once `assets` tells the decimals (see `resolveDaemonSections`). */
      minBuffer: amount.prefault('0'),
      minMove: amount.optional(),
    })
    .prefault({ targetRatio: '90%', minBuffer: '0' }),
  intervals: z
    .strictObject({
      poll: duration(1_000, 86_400_000).prefault('1m'),
      harvest: duration(1_000, 7 * 86_400_000).prefault('1h'),
      rebalance: duration(1_000, 7 * 86_400_000).prefault('10m'),
    })
    .prefault({ poll: '1m', harvest: '1h', rebalance: '10m' }),
  /** Adapter-specific settings, checked by the adapter. */
  options: z.record(z.string(), z.unknown()).default({}),
});

export type ChainFile = z.output<typeof chainSchema>;

export const chainsSchema = z
  .record(z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, { error: 'chain names are lowercase letters, digits and dashes' }), chainSchema)
  .default({});

/**
 * Completes the schema-valid chain blocks: each chain's asset must exist and
 * be staked by one chain only, amounts become base units and paths absolute
 * (relative to the config file). Problems go to `issues`.
 */
export function resolveChains(
  file: Record<string, ChainFile>,
  assets: Record<string, { decimals: number }>,
  configDir: string,
  issues: Issue[],
): Record<string, ChainConfig> {
  const chains: Record<string, ChainConfig> = {};
  const stakedBy = new Map<string, string>();
  for (const [name, chain] of Object.entries(file)) {
    const at = (field: string) => `chains.${name}.${field}`;
    const asset = assets[chain.asset];
    if (asset === undefined) {
      issues.push({ path: at('asset'), message: `unknown asset ${JSON.stringify(chain.asset)}; expected one of: ${Object.keys(assets).join(', ')}` });
      continue;
    }
    const other = stakedBy.get(chain.asset);
    if (other !== undefined) {
      issues.push({ path: at('asset'), message: `${chain.asset} is already staked by chain ${other}; one chain per asset` });
      continue;
    }
    stakedBy.set(chain.asset, name);
    const minBuffer = checkAmount(chain.stake.minBuffer, chain.asset, asset.decimals);
    const minMove = chain.stake.minMove === undefined ? { value: undefined } : checkAmount(chain.stake.minMove, chain.asset, asset.decimals);
    if (minBuffer.problem !== undefined) issues.push({ path: at('stake.minBuffer'), message: minBuffer.problem });
    if (minMove.problem !== undefined) issues.push({ path: at('stake.minMove'), message: minMove.problem });
    if (minBuffer.value === undefined || minMove.problem !== undefined) continue;
    chains[name] = {
      name,
      kind: chain.kind,
      module: chain.module === undefined ? null : resolvePath(configDir, chain.module),
      asset: chain.asset,
      endpoints: chain.endpoints,
      signer: 'file' in chain.signer ? { file: resolvePath(configDir, chain.signer.file) } : { env: chain.signer.env },
      address: chain.address ?? null,
      requestTimeoutMs: chain.requestTimeout,
      validators: chain.validators.map((v) => ({ address: v.address, weight: v.weight })),
      stake: { targetRatioBps: chain.stake.targetRatio, minBuffer: minBuffer.value, ...(minMove.value === undefined ? {} : { minMove: minMove.value }) },
      intervals: { pollMs: chain.intervals.poll, harvestMs: chain.intervals.harvest, rebalanceMs: chain.intervals.rebalance },
      options: chain.options,
    };
  }

  return chains;
}
