/**
 * The Cosmos devnet's application state (what the SDK keeps in its stores)
 * and the fixed-point helpers the modules share. Plain data, so a
 * transaction can run on a copy and be thrown away when it fails, as the
 * SDK's cache-wrapped stores do.
 *
 * Units: token amounts are `bigint` base units (`Int` in the SDK); shares,
 * rates and reward amounts are `LegacyDec`: a `bigint` scaled by 10^18, the
 * same integer the SDK puts on the wire ("5000uatom" of rewards is the
 * DecCoin amount "5000000000000000000000").
 */
import { createHash } from 'node:crypto';
import { fromBech32 } from '@cosmjs/encoding';

/** 10^18: one in `LegacyDec` fixed point. */
export const DEC_ONE = 10n ** 18n;
/** Scale of the per-share reward accumulator: reward Dec per share Dec × 10^36 keeps sub-attounit precision. */
export const RATIO_SCALE = 10n ** 36n;
/** Tokens per unit of consensus power (the SDK's `DefaultPowerReduction`). */
export const POWER_REDUCTION = 1_000_000n;
/** A Julian year, ms: the period an annual inflation rate refers to. */
export const YEAR_MS = 31_557_600_000n;

/** One account of x/auth with its x/bank balance in the bond denom. */
export interface AccountState {
  address: string;
  accountNumber: bigint;
  sequence: bigint;
  /** Compressed secp256k1 public key, set by the first transaction the account signs. */
  pubkey: Uint8Array | undefined;
  /** Spendable balance, base units. */
  balance: bigint;
}

/** One validator of x/staking with its x/distribution bookkeeping. */
export interface ValidatorState {
  operator: string;
  /** The operator's account address (same bytes, account prefix): holds the self-delegation. */
  account: string;
  moniker: string;
  /** Commission rate, Dec. */
  commissionRate: bigint;
  maxCommissionRate: bigint;
  maxChangeRate: bigint;
  /** Time of the last commission change, ms. */
  commissionUpdatedAt: number;
  /** Bonded tokens, base units (what slashing burns). */
  tokens: bigint;
  /** Total delegator shares, Dec. */
  shares: bigint;
  jailed: boolean;
  /** In the active set (bonded): earns rewards. */
  bonded: boolean;
  unbondingHeight: bigint;
  /** When it left the active set, ms (0 while bonded). */
  unbondingTime: number;
  /** Ed25519 consensus public key (derived; never signs anything). */
  consensusPubkey: Uint8Array;
  /** First 20 bytes of sha256(consensusPubkey): the CometBFT validator address. */
  consensusAddress: Uint8Array;
  /** Cumulative delegator reward per share, Dec × RATIO_SCALE / Dec. */
  rewardRatio: bigint;
  /** Accumulated, unwithdrawn commission, Dec. */
  commission: bigint;
  /** Rewards allocated and not yet withdrawn (delegators' + commission), Dec. */
  outstanding: bigint;
}

/** A delegation (x/staking) and its reward starting point (x/distribution). */
export interface DelegationState {
  delegator: string;
  validator: string;
  /** Dec. */
  shares: bigint;
  /** The validator's `rewardRatio` when the rewards were last paid out. */
  startRatio: bigint;
}

/** One unbonding delegation entry. */
export interface UnbondingEntryState {
  id: bigint;
  delegator: string;
  validator: string;
  creationHeight: bigint;
  /** ms. */
  completionTime: number;
  initialBalance: bigint;
  balance: bigint;
}

/**
 * One redelegation entry (x/staking `RedelegationEntry`): stake moved from
 * `source` to `destination` at `creationHeight`, slashable for the source's
 * infractions until `completionTime`, through the `sharesDst` it bought.
 */
export interface RedelegationEntryState {
  delegator: string;
  source: string;
  destination: string;
  creationHeight: bigint;
  /** ms. */
  completionTime: number;
  initialBalance: bigint;
  /** Dec: the destination shares the redelegated tokens bought. */
  sharesDst: bigint;
}

/** Everything a block or a transaction can change. */
export interface ChainState {
  accounts: Map<string, AccountState>;
  /** In genesis order. */
  validators: Map<string, ValidatorState>;
  /** Keyed by {@link delegationKey}. */
  delegations: Map<string, DelegationState>;
  /** Sorted by completion time (entries are created at the block time + a constant). */
  unbonding: UnbondingEntryState[];
  /** Sorted by completion time, as `unbonding`. */
  redelegations: RedelegationEntryState[];
  /** The fee market's current base gas price, Dec (0 without a fee market). */
  baseGasPrice: bigint;
  nextAccountNumber: bigint;
  nextUnbondingId: bigint;
  /** Total supply of the bond denom, base units. */
  supply: bigint;
  /** Fees collected in the current block, paid out as rewards at the next one. */
  feeCollector: bigint;
  /** x/distribution community pool, Dec. */
  communityPool: bigint;
  /** Sub-unit minted provisions carried to the next block, Dec. */
  mintCarry: bigint;
  /**
   * Rewards paid out (withdraw_rewards) and stake lost to slashes since the
   * last commit, on this branch: the chain books them into its ground-truth
   * ledger when the branch commits, so a failed transaction books nothing.
   */
  truth: { account: string; kind: 'reward' | 'slash'; amount: bigint }[];
}

/** The key of a delegation in {@link ChainState.delegations}. */
export function delegationKey(delegator: string, validator: string): string {
  return `${delegator}/${validator}`;
}

/** A deep copy, for running a transaction or a simulation on a branch. */
export function cloneState(state: ChainState): ChainState {
  return {
    accounts: new Map([...state.accounts].map(([k, v]) => [k, { ...v }])),
    validators: new Map([...state.validators].map(([k, v]) => [k, { ...v }])),
    delegations: new Map([...state.delegations].map(([k, v]) => [k, { ...v }])),
    unbonding: state.unbonding.map((e) => ({ ...e })),
    redelegations: state.redelegations.map((e) => ({ ...e })),
    baseGasPrice: state.baseGasPrice,
    nextAccountNumber: state.nextAccountNumber,
    nextUnbondingId: state.nextUnbondingId,
    supply: state.supply,
    feeCollector: state.feeCollector,
    communityPool: state.communityPool,
    mintCarry: state.mintCarry,
    truth: [...state.truth],
  };
}

/** An ABCI event attribute, as CometBFT 0.38 serves it (strings, with the index flag). */
export interface EventAttribute {
  key: string;
  value: string;
  index: boolean;
}

/** An ABCI event. */
export interface AbciEvent {
  type: string;
  attributes: EventAttribute[];
}

/** Builds an event from `[key, value]` pairs, every attribute indexed (the SDK 0.50 default). */
export function event(type: string, pairs: readonly (readonly [string, string])[]): AbciEvent {
  return { type, attributes: pairs.map(([key, value]) => ({ key, value, index: true })) };
}

/** `1234uatom`, the SDK's `Coin.String()`. */
export function coinString(amount: bigint, denom: string): string {
  return `${amount}${denom}`;
}

/** The SDK's `LegacyDec.String()`: 18 fractional digits, e.g. `0.050000000000000000`. */
export function decString(dec: bigint): string {
  const negative = dec < 0n;
  const abs = negative ? -dec : dec;
  const whole = abs / DEC_ONE;
  const fraction = (abs % DEC_ONE).toString().padStart(18, '0');
  return `${negative ? '-' : ''}${whole}.${fraction}`;
}

/**
 * Parses a non-negative decimal string ("0.05", "12", "0.025") into a Dec.
 * @throws RangeError on anything else, or more than 18 fractional digits.
 */
export function parseDec(text: string, what: string): bigint {
  const match = /^(\d+)(?:\.(\d{1,18}))?$/.exec(text.trim());
  if (match === null) throw new RangeError(`cosmos devnet: ${what} must be a non-negative decimal like "0.05", got ${JSON.stringify(text)}`);
  return BigInt(match[1]!) * DEC_ONE + BigInt((match[2] ?? '').padEnd(18, '0'));
}

/** Parses a gas price like `0.025uatom` into its Dec amount and denom. */
export function parseGasPrice(text: string): { amount: bigint; denom: string } {
  const match = /^(\d+(?:\.\d{1,18})?)([a-zA-Z][a-zA-Z0-9/:._-]{2,127})$/.exec(text.trim());
  if (match === null) throw new RangeError(`cosmos devnet: minGasPrice must look like "0.025uatom", got ${JSON.stringify(text)}`);
  return { amount: parseDec(match[1]!, 'minGasPrice'), denom: match[2]! };
}

/** Tokens a number of shares is worth at the validator's exchange rate, truncated (`TokensFromShares(...).TruncateInt()`). */
export function tokensFromShares(validator: ValidatorState, shares: bigint): bigint {
  if (validator.shares === 0n) return 0n;
  return (shares * validator.tokens) / validator.shares;
}

/** RFC 3339 with nanoseconds, as CometBFT prints times: `2025-01-01T00:00:00.123000000Z`. */
export function rfc3339(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 19)}.${iso.slice(20, 23)}000000Z`;
}

/** A protobuf `Timestamp` for a time in ms. */
export function timestamp(ms: number): { seconds: bigint; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds: BigInt(seconds), nanos: (ms - seconds * 1000) * 1_000_000 };
}

/** sha256 of the concatenated parts. */
export function sha256Of(...parts: (Uint8Array | string)[]): Uint8Array {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

/** Uppercase hex, as CometBFT prints hashes. */
export function hexUpper(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').toUpperCase();
}

/**
 * `fromBech32` with an explicit length limit: cosmjs 0.39's default
 * (`Infinity`) is refused by @scure/base 2.x ("limit: expected safe integer").
 */
export function decodeBech32(address: string): { prefix: string; data: Uint8Array } {
  return fromBech32(address, 1023);
}
