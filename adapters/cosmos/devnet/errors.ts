/**
 * ABCI errors as the Cosmos SDK reports them: a codespace, a code and a log
 * that ends with the registered error's description (`errorsmod.Wrap`).
 */

/** A failure the SDK would report with `(codespace, code, log)`. */
export class SdkError extends Error {
  constructor(
    readonly codespace: string,
    readonly code: number,
    readonly log: string,
  ) {
    super(log);
    this.name = 'SdkError';
  }
}

/** Registered errors: codespace, code, description. */
const REGISTERED = {
  txDecode: ['sdk', 2, 'tx parse error'],
  unauthorized: ['sdk', 4, 'unauthorized'],
  insufficientFunds: ['sdk', 5, 'insufficient funds'],
  unknownRequest: ['sdk', 6, 'unknown request'],
  invalidAddress: ['sdk', 7, 'invalid address'],
  invalidPubKey: ['sdk', 8, 'invalid pubkey'],
  unknownAddress: ['sdk', 9, 'unknown address'],
  invalidCoins: ['sdk', 10, 'invalid coins'],
  outOfGas: ['sdk', 11, 'out of gas'],
  memoTooLarge: ['sdk', 12, 'memo too large'],
  insufficientFee: ['sdk', 13, 'insufficient fee'],
  noSignatures: ['sdk', 15, 'no signatures supplied'],
  invalidRequest: ['sdk', 18, 'invalid request'],
  keyNotFound: ['sdk', 22, 'key not found'],
  invalidHeight: ['sdk', 26, 'invalid height'],
  txTimeoutHeight: ['sdk', 30, 'tx timeout height'],
  wrongSequence: ['sdk', 32, 'incorrect account sequence'],
  noValidatorFound: ['staking', 3, 'validator does not exist'],
  noDelegation: ['staking', 19, 'no delegation for (address, validator) tuple'],
  maxUnbondingEntries: ['staking', 27, 'too many unbonding delegation entries for (delegator, validator) tuple'],
  selfRedelegation: ['staking', 29, 'cannot redelegate to the same validator'],
  tinyRedelegation: ['staking', 30, 'too few tokens to redelegate (truncates to zero tokens)'],
  transitiveRedelegation: ['staking', 32, 'redelegation to this validator already in progress; first redelegation to this validator must complete before next redelegation'],
  maxRedelegationEntries: ['staking', 33, 'too many redelegation entries for (delegator, src-validator, dst-validator) tuple'],
  delegatorShareExRateInvalid: ['staking', 34, 'cannot delegate to validators with invalid (zero) ex-rate'],
  commissionTooHigh: ['staking', 12, 'commission cannot be more than the max rate'],
  distrNoValidator: ['distribution', 12, 'validator does not exist'],
  distrNoDelegation: ['distribution', 13, 'delegation does not exist'],
  injected: ['devnet', 1, 'injected failure'],
} as const;

/** Names of the registered errors the devnet raises. */
export type SdkErrorName = keyof typeof REGISTERED;

/** `errorsmod.Wrap(err, message)`: `${message}: ${description}`. */
export function sdkError(name: SdkErrorName, message?: string): SdkError {
  const [codespace, code, description] = REGISTERED[name];
  return new SdkError(codespace, code, message === undefined || message === '' ? description : `${message}: ${description}`);
}
