/**
 * Position snapshots: what each poll saw on chain, kept in PostgreSQL for
 * `/v1/assets`, the metrics, the realized APR and the operator's audit.
 */
import type pg from 'pg';

import type { Position } from '../../adapters/types.js';
import { toBigInt, toMillis, type Tx } from '../ledger/db.js';

/** A stored snapshot with its totals. */
export interface PositionSnapshot {
  chain: string;
  asset: string;
  height: bigint;
  at: number;
  liquid: bigint;
  /** Bonded stake (the position's `bonded`). */
  staked: bigint;
  /** Σ unbonding entries. */
  unbonding: bigint;
  /** Unlocked, waiting for a `withdraw`. */
  withdrawable: bigint;
  pendingRewards: bigint;
  /** The position as polled (amounts as decimal strings). */
  detail: PositionDetail;
}

export interface PositionDetail {
  delegations: { validator: string; amount: string }[];
  /** Bonded stake backing no target, earning nothing until the next rebalance assigns it (Position.idle); absent: none. */
  idle?: string;
  unbonding: { validator?: string; amount: string; completesAt: number }[];
  validators: Position['validators'];
  /** What the adapter depends on and the endpoints lack (Position.problems); `/ready` fails while any are listed. */
  problems?: string[];
}

export function totals(position: Position): { staked: bigint; unbonding: bigint; total: bigint } {
  const staked = position.bonded;
  const unbonding = position.unbonding.reduce((sum, u) => sum + u.amount, 0n);
  return { staked, unbonding, total: position.liquid + staked + unbonding + position.withdrawable + position.pendingRewards };
}

export async function storePosition(db: Tx | pg.Pool, chain: string, asset: string, position: Position): Promise<void> {
  const { staked, unbonding } = totals(position);
  const detail: PositionDetail = {
    delegations: position.delegations.map((d) => ({ validator: d.validator, amount: d.amount.toString() })),
    ...(position.idle !== undefined && position.idle > 0n ? { idle: position.idle.toString() } : {}),
    unbonding: position.unbonding.map((u) => ({ ...(u.validator === undefined ? {} : { validator: u.validator }), amount: u.amount.toString(), completesAt: u.completesAt })),
    validators: position.validators,
    ...(position.problems !== undefined && position.problems.length > 0 ? { problems: position.problems } : {}),
  };
  await db.query(
    `INSERT INTO chain_positions (chain, asset, height, at, liquid, staked, unbonding, withdrawable, pending_rewards, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [chain, asset, position.height.toString(), position.at, position.liquid.toString(), staked.toString(), unbonding.toString(), position.withdrawable.toString(), position.pendingRewards.toString(), JSON.stringify(detail)],
  );
}

interface SnapshotRow {
  chain: string;
  asset: string;
  height: string;
  at: string;
  liquid: string;
  staked: string;
  unbonding: string;
  withdrawable: string;
  pending_rewards: string;
  detail: PositionDetail;
}

function fromRow(r: SnapshotRow): PositionSnapshot {
  return {
    chain: r.chain,
    asset: r.asset,
    height: toBigInt(r.height),
    at: toMillis(r.at),
    liquid: toBigInt(r.liquid),
    staked: toBigInt(r.staked),
    unbonding: toBigInt(r.unbonding),
    withdrawable: toBigInt(r.withdrawable),
    pendingRewards: toBigInt(r.pending_rewards),
    detail: r.detail,
  };
}

/** The newest snapshot of each chain. */
export async function latestPositions(db: Tx | pg.Pool): Promise<Map<string, PositionSnapshot>> {
  const { rows } = await db.query<SnapshotRow>(
    `SELECT DISTINCT ON (chain) chain, asset, height, at, liquid, staked, unbonding, withdrawable, pending_rewards, detail
       FROM chain_positions ORDER BY chain, id DESC`,
  );
  return new Map(rows.map((r) => [r.chain, fromRow(r)]));
}

/** The snapshot before the newest one of a chain (to spot validator changes). */
export async function previousPosition(db: Tx | pg.Pool, chain: string): Promise<PositionSnapshot | undefined> {
  const { rows } = await db.query<SnapshotRow>(
    `SELECT chain, asset, height, at, liquid, staked, unbonding, withdrawable, pending_rewards, detail
       FROM chain_positions WHERE chain = $1 ORDER BY id DESC LIMIT 1`,
    [chain],
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** Snapshots older than this are deleted by the poll job: a minute's poll for 90 days is 130k rows a chain. */
export const POSITION_RETENTION_MS = 90 * 86_400_000;

export async function prunePositions(db: Tx | pg.Pool, chain: string, now: number): Promise<void> {
  await db.query('DELETE FROM chain_positions WHERE chain = $1 AND at < $2', [chain, now - POSITION_RETENTION_MS]);
}
