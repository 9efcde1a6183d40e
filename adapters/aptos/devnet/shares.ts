/**
 * A shares pool, as `aptos_std::pool_u64_unbound` keeps it
 * (aptos-move/framework/aptos-stdlib/sources/pool_u64_unbound.move): coins
 * held by shareholders in proportion to their shares, u128 shares, every
 * division truncated in the pool's favour (buying can lose up to one share,
 * redeeming up to one coin). The delegation pool keeps one for active stake
 * and one per observed lockup cycle for (pending_)inactive stake.
 */

/** One `pool_u64_unbound::Pool`. */
export interface SharesPool {
  totalCoins: bigint;
  totalShares: bigint;
  shares: Map<string, bigint>;
  scalingFactor: bigint;
}

/** `pool_u64_unbound::create_with_scaling_factor`. */
export function createPool(scalingFactor: bigint): SharesPool {
  return { totalCoins: 0n, totalShares: 0n, shares: new Map(), scalingFactor };
}

/** `shares(pool, shareholder)`: 0 for a stranger. */
export function sharesOf(pool: SharesPool, holder: string): bigint {
  return pool.shares.get(holder) ?? 0n;
}

/** `amount_to_shares_with_total_coins`: `coins × scaling` in an empty pool, else `coins × total_shares / total_coins`. */
export function amountToShares(pool: SharesPool, coins: bigint, totalCoins = pool.totalCoins): bigint {
  if (pool.totalCoins === 0n || pool.totalShares === 0n) return coins * pool.scalingFactor;
  return (coins * pool.totalShares) / totalCoins;
}

/** `shares_to_amount_with_total_coins`: 0 in an empty pool, else `shares × total_coins / total_shares`. */
export function sharesToAmount(pool: SharesPool, shares: bigint, totalCoins = pool.totalCoins): bigint {
  if (pool.totalCoins === 0n || pool.totalShares === 0n) return 0n;
  return (shares * totalCoins) / pool.totalShares;
}

/** `shares_to_amount_with_total_stats`: the lazy views' form, with totals the caller has adjusted. */
export function sharesToAmountWithTotals(pool: SharesPool, shares: bigint, totalCoins: bigint, totalShares: bigint): bigint {
  if (pool.totalCoins === 0n || totalShares === 0n) return 0n;
  return (shares * totalCoins) / totalShares;
}

/** `balance(pool, shareholder)`. */
export function balanceOf(pool: SharesPool, holder: string): bigint {
  return sharesToAmount(pool, sharesOf(pool, holder));
}

/** `buy_in`: the new shares (0 for 0 coins, and no shareholder entry then). */
export function buyIn(pool: SharesPool, holder: string, coins: bigint): bigint {
  if (coins === 0n) return 0n;
  const newShares = amountToShares(pool, coins);
  pool.totalCoins += coins;
  pool.totalShares += newShares;
  if (newShares > 0n) pool.shares.set(holder, sharesOf(pool, holder) + newShares);
  return newShares;
}

/**
 * `redeem_shares`: the coins the shares are worth, taken out of the pool.
 * The module aborts on a stranger or too many shares
 * (ESHAREHOLDER_NOT_FOUND / EINSUFFICIENT_SHARES); the delegation pool never
 * asks for more than a holder has, so here that is a devnet bug.
 */
export function redeemShares(pool: SharesPool, holder: string, shares: bigint): bigint {
  const held = sharesOf(pool, holder);
  if (shares > held) throw new Error(`pool_u64_unbound: ${holder} redeems ${shares} shares of ${held} (devnet bug)`);
  if (shares === 0n) return 0n;
  const coins = sharesToAmount(pool, shares);
  pool.totalCoins -= coins;
  pool.totalShares -= shares;
  if (held === shares) pool.shares.delete(holder);
  else pool.shares.set(holder, held - shares);
  return coins;
}

/** `update_total_coins`: rewards (or losses) accrue to every share at once. */
export function updateTotalCoins(pool: SharesPool, totalCoins: bigint): void {
  pool.totalCoins = totalCoins;
}

/** A deep copy (for rollback of a failed transaction and for past-version reads). */
export function clonePool(pool: SharesPool): SharesPool {
  return { ...pool, shares: new Map(pool.shares) };
}
