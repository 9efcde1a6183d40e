/**
 * The custody's own stake flows, read from its committed transactions'
 * module events (delegation_pool.move emits them with the amounts the chain
 * actually moved, after its 10 APT adjustments and share rounding, so the
 * adapter trusts them over the amounts it asked for):
 *
 * - `AddStake {pool_address, delegator_address, amount_added, add_stake_fee}`:
 *   `amount_added` left the account; `add_stake_fee` of it bought shares for
 *   the NULL shareholder and comes back to the pool's active shares at the
 *   epoch's end (neither reward nor loss);
 * - `WithdrawStake {…, amount_withdrawn}`: inactive stake back to liquid
 *   (from `withdraw`, or inside `unlock`, which first withdraws an older
 *   unlock that has become inactive);
 * - `UnlockStake` and `ReactivateStake` move stake between active and
 *   pending_inactive: no flow in or out of the pool.
 *
 * A failed transaction's events are only its FeeStatement: it moved nothing.
 */
import type { UserTransaction } from './client.js';
import { longAddress } from './options.js';

/** One transaction's flows in one pool. */
export interface PoolFlow {
  /** Σ amount_added, octas. */
  added: bigint;
  /** Σ add_stake_fee, octas (part of `added`). */
  fee: bigint;
  /** Σ amount_withdrawn, octas. */
  withdrawn: bigint;
}

const ADD = '0x1::delegation_pool::AddStake';
const WITHDRAW = '0x1::delegation_pool::WithdrawStake';

function u64(value: unknown): bigint {
  if (typeof value === 'string' && /^(0|[1-9][0-9]{0,19})$/.test(value)) return BigInt(value);
  throw new RangeError(`not a u64: ${JSON.stringify(value)}`);
}

function addressOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    return longAddress(value);
  } catch {
    return undefined;
  }
}

/** The custody's flows per configured pool in one committed transaction; empty for a failed one. */
export function flowsOf(tx: UserTransaction, custody: string, pools: ReadonlySet<string>): Map<string, PoolFlow> {
  const flows = new Map<string, PoolFlow>();
  if (!tx.success) return flows;
  for (const event of tx.events) {
    if (event.type !== ADD && event.type !== WITHDRAW) continue;
    const pool = addressOf(event.data.pool_address);
    if (pool === undefined || !pools.has(pool) || addressOf(event.data.delegator_address) !== custody) continue;
    const flow = flows.get(pool) ?? { added: 0n, fee: 0n, withdrawn: 0n };
    if (event.type === ADD) {
      flow.added += u64(event.data.amount_added);
      flow.fee += u64(event.data.add_stake_fee);
    } else {
      flow.withdrawn += u64(event.data.amount_withdrawn);
    }
    flows.set(pool, flow);
  }
  return flows;
}

/** The fee the custody paid, octas: gas used × gas unit price, less the storage refund its FeeStatement names. */
export function feeOf(tx: Pick<UserTransaction, 'gas_used' | 'gas_unit_price' | 'events'>): bigint {
  const charged = tx.gas_used * tx.gas_unit_price;
  const statement = tx.events.find((e) => e.type === '0x1::transaction_fee::FeeStatement');
  const refund = statement?.data.storage_fee_refund_octas;
  const refunded = typeof refund === 'string' && /^\d+$/.test(refund) ? BigInt(refund) : 0n;
  return refunded < charged ? charged - refunded : 0n;
}
