/**
 * `POST /v1/view`: the `#[view]` functions of delegation_pool.move and
 * stake.move the adapter reads, run on the state at the requested version.
 * api/src/view_function.rs: a function that is not a view, or a view that
 * aborts, is 400 invalid_input (for an abort the message is the explained VM
 * status and `vm_error_code` is ABORTED, 4016).
 */
import { findFunction } from './abi.js';
import type { ChainState } from './chain.js';
import * as dp from './delegationPool.js';
import { AptosApiError, MoveAbort, aborts } from './errors.js';
import { isCurrentEpochValidator, type StakingConfig } from './stake.js';
import { apiAddress, ArgumentError, decodeArgs } from './transactions.js';

/** Move `ABORTED`'s StatusCode. */
const ABORTED = 4016;

export type MoveValue = string | boolean;

/** Runs `function` (`0x1::delegation_pool::get_stake`) on `state` at `nowSecs` under `config`; values in the API's JSON (u64 as strings). */
export function runView(state: ChainState, config: StakingConfig, nowSecs: bigint, functionId: string, typeArguments: readonly unknown[], args: readonly Uint8Array[]): MoveValue[] {
  const parts = functionId.split('::');
  if (parts.length !== 3) throw new AptosApiError(400, 'invalid_input', `invalid function id: ${functionId}`);
  const [address, module, name] = parts as [string, string, string];
  const abi = apiAddress(address) === '0x1' ? findFunction(module, name) : undefined;
  if (abi === undefined) throw new AptosApiError(400, 'invalid_input', `could not find view function by ${functionId}`);
  if (!abi.is_view) throw new AptosApiError(400, 'invalid_input', `function not marked as view function`);
  if (typeArguments.length !== 0) throw new AptosApiError(400, 'invalid_input', 'wrong number of type arguments');
  let values: (string | bigint | boolean)[];
  try {
    values = decodeArgs(args, abi.params);
  } catch (error) {
    if (error instanceof ArgumentError) throw new AptosApiError(400, 'invalid_input', `Failed to parse arguments: ${error.message}`);
    throw error;
  }
  try {
    return run(state, config, nowSecs, module, name, values).map((v) => (typeof v === 'bigint' ? v.toString() : v));
  } catch (error) {
    if (error instanceof MoveAbort) throw new AptosApiError(400, 'invalid_input', error.vmStatus, ABORTED);
    throw error;
  }
}

function run(state: ChainState, config: StakingConfig, nowSecs: bigint, module: string, name: string, args: (string | bigint | boolean)[]): (bigint | boolean | string)[] {
  const poolAt = (address: string): dp.DelegationPool => {
    const pool = state.pools.get(address);
    if (pool === undefined) throw aborts.delegationPoolDoesNotExist();
    return pool;
  };
  const address = args[0] as string;
  if (module === 'delegation_pool') {
    switch (name) {
      case 'get_stake':
        return dp.getStake(poolAt(address), args[1] as string);
      case 'get_pending_withdrawal':
        return dp.pendingWithdrawal(poolAt(address), args[1] as string);
      case 'get_add_stake_fee':
        return [dp.addStakeFee(poolAt(address), args[1] as bigint, config)];
      case 'can_withdraw_pending_inactive':
        return [dp.canWithdrawPendingInactive(poolAt(address), nowSecs)];
      case 'observed_lockup_cycle':
        return [poolAt(address).observedLockupCycle];
      case 'operator_commission_percentage':
      case 'operator_commission_percentage_next_lockup_cycle':
        return [poolAt(address).operatorCommissionPercentage];
      case 'get_delegation_pool_stake': {
        const s = poolAt(address).stake;
        return [s.active, s.inactive, s.pendingActive, s.pendingInactive];
      }
      case 'delegation_pool_exists':
        return [state.pools.has(address)];
      case 'total_coins_inactive':
        return [poolAt(address).totalCoinsInactive];
    }
  }
  if (module === 'stake') {
    const pool = state.pools.get(address);
    if (name === 'stake_pool_exists') return [pool !== undefined];
    // stake.move `assert_stake_pool_exists`: ESTAKE_POOL_DOES_NOT_EXIST (not_found 14).
    if (pool === undefined) throw new MoveAbort('0x1::stake', 'ESTAKE_POOL_DOES_NOT_EXIST', 0x6_0000 | 14, 'Stake pool does not exist at the provided pool address.');
    const s = pool.stake;
    switch (name) {
      case 'get_lockup_secs':
        return [s.lockedUntilSecs];
      case 'get_remaining_lockup_secs':
        return [s.lockedUntilSecs > nowSecs ? s.lockedUntilSecs - nowSecs : 0n];
      case 'get_stake':
        return [s.active, s.inactive, s.pendingActive, s.pendingInactive];
      case 'get_validator_state':
        return [BigInt(s.state)];
      case 'get_operator':
        return [apiAddress(s.operator)];
      case 'is_current_epoch_validator':
        return [isCurrentEpochValidator(s)];
    }
  }
  throw new AptosApiError(400, 'invalid_input', `could not find view function by 0x1::${module}::${name}`);
}
