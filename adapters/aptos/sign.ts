/**
 * Aptos signing: one `0x1::delegation_pool` entry function per action,
 * built with the SDK's own classes from what the node says (chain id and
 * ledger time from `GET /v1`, the sequence number at that version, the gas
 * price from `estimate_gas_price`), simulated first (the SDK signs a
 * simulation with an all-zero signature, as the node demands), then signed
 * with the maximum gas the simulation showed it needs. The only place the
 * key is used.
 *
 * - delegate: `add_stake(pool, amount)`, or `reactivate_stake(pool,
 *   amount)` where the custody has at least that much pending_inactive in
 *   the pool (an unlock taken back before its lockup ends: no add-stake fee,
 *   and the stake earns on);
 * - undelegate: `unlock(pool, amount)`;
 * - withdraw: `withdraw(pool, u64::MAX)`, everything withdrawable (the
 *   framework caps it at the delegator's balance);
 * - claim: `synchronize_delegation_pool(pool)`; never due (rewards compound),
 *   signed only when asked.
 */
import {
  AccountAddress,
  ChainId,
  EntryFunction,
  generateSignedTransaction,
  generateUserTransactionHash,
  getAptosFullNode,
  RawTransaction,
  SimpleTransaction,
  TransactionPayloadEntryFunction,
  U64,
  type Ed25519Account,
  type EntryFunctionArgument,
  type PublicKey,
  type UserTransactionResponse,
} from '@aptos-labs/ts-sdk';
import * as z from 'zod';

import { SoftstakeError } from '../../src/errors.js';
import { TxRejectedError } from '../errors.js';
import type { SignedTx, StakeAction } from '../types.js';
import type { AptosClient, Ledger } from './client.js';

const MAX_U64 = (1n << 64n) - 1n;

/** Gas units assumed for an `add_stake` when a simulation cannot tell (the account does not exist yet). Of the order a node charges (unconfirmed). */
const FALLBACK_GAS_UNITS = 2_000n;

/**
 * A stake operation refused because an epoch change is under way: with
 * randomness on, stake.move aborts ERECONFIGURATION_IN_PROGRESS (0x30014)
 * between `reconfiguration_with_dkg::try_start` and `finish`, for seconds.
 * Retryable: sign again once the new epoch has begun.
 */
export class ReconfigurationInProgressError extends SoftstakeError {
  override readonly retryable = true;

  constructor(readonly chain: string) {
    super(`${chain}: an epoch change is under way (stake.move ERECONFIGURATION_IN_PROGRESS); try again in a few seconds`);
  }
}

const gasEstimateSchema = z.object({ gas_estimate: z.number().int().positive() }).loose();

/** `GET /v1/estimate_gas_price`, asked each time (the SDK's own call is memoised for 5 minutes process-wide). */
async function gasPrice(client: AptosClient): Promise<bigint> {
  const response = await client.call((aptos) => getAptosFullNode<object, object>({ aptosConfig: aptos.config, originMethod: 'getGasPriceEstimation', path: 'estimate_gas_price' }));
  return BigInt(client.parse(gasEstimateSchema, response.data, 'estimate_gas_price').gas_estimate);
}

interface Call {
  fn: 'add_stake' | 'reactivate_stake' | 'unlock' | 'withdraw' | 'synchronize_delegation_pool';
  pool: string;
  amount?: bigint;
}

function payloadOf(call: Call): TransactionPayloadEntryFunction {
  const args: EntryFunctionArgument[] = [AccountAddress.from(call.pool)];
  if (call.amount !== undefined) args.push(new U64(call.amount));
  return new TransactionPayloadEntryFunction(EntryFunction.build('0x1::delegation_pool', call.fn, [], args));
}

/** The abort's name in a `vm_status` (`Move abort in 0x1::stake: ERECONFIGURATION_IN_PROGRESS(0x30014): …`), else the status itself. */
export function statusCode(vmStatus: string): string {
  return /: ([A-Z][A-Z0-9_]+)\(0x[0-9a-f]+\)/.exec(vmStatus)?.[1] ?? vmStatus.split(/[\n:]/)[0]!.slice(0, 100);
}

/**
 * Simulates `call` from `sender` as of `ledger` (a simulation commits
 * nothing), with the node estimating the max gas from the balance.
 */
async function simulate(client: AptosClient, sender: string, publicKey: PublicKey | undefined, call: Call, ledger: Ledger, price: bigint): Promise<{ raw: (maxGas: bigint) => RawTransaction; result: UserTransactionResponse }> {
  const sequence = await client.sequenceNumber(sender, ledger.version);
  // Chain time, not the local clock: transaction_validation.move compares it with the block timestamp.
  const expiration = ledger.timestampUs / 1_000_000n + client.options.expirationSecs;
  const raw = (maxGas: bigint): RawTransaction => new RawTransaction(AccountAddress.from(sender), sequence, payloadOf(call), maxGas, price, expiration, new ChainId(ledger.chainId));
  const [result] = await client.call((aptos) =>
    aptos.transaction.simulate.simple({ ...(publicKey === undefined ? {} : { signerPublicKey: publicKey }), transaction: new SimpleTransaction(raw(FALLBACK_GAS_UNITS)), options: { estimateMaxGasAmount: true } }),
  );
  if (result === undefined) throw new TxRejectedError(client.name, undefined, 'simulation', 'the node answered a simulation with no transaction', false);
  return { raw, result };
}

/** What one `add_stake` of `amount` into `pool` costs the custody in gas, by a simulation from its address (no key). */
export async function simulateFee(client: AptosClient, pool: string, amount: bigint, ledger: Ledger): Promise<bigint> {
  const price = await gasPrice(client);
  const { result } = await simulate(client, await client.address(), undefined, { fn: 'add_stake', pool, amount }, ledger, price);
  const gas = BigInt(result.gas_used);
  return (gas > 0n ? gas : FALLBACK_GAS_UNITS) * price;
}

export async function signAction(client: AptosClient, action: StakeAction, step = 0): Promise<SignedTx> {
  const refuse = (code: string, log: string) => new TxRejectedError(client.name, undefined, code, log, false);
  if (step !== 0) throw refuse('invalid-step', `an Aptos ${action.kind} is one transaction; there is no step ${step}`);
  if (action.kind === 'claim' && action.validators.length !== 1) throw refuse('invalid-claim', 'an Aptos claim synchronizes exactly one pool');
  const named = action.kind === 'claim' ? action.validators[0] : action.validator;
  if (named === undefined) throw refuse('invalid-withdraw', 'an Aptos withdrawal names its pool');
  let pool: string;
  try {
    pool = AccountAddress.from(named, { maxMissingChars: 63 }).toStringLong();
  } catch {
    throw refuse('unknown-pool', `${named} is not an Aptos address`);
  }
  if (!client.poolSet.has(pool)) throw refuse('unknown-pool', `${named} is not one of the configured delegation pools`);
  if ((action.kind === 'delegate' || action.kind === 'undelegate') && action.amount <= 0n) throw refuse('invalid-amount', `${action.kind} amount must be > 0, got ${action.amount}`);
  if ((action.kind === 'delegate' || action.kind === 'undelegate') && action.amount > MAX_U64) throw refuse('invalid-amount', `${action.kind} amount exceeds u64`);

  const key = await client.custody();
  const sender = key.accountAddress.toStringLong();
  const ledger = await client.ledger();
  let call: Call;
  switch (action.kind) {
    case 'delegate': {
      const [, , pendingInactive] = await client.stake(pool, sender, ledger.version);
      call = { fn: pendingInactive >= action.amount ? 'reactivate_stake' : 'add_stake', pool, amount: action.amount };
      break;
    }
    case 'undelegate':
      call = { fn: 'unlock', pool, amount: action.amount };
      break;
    case 'withdraw':
      call = { fn: 'withdraw', pool, amount: MAX_U64 };
      break;
    case 'claim':
      call = { fn: 'synchronize_delegation_pool', pool };
      break;
  }
  return signCall(client, key, call, ledger);
}

async function signCall(client: AptosClient, key: Ed25519Account, call: Call, ledger: Ledger): Promise<SignedTx> {
  const price = await gasPrice(client);
  const { raw, result } = await simulate(client, key.accountAddress.toStringLong(), key.publicKey, call, ledger, price);
  if (!result.success) {
    const code = statusCode(result.vm_status);
    if (code === 'ERECONFIGURATION_IN_PROGRESS') throw new ReconfigurationInProgressError(client.name);
    throw new TxRejectedError(client.name, undefined, code, `simulation of ${call.fn}: ${result.vm_status}`, false);
  }
  // withdraw returns silently when nothing is withdrawable (delegation_pool.move withdraw_internal): success moves nothing.
  if (call.fn === 'withdraw' && !result.events.some((e) => e.type === '0x1::delegation_pool::WithdrawStake')) {
    throw new TxRejectedError(client.name, undefined, 'nothing-to-withdraw', `nothing is withdrawable from ${call.pool} yet`, false);
  }
  // The node charges what the transaction uses; max gas only has to cover it (and the balance must cover max gas × price).
  const used = BigInt(result.gas_used);
  const transaction = new SimpleTransaction(raw(used + used / 2n + 10n));
  const senderAuthenticator = key.signTransactionWithAuthenticator(transaction);
  const bytes = generateSignedTransaction({ transaction, senderAuthenticator });
  const hash = generateUserTransactionHash({ transaction, senderAuthenticator });
  // transaction_validation.move: valid while the block time is < expiration_timestamp_secs, so never from that second on.
  return { hash, bytes, expires: { at: Number(transaction.rawTransaction.expiration_timestamp_secs) * 1000 - 1 } };
}
