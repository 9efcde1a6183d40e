/**
 * The Aptos node's refusals, in its words: the REST error body
 * (`AptosError {message, error_code, vm_error_code}`, api/types/src/error.rs),
 * the VM's StatusCode numbers (third_party/move/move-core/types/src/vm_status.rs),
 * and Move abort codes as `explain_vm_status` prints them
 * (api/types/src/convert.rs): `Move abort in 0x1::<module>: <NAME>(<code>): <doc>`.
 */

/** `AptosErrorCode` (api/types/src/error.rs), as the JSON names it. */
export type AptosErrorCode =
  | 'account_not_found'
  | 'resource_not_found'
  | 'module_not_found'
  | 'version_not_found'
  | 'transaction_not_found'
  | 'version_pruned'
  | 'block_not_found'
  | 'block_pruned'
  | 'invalid_input'
  | 'invalid_transaction_update'
  | 'sequence_number_too_old'
  | 'vm_error'
  | 'mempool_is_full'
  | 'internal_error'
  | 'web_framework_error';

/** An error the REST API answers with; the router sends `{message, error_code, vm_error_code}` with `status`. */
export class AptosApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: AptosErrorCode,
    message: string,
    readonly vmErrorCode: number | null = null,
  ) {
    super(message);
  }

  /** The JSON body, field for field as api/types/src/error.rs serializes it. */
  body(): { message: string; error_code: AptosErrorCode; vm_error_code: number | null } {
    return { message: this.message, error_code: this.errorCode, vm_error_code: this.vmErrorCode };
  }
}

/**
 * The StatusCodes a transaction can be discarded with before execution
 * (move-core `vm_status.rs`, validation range 0..999). BAD_CHAIN_ID's number
 * is from memory of that enum (not read in source: unconfirmed).
 */
export const StatusCode = {
  INVALID_SIGNATURE: 1,
  INVALID_AUTH_KEY: 2,
  SEQUENCE_NUMBER_TOO_OLD: 3,
  SEQUENCE_NUMBER_TOO_NEW: 4,
  INSUFFICIENT_BALANCE_FOR_TRANSACTION_FEE: 5,
  TRANSACTION_EXPIRED: 6,
  SENDING_ACCOUNT_DOES_NOT_EXIST: 7,
  MAX_GAS_UNITS_EXCEEDS_MAX_GAS_UNITS_BOUND: 13,
  MAX_GAS_UNITS_BELOW_MIN_TRANSACTION_GAS_UNITS: 14,
  GAS_UNIT_PRICE_BELOW_MIN_BOUND: 15,
  BAD_CHAIN_ID: 23,
} as const;

export type DiscardStatus = keyof typeof StatusCode;

/** A transaction refused before execution: validation (at submit: 400 vm_error) or a discard (at execution: never committed). */
export class Discarded extends Error {
  constructor(readonly status: DiscardStatus) {
    super(status);
  }

  /**
   * The submit answer. api/src/transactions.rs: MempoolStatusCode::VmError →
   * `"Invalid transaction: Type: {status_type:?} Code: {status:?}"`, error
   * code vm_error, `vm_error_code` the StatusCode number; every code here is
   * in the Validation range.
   */
  toApiError(): AptosApiError {
    return new AptosApiError(400, 'vm_error', `Invalid transaction: Type: Validation Code: ${this.status}`, StatusCode[this.status]);
  }
}

/** A Move abort: `error::<category>(<reason>)` raised in `module`. */
export class MoveAbort extends Error {
  constructor(
    /** `0x1::delegation_pool`. */
    readonly location: string,
    readonly abortName: string,
    readonly code: number,
    readonly doc: string,
  ) {
    super(`Move abort in ${location}: ${abortName}(0x${code.toString(16)}): ${doc}`);
  }

  /** The committed transaction's `vm_status` (api/types/src/convert.rs `explain_vm_status`). */
  get vmStatus(): string {
    return this.message;
  }
}

const INVALID_ARGUMENT = 0x1_0000;
const INVALID_STATE = 0x3_0000;

/**
 * The aborts the devnet's delegation_pool and stake raise, with the doc
 * comments of their constants (delegation_pool.move, stake.move,
 * fungible_asset.move), which the node prints after the code.
 */
export const aborts = {
  delegationPoolDoesNotExist: () => new MoveAbort('0x1::delegation_pool', 'EDELEGATION_POOL_DOES_NOT_EXIST', INVALID_ARGUMENT | 3, 'Delegation pool does not exist at the provided pool address.'),
  notEnoughActiveStakeToUnlock: () => new MoveAbort('0x1::delegation_pool', 'ENOT_ENOUGH_ACTIVE_STAKE_TO_UNLOCK', INVALID_ARGUMENT | 6, 'There is not enough `active` stake on the stake pool to `unlock`.'),
  slashedInactiveStakeOnPastOlc: () =>
    new MoveAbort(
      '0x1::delegation_pool',
      'ESLASHED_INACTIVE_STAKE_ON_PAST_OLC',
      INVALID_STATE | 7,
      'Slashing (if implemented) should not be applied to already `inactive` stake. Not only it invalidates the accounting of past observed lockup cycles (OLC), but is also unfair to delegators whose stake has been inactive before validator started misbehaving. Additionally, the inactive stake does not count on the voting power of validator.',
    ),
  activeBalanceTooLow: () => new MoveAbort('0x1::delegation_pool', 'EDELEGATOR_ACTIVE_BALANCE_TOO_LOW', INVALID_ARGUMENT | 8, "Delegator's active balance cannot be less than `MIN_COINS_ON_SHARES_POOL`."),
  pendingInactiveBalanceTooLow: () =>
    new MoveAbort('0x1::delegation_pool', 'EDELEGATOR_PENDING_INACTIVE_BALANCE_TOO_LOW', INVALID_ARGUMENT | 9, "Delegator's pending_inactive balance cannot be less than `MIN_COINS_ON_SHARES_POOL`."),
  withdrawZeroStake: () => new MoveAbort('0x1::delegation_pool', 'EWITHDRAW_ZERO_STAKE', INVALID_ARGUMENT | 11, 'Cannot request to withdraw zero stake.'),
  cannotUnlockNullShareholder: () =>
    new MoveAbort('0x1::delegation_pool', 'ECANNOT_UNLOCK_NULL_SHAREHOLDER', INVALID_ARGUMENT | 27, 'Cannot unlock the accumulated active stake of NULL_SHAREHOLDER(0x0).'),
  stakeExceedsMax: () => new MoveAbort('0x1::stake', 'ESTAKE_EXCEEDS_MAX', INVALID_ARGUMENT | 7, 'Total stake exceeds maximum allowed.'),
  votingPowerIncreaseExceedsLimit: () =>
    new MoveAbort('0x1::stake', 'EVOTING_POWER_INCREASE_EXCEEDS_LIMIT', INVALID_ARGUMENT | 13, 'Voting power increase has exceeded the limit for this current epoch.'),
  /**
   * Paying more APT than the sender holds. On a chain whose APT has moved to
   * the fungible-asset standard (AIP-63) the transfer aborts in
   * `0x1::fungible_asset` (EINSUFFICIENT_BALANCE, reason 4); on a coin-only
   * chain in `0x1::coin` (reason 6). Which one mainnet shows today is
   * unconfirmed; the devnet follows the FA form.
   */
  insufficientBalance: () => new MoveAbort('0x1::fungible_asset', 'EINSUFFICIENT_BALANCE', INVALID_ARGUMENT | 4, 'Insufficient balance to withdraw or transfer.'),
};
