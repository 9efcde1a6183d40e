/**
 * Gas prices on a chain whose price moves: the Cosmos Hub's fee market
 * (skip-mev/feemarket, x/feemarket/ante/fee.go) checks every transaction's
 * fee against a base gas price that rises with full blocks, in CheckTx and
 * again when the block runs it, and refuses a lower one with the SDK's
 * `insufficient fee` (code 13). The adapter signs at its configured price,
 * or at the price the chain last asked for plus headroom, never above the
 * configured ceiling. Prices are Dec atomics (10^18 = one base unit per gas).
 */
import type { StdFee } from '@cosmjs/stargate';
import { AuthInfo, TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { RetryableError } from '../../src/errors.js';
import { decAtomics } from './amounts.js';
import type { CosmosClient } from './client.js';
import { priceAtomics } from './options.js';

const DEC_ONE = 10n ** 18n;
/** Headroom over the price the chain asked for: one block of a fee market moves it by at most 12.5 %. */
const HEADROOM_PERCENT = 120n;

/** The fee for `gas` at `price`, rounded up as the chain rounds the required fee (`Ceil`). */
export function feeFor(gas: number, price: bigint, denom: string): StdFee {
  const amount = (BigInt(gas) * price + DEC_ONE - 1n) / DEC_ONE;
  return { amount: [{ denom, amount: amount.toString() }], gas: gas.toString() };
}

/** The gas price to sign with now, Dec atomics. @throws RetryableError when the chain asks more than `maxGasPrice`. */
export function signingPrice(client: CosmosClient): bigint {
  const configured = priceAtomics(client.options.gasPrice);
  const asked = client.chainGasPrice();
  if (asked === undefined || asked <= configured) return configured;
  const ceiling = client.options.maxGasPrice;
  if (asked > ceiling) {
    throw new RetryableError(
      `${client.name}: the chain's gas price ${formatPrice(asked)}${client.options.denom} is above the configured maxGasPrice ${formatPrice(ceiling)}${client.options.denom}; waiting for it to come down`,
    );
  }
  const wanted = (asked * HEADROOM_PERCENT) / 100n;
  return wanted > ceiling ? ceiling : wanted;
}

/** A Dec price as a decimal string without trailing zeros. */
export function formatPrice(price: bigint): string {
  const whole = price / DEC_ONE;
  const fraction = (price % DEC_ONE).toString().padStart(18, '0').replace(/0+$/, '');
  return fraction === '' ? whole.toString() : `${whole}.${fraction}`;
}

/**
 * The gas price an `insufficient fee` refusal asks for, Dec atomics:
 * x/feemarket names it (`minGasPrice: 0.03…uatom`); x/auth's fixed minimum
 * names the required fee (`required: 5000uatom`), divided by the gas limit.
 */
export function requiredGasPrice(log: string, gasLimit: bigint, denom: string): bigint | undefined {
  const escaped = denom.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const named = new RegExp(`minGasPrice: ([0-9]+(?:\\.[0-9]{1,18})?)${escaped}`).exec(log);
  if (named !== null) return decAtomics(named[1]!) * (named[1]!.includes('.') ? 1n : DEC_ONE);
  const required = new RegExp(`required: ([0-9]{1,30})${escaped}`).exec(log);
  if (required === null || gasLimit <= 0n) return undefined;
  return (BigInt(required[1]!) * DEC_ONE + gasLimit - 1n) / gasLimit;
}

/** The gas limit and the price per gas a signed transaction offers, Dec atomics. */
export function offeredPrice(bytes: Uint8Array, denom: string): { gasLimit: bigint; price: bigint } {
  const fee = AuthInfo.decode(TxRaw.decode(bytes).authInfoBytes).fee;
  const gasLimit = fee?.gasLimit ?? 0n;
  const amount = (fee?.amount ?? []).filter((c) => c.denom === denom).reduce((sum, c) => sum + BigInt(c.amount), 0n);
  return { gasLimit, price: gasLimit === 0n ? 0n : (amount * DEC_ONE) / gasLimit };
}
