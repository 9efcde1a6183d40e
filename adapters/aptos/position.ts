/**
 * Aptos reads of the custody account, all at one ledger version: its APT,
 * its stake in each delegation pool (`delegation_pool::get_stake`, lazy: the
 * epoch's rewards net of commission show at the epoch change itself), the
 * pools' validators; the chain's limits and what is due (withdrawals of
 * inactive stake). Read-only: the custody address suffices, no key.
 */
import type { ChainLimits, DueAction, Position, Unbonding, ValidatorHealth } from '../types.js';
import type { AptosClient, UserTransaction } from './client.js';
import { flowsOf } from './flows.js';
import { simulateFee } from './sign.js';

/** delegation_pool.move `MIN_COINS_ON_SHARES_POOL`: 10 APT, the least active or pending_inactive a delegator may hold. */
export const MIN_COINS_ON_SHARES_POOL = 1_000_000_000n;

/** stake.move `VALIDATOR_STATUS_*`: 2 active, 3 pending_inactive (still in this epoch's set and earning). */
const VALIDATOR_ACTIVE = 2n;
const VALIDATOR_PENDING_INACTIVE = 3n;

/** A page of an account's transactions (api_config.rs caps pages at 100). */
const PAGE = 100;

/**
 * The custody's committed transactions since `sinceUs` (µs, block time) up
 * to `version`, oldest first: read backwards from its sequence number a page
 * at a time until one is older.
 */
export async function transactionsSince(client: AptosClient, address: string, sequence: bigint, version: bigint, sinceUs: bigint): Promise<UserTransaction[]> {
  const out: UserTransaction[] = [];
  let end = sequence;
  while (end > client.options.historyFromSequence) {
    const start = end - BigInt(PAGE) > client.options.historyFromSequence ? end - BigInt(PAGE) : client.options.historyFromSequence;
    const page = await client.accountTransactions(address, start, Number(end - start));
    out.unshift(...page.filter((tx) => tx.version <= version && tx.timestamp >= sinceUs));
    if (page.length === 0 || page[0]!.timestamp < sinceUs) break;
    end = start;
  }
  return out;
}

/**
 * The add-stake fees the custody paid in this epoch, per pool: charged by
 * `add_stake`, they come back to the pool's active shares when the epoch
 * ends (delegation_pool.move, NULL_SHAREHOLDER), so they are still the
 * custody's stake. `get_stake` does not show them until then.
 */
export function feesInFlight(transactions: readonly UserTransaction[], custody: string, pools: ReadonlySet<string>): Map<string, bigint> {
  const fees = new Map<string, bigint>();
  for (const tx of transactions) for (const [pool, flow] of flowsOf(tx, custody, pools)) fees.set(pool, (fees.get(pool) ?? 0n) + flow.fee);
  return fees;
}

/**
 * Every part read at the ledger version of one `GET /v1`. A pool's stake is
 * its active stake plus this epoch's add-stake fees on their way back; its
 * pending_inactive stake is unbonding until the first epoch change at or
 * after the pool's lockup end (stake.move `on_new_epoch`); its inactive
 * stake is withdrawable.
 */
export async function readPosition(client: AptosClient): Promise<Position> {
  const custody = await client.address();
  const ledger = await client.ledger();
  const version = ledger.version;
  const liquid = await client.balance(custody, version);
  const sequence = await client.sequenceNumber(custody, version);
  let fees = new Map<string, bigint>();
  if (sequence > client.options.historyFromSequence) {
    const { startUs } = await client.configuration(version);
    fees = feesInFlight(await transactionsSince(client, custody, sequence, version, startUs), custody, client.poolSet);
  }
  const delegations: Position['delegations'] = [];
  const unbonding: Unbonding[] = [];
  let withdrawable = 0n;
  for (const pool of client.options.pools) {
    const [active, inactive, pendingInactive] = await client.stake(pool, custody, version);
    const bonded = active + (fees.get(pool) ?? 0n);
    if (bonded > 0n) delegations.push({ validator: client.label(pool), amount: bonded });
    withdrawable += inactive;
    if (pendingInactive > 0n) {
      const [lockupSecs = 0n] = await client.viewU64('0x1::stake::get_lockup_secs', [pool], version);
      unbonding.push({ validator: client.label(pool), amount: pendingInactive, completesAt: Number(lockupSecs) * 1000 });
    }
  }
  return {
    height: version,
    at: Number(ledger.timestampUs / 1000n),
    liquid,
    bonded: delegations.reduce((sum, d) => sum + d.amount, 0n),
    delegations,
    unbonding,
    withdrawable,
    // Rewards compound into the pools' stake: nothing waits to be paid.
    pendingRewards: 0n,
    validators: await health(client, version),
  };
}

/** Each pool's validator: in this epoch's set or not, and the pool's commission. Aptos neither jails nor slashes. */
async function health(client: AptosClient, version: bigint): Promise<ValidatorHealth[]> {
  const out: ValidatorHealth[] = [];
  for (const pool of client.options.pools) {
    const [state = 0n] = await client.viewU64('0x1::stake::get_validator_state', [pool], version);
    const [commission = 0n] = await client.viewU64('0x1::delegation_pool::operator_commission_percentage', [pool], version);
    // The commission is in hundredths of a percent (delegation_pool.move MAX_FEE = 10000): basis points.
    out.push({ validator: client.label(pool), active: state === VALIDATOR_ACTIVE || state === VALIDATOR_PENDING_INACTIVE, jailed: false, commissionBps: Number(commission) });
  }
  return out;
}

/**
 * Aptos's limits. A delegator's active stake must stay ≥ 10 APT after the
 * add-stake fee (delegation_pool.move `assert_min_active_balance`), so the
 * least first delegation is 10 APT grossed up by the largest pool's fee.
 * `unlock` keeps one pending withdrawal per delegator and pool, but never
 * refuses a second one (it merges, or withdraws the older inactive one
 * first): no entry limit. Aptos keeps no balance back (no existential
 * deposit). The typical fee is a simulated `add_stake`'s gas at the node's
 * gas price estimate.
 */
export async function readLimits(client: AptosClient): Promise<ChainLimits> {
  const ledger = await client.ledger();
  let minStake = MIN_COINS_ON_SHARES_POOL;
  for (const pool of client.options.pools) {
    // fee(a) = a·r/(r+d) is at most the fee on 10 APT plus the fee on that fee, plus rounding.
    const [fee = 0n] = await client.viewU64('0x1::delegation_pool::get_add_stake_fee', [pool, MIN_COINS_ON_SHARES_POOL.toString()], ledger.version);
    const [feeOnFee = 0n] = await client.viewU64('0x1::delegation_pool::get_add_stake_fee', [pool, (MIN_COINS_ON_SHARES_POOL + 2n * fee).toString()], ledger.version);
    const needed = MIN_COINS_ON_SHARES_POOL + feeOnFee + 1n;
    if (needed > minStake) minStake = needed;
  }
  const typicalFee = await simulateFee(client, client.options.pools[0]!, minStake, ledger);
  return { minStake, step: 1n, reserve: 0n, typicalFee: typicalFee > 0n ? typicalFee : 1n };
}

/**
 * What is due: a `withdraw` per pool holding inactive stake for the custody
 * (`get_pending_withdrawal` says it is withdrawable). Nothing is ever
 * claimed: rewards compound into the pool's stake at each epoch change.
 */
export async function readDue(client: AptosClient, _checkpoint: string | null): Promise<DueAction[]> {
  const custody = await client.address();
  const { version } = await client.ledger();
  const due: DueAction[] = [];
  for (const pool of client.options.pools) {
    const [withdrawable, amount] = await client.view('0x1::delegation_pool::get_pending_withdrawal', [pool, custody], version);
    if (withdrawable === true && typeof amount === 'string' && /^\d+$/.test(amount) && BigInt(amount) > 0n) {
      due.push({ action: { kind: 'withdraw', validator: client.label(pool) }, amount: BigInt(amount) });
    }
  }
  return due;
}
