/**
 * Cosmos amounts as the wire carries them, turned into bigint base units:
 * coin lists ("123uatom,5ibc/…"), the SDK's 18-decimal fixed-point Dec
 * (DecCoin rewards, commission rates) and protobuf timestamps. Pure, no
 * floats anywhere: a Dec is split and divided as a decimal string.
 */
import { DENOM_PATTERN } from './options.js';

/** Fractional digits of the Cosmos SDK's (Legacy)Dec. */
export const DEC_PRECISION = 18;
const DEC_ONE = 10n ** BigInt(DEC_PRECISION);

/** A wire amount that is not what the chain would send. */
export class AmountFormatError extends Error {}

/**
 * A Cosmos SDK Dec as bigint atomics (value × 10^18).
 *
 * The protobuf API carries a Dec as its atomics, a plain integer string
 * (5000 uatom of rewards is `"5000000000000000000000"`); JSON and logs show
 * it with a decimal point (`"5000.000000000000000000"`). Both are read here.
 */
export function decAtomics(dec: string): bigint {
  const match = /^(0|[1-9][0-9]{0,77})(?:\.([0-9]{1,18}))?$/.exec(dec);
  if (match === null) throw new AmountFormatError(`not a non-negative Dec: ${JSON.stringify(dec.slice(0, 100))}`);
  const [, whole = '0', fraction] = match;
  if (fraction === undefined) return BigInt(whole);
  return BigInt(whole) * DEC_ONE + BigInt(fraction.padEnd(DEC_PRECISION, '0'));
}

/**
 * A DecCoin amount truncated to whole base units: `"1999999…9"` (1.99… uatom) is 1, never 2.
 * The fraction stays on chain and is paid with a later withdrawal.
 */
export function truncateDec(dec: string): bigint {
  return decAtomics(dec) / DEC_ONE;
}

/**
 * A Dec rate (0 ≤ rate ≤ 1, e.g. a validator's commission) in basis points,
 * truncated: 0.05 → 500.
 */
export function decToBps(dec: string): number {
  const atomics = decAtomics(dec);
  if (atomics > DEC_ONE) throw new AmountFormatError(`a rate above 1: ${dec}`);
  return Number((atomics * 10_000n) / DEC_ONE);
}

/**
 * The amount of `denom` in a Cosmos coin list as events carry it:
 * `"123uatom"`, `"5ibc/27394F…,123uatom"`, or `""` (nothing, 0). Other
 * denoms are ignored; the same denom twice is summed.
 */
export function coinAmount(coins: string, denom: string): bigint {
  let total = 0n;
  const trimmed = coins.trim();
  if (trimmed === '') return 0n;
  for (const part of trimmed.split(',')) {
    const match = /^([0-9]{1,78})([a-zA-Z][a-zA-Z0-9/:._-]*)$/.exec(part.trim());
    if (match === null || !DENOM_PATTERN.test(match[2]!)) {
      throw new AmountFormatError(`not a coin: ${JSON.stringify(part.slice(0, 140))}`);
    }
    if (match[2] === denom) total += BigInt(match[1]!);
  }
  return total;
}

/** An Int amount (a protobuf Coin's `amount`): a non-negative integer string. */
export function intAmount(amount: string): bigint {
  if (!/^(0|[1-9][0-9]{0,77})$/.test(amount)) throw new AmountFormatError(`not a non-negative integer: ${JSON.stringify(amount.slice(0, 100))}`);
  return BigInt(amount);
}

/** The sum of `denom` in a list of protobuf Coins (a fee, a balance). */
export function sumCoins(coins: readonly { denom: string; amount: string }[], denom: string): bigint {
  return coins.reduce((sum, coin) => (coin.denom === denom ? sum + intAmount(coin.amount) : sum), 0n);
}

/** A protobuf Timestamp (seconds + nanos) in whole milliseconds, truncated. */
export function timestampMs(timestamp: { seconds: bigint; nanos: number }): number {
  const ms = timestamp.seconds * 1000n + BigInt(Math.trunc(timestamp.nanos / 1_000_000));
  if (ms < 0n || ms > BigInt(Number.MAX_SAFE_INTEGER)) throw new AmountFormatError(`timestamp out of range: ${timestamp.seconds}s`);
  return Number(ms);
}
