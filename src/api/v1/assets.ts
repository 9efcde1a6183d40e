/**
 * `GET /v1/assets`: per configured asset, its rules, what users hold, what
 * the custody account holds on chain (the latest poll), and the yield
 * actually realized. Every figure is computed with bigint from PostgreSQL's
 * exact numbers and printed as a decimal string.
 */
import type { FastifyInstance } from 'fastify';

import type { AssetConfig } from '../../config/index.js';
import { toBigInt, toMillis } from '../../ledger/db.js';
import { formatInstant } from '../../ledger/time.js';
import { latestPositions, type PositionSnapshot } from '../../pipeline/positions.js';
import { bpsPercent, ratioString } from '../decimal.js';
import type { ApiDeps } from '../deps.js';

/** The realized APR looks back this far. */
export const APR_WINDOW_MS = 30 * 86_400_000;
/** Below a day of snapshots an annualized figure is noise (one harvest would read as thousands of percent). */
export const APR_MIN_SPAN_MS = 86_400_000;
const YEAR_MS = 365n * 86_400_000n;

/** What one asset's APR is computed from. */
export interface AprInputs {
  /** Σ reward events (slashes net) from `since` to now, base units. */
  rewards: bigint;
  /** Σ staked over the snapshots from `since` to now, and their count. */
  stakedSum: bigint;
  snapshots: number;
  /** The first snapshot in the window: the span starts here. */
  since: number;
}

/**
 * Realized APR as a percentage with 2 decimals: the rewards of the window
 * over the average stake of its snapshots, scaled from the span to a year
 * (365 days). The span is the 30-day window, or less while the daemon has
 * polled for less: a week-old daemon's rewards are a week's, not a month's.
 * `null` without snapshots, without stake, or with less than a day of them.
 */
export function realizedApr(inputs: AprInputs | undefined, now: number): string | null {
  if (inputs === undefined || inputs.snapshots === 0 || inputs.stakedSum <= 0n) return null;
  const span = BigInt(now - inputs.since);
  if (span < BigInt(APR_MIN_SPAN_MS)) return null;
  // (rewards / (stakedSum / n)) × (year / span) × 100
  return ratioString(inputs.rewards * BigInt(inputs.snapshots) * YEAR_MS * 100n, inputs.stakedSum * span, 2);
}

function positionJson(s: PositionSnapshot) {
  return {
    height: s.height.toString(),
    at: formatInstant(s.at),
    liquid: s.liquid.toString(),
    staked: s.staked.toString(),
    unbonding: s.unbonding.toString(),
    pendingRewards: s.pendingRewards.toString(),
  };
}

/** Registers `GET /assets` (under `/v1`). */
export function registerAssetRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const now = deps.now ?? Date.now;
  const chainOf = new Map(Object.values(deps.config.chains).map((c) => [c.asset, c.name]));

  app.get('/assets', async () => {
    const assets = Object.values(deps.config.assets).sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
    const symbols = assets.map((a) => a.symbol);
    const at = now();
    const windowStart = at - APR_WINDOW_MS;
    const [snapshots, held, apr] = await Promise.all([
      latestPositions(deps.pool),
      deps.pool.query<{ asset: string; total: string }>(
        'SELECT asset, sum(amount) AS total FROM balances WHERE asset = ANY($1::text[]) GROUP BY asset',
        [symbols],
      ),
      deps.pool.query<{ asset: string; since: string; snapshots: string; staked: string; rewards: string }>(
        `SELECT p.asset, p.since, p.snapshots, p.staked,
                (SELECT coalesce(sum(r.amount), 0) FROM reward_events r
                  WHERE r.asset = p.asset AND r.at >= p.since AND r.at <= $3) AS rewards
           FROM (SELECT asset, min(at) AS since, count(*) AS snapshots, sum(staked) AS staked
                   FROM chain_positions
                  WHERE asset = ANY($1::text[]) AND at > $2 AND at <= $3
                  GROUP BY asset) p`,
        [symbols, windowStart, at],
      ),
    ]);
    const usersTotal = new Map(held.rows.map((r) => [r.asset, toBigInt(r.total)]));
    const aprInputs = new Map(
      apr.rows.map((r): [string, AprInputs] => [
        r.asset,
        { rewards: toBigInt(r.rewards), stakedSum: toBigInt(r.staked), snapshots: Number(r.snapshots), since: toMillis(r.since) },
      ]),
    );

    return {
      assets: assets.map((asset: AssetConfig) => {
        const chain = chainOf.get(asset.symbol) ?? null;
        const snapshot = chain === null ? undefined : snapshots.get(chain);
        const users = usersTotal.get(asset.symbol) ?? 0n;
        return {
          symbol: asset.symbol,
          decimals: asset.decimals,
          chain,
          position: snapshot ? positionJson(snapshot) : null,
          usersTotal: users.toString(),
          stakedRatio: snapshot && users > 0n ? ratioString(snapshot.staked, users, 4) : null,
          realizedApr: realizedApr(aprInputs.get(asset.symbol), at),
          minHolding: asset.minHolding.toString(),
          cap: asset.cap?.toString() ?? null,
          commission: { bps: asset.commissionBps, percent: bpsPercent(asset.commissionBps) },
        };
      }),
    };
  });
}
