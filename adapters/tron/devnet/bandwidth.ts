/**
 * Bandwidth, as java-tron charges a transaction before its actuator runs
 * (chainbase/src/main/java/org/tron/core/db/BandwidthProcessor.java,
 * ResourceProcessor.java): bytes = the transaction serialized without `ret`
 * plus 64 per contract (`MAX_RESULT_SIZE_IN_TX`, VM on); paid from staked
 * bandwidth, else from the free daily allowance (and the shared public
 * limit), else burnt at `getTransactionFee` sun per byte; each step all or
 * nothing. Usage recovers linearly over a 24 h window of 3 s slots.
 *
 * Stated simplification: the classic `increase` (java-tron ≥ 4.7 keeps a
 * per-account window, `net_window_size`, that changes after undelegation;
 * the devnet has no delegation, so the window is always 28 800 slots).
 */
import { toBase58 } from './codec.js';
import { type Account, type ChainParams, type ChainState, TRX, updateAccount } from './state.js';

/** Constant.MAX_RESULT_SIZE_IN_TX. */
const MAX_RESULT_SIZE_IN_TX = 64;
/** ChainConstant.BLOCK_PRODUCED_INTERVAL, ms: the slot bandwidth is counted in. */
export const SLOT_MS = 3000;
/** ResourceProcessor: 24 h of slots. */
const WINDOW_SIZE = 86_400_000 / SLOT_MS;
/** ChainConstant.PRECISION. */
const PRECISION = 1_000_000;

/** What a transaction paid for its bandwidth (the receipt's `net_usage` or `net_fee`). */
export interface NetBill {
  netUsage: number;
  netFee: bigint;
}

/** The owner account is missing: `ContractValidateException` from BandwidthProcessor.consume. */
export class BandwidthAccountMissing extends Error {}
/** Nothing pays: `AccountResourceInsufficientException`. */
export class AccountResourceInsufficient extends Error {}

function divideCeil(a: number, b: number): number {
  return Math.floor(a / b) + (a % b > 0 ? 1 : 0);
}

/** ResourceProcessor.increase. */
export function increase(lastUsage: number, usage: number, lastTime: number, now: number): number {
  let averageLastUsage = divideCeil(lastUsage * PRECISION, WINDOW_SIZE);
  const averageUsage = divideCeil(usage * PRECISION, WINDOW_SIZE);
  if (lastTime !== now) {
    if (lastTime + WINDOW_SIZE > now) {
      const decay = (WINDOW_SIZE - (now - lastTime)) / WINDOW_SIZE;
      averageLastUsage = Math.round(averageLastUsage * decay);
    } else {
      averageLastUsage = 0;
    }
  }
  averageLastUsage += averageUsage;
  return Math.floor((averageLastUsage * WINDOW_SIZE) / PRECISION);
}

/** `chainBaseManager.getHeadSlot()`. */
export function headSlot(state: ChainState, genesisTime: number): number {
  return Math.floor((state.dyn.latestBlockTimestamp - genesisTime) / SLOT_MS);
}

/** BandwidthProcessor.calculateGlobalNetLimit: the account's share of `getTotalNetLimit` by its frozen TRX. */
export function netLimit(state: ChainState, params: ChainParams, account: Account): number {
  const frozen = account.frozenV2.BANDWIDTH;
  if (frozen < TRX) return 0;
  const weight = Number(frozen / TRX);
  const total = Number(state.dyn.totalNetWeight);
  if (total === 0) return 0;
  return Math.trunc(weight * (params.totalNetLimit / total));
}

/** BandwidthProcessor.consume for one contract: mutates `state`, returns the bill. */
export function consumeBandwidth(state: ChainState, params: ChainParams, genesisTime: number, owner: string, txSize: number): NetBill {
  const bytes = txSize + MAX_RESULT_SIZE_IN_TX;
  const account = state.accounts.get(owner);
  if (account === undefined) throw new BandwidthAccountMissing(`account [${toBase58(owner)}] does not exist`);
  const now = headSlot(state, genesisTime);
  const headTime = state.dyn.latestBlockTimestamp;

  // useAccountNet
  const recovered = increase(account.netUsage, 0, account.latestConsumeTime, now);
  if (bytes <= netLimit(state, params, account) - recovered) {
    updateAccount(state, owner, () => ({ netUsage: increase(recovered, bytes, now, now), latestConsumeTime: now, latestOperationTime: headTime }));
    return { netUsage: bytes, netFee: 0n };
  }
  // useFreeNet
  const freeRecovered = increase(account.freeNetUsage, 0, account.latestConsumeFreeTime, now);
  const publicRecovered = increase(state.dyn.publicNetUsage, 0, state.dyn.publicNetTime, now);
  if (bytes <= params.freeNetLimit - freeRecovered && bytes <= params.publicNetLimit - publicRecovered) {
    updateAccount(state, owner, () => ({ freeNetUsage: increase(freeRecovered, bytes, now, now), latestConsumeFreeTime: now, latestOperationTime: headTime }));
    state.dyn.publicNetUsage = increase(publicRecovered, bytes, now, now);
    state.dyn.publicNetTime = now;
    return { netUsage: bytes, netFee: 0n };
  }
  // useTransactionFee: burnt (no transaction fee pool on the devnet: getAllowTransactionFeePool 0).
  const fee = params.transactionFee * BigInt(bytes);
  if (account.balance >= fee) {
    updateAccount(state, owner, (a) => ({ balance: a.balance - fee, latestOperationTime: headTime }));
    return { netUsage: 0, netFee: fee };
  }
  throw new AccountResourceInsufficient(`account [${toBase58(owner)}] has insufficient bandwidth[${bytes}] and balance[${fee}] to create new account`);
}
