/**
 * The REST API's JSON for transactions and events, field for field as
 * api/types/src/transaction.rs serializes them (u64 as decimal strings,
 * addresses as `to_hex_literal`, V2 module events with the zero guid).
 */
import { findFunction } from './abi.js';
import { apiAddress, decodeArgs, hex, sha3, type DecodedTransaction } from './transactions.js';

/** A module event as the chain emitted it. */
export interface ChainEvent {
  type: string;
  data: Record<string, unknown>;
}

const ADDRESS_FIELDS = new Set(['pool_address', 'delegator_address', 'operator', 'beneficiary']);

/** A V2 module event: `guid {creation_number "0", account_address "0x0"}`, sequence_number "0". */
export function eventJson(event: ChainEvent): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event.data)) data[key] = ADDRESS_FIELDS.has(key) && typeof value === 'string' ? apiAddress(value) : typeof value === 'bigint' ? value.toString() : value;
  return { guid: { creation_number: '0', account_address: '0x0' }, sequence_number: '0', type: event.type, data };
}

/** `EntryFunctionPayload` JSON: arguments rendered by the function's ABI (address → string, u64 → string). */
export function payloadJson(tx: DecodedTransaction): Record<string, unknown> {
  const [address, module, name] = tx.functionId.split('::') as [string, string, string];
  const abi = address === '0x1' ? findFunction(module, name) : undefined;
  let args: unknown[] = tx.args.map((a) => hex(a));
  if (abi !== undefined) {
    try {
      args = decodeArgs(tx.args, abi.params.filter((p) => p !== '&signer' && p !== 'signer')).map((v) => (typeof v === 'string' ? apiAddress(v) : typeof v === 'bigint' ? v.toString() : v));
    } catch {
      // Undecodable arguments stay as the bytes sent.
    }
  }
  return { function: tx.functionId, type_arguments: [], arguments: args, type: 'entry_function_payload' };
}

/** `PendingTransaction` (submit's 202, and by_hash while in mempool with `type: pending_transaction`). */
export function pendingJson(tx: DecodedTransaction): Record<string, unknown> {
  return {
    hash: tx.hash,
    sender: apiAddress(tx.sender),
    sequence_number: tx.sequenceNumber.toString(),
    max_gas_amount: tx.maxGasAmount.toString(),
    gas_unit_price: tx.gasUnitPrice.toString(),
    expiration_timestamp_secs: tx.expirationTimestampSecs.toString(),
    payload: payloadJson(tx),
    signature: tx.auth.json,
  };
}

/** What executing a transaction produced. */
export interface Outcome {
  success: boolean;
  vmStatus: string;
  gasUsed: bigint;
  events: ChainEvent[];
}

/** `UserTransaction` (by_hash, wait_by_hash, account transactions, simulate). */
export function userTransactionJson(tx: DecodedTransaction, outcome: Outcome, version: bigint, timestampUs: bigint, simulated: boolean): Record<string, unknown> {
  const zero = `0x${'0'.repeat(64)}`;
  // The devnet keeps no Merkle trees: these are stand-ins of the right shape (zero in a simulation, as the node sends).
  const digest = (salt: string): string => (simulated ? zero : hex(sha3(salt, tx.hash)));
  return {
    version: version.toString(),
    hash: tx.hash,
    state_change_hash: digest('state'),
    event_root_hash: digest('events'),
    state_checkpoint_hash: null,
    gas_used: outcome.gasUsed.toString(),
    success: outcome.success,
    vm_status: outcome.vmStatus,
    accumulator_root_hash: digest('accumulator'),
    // Write-set changes are not listed by the devnet (a node lists every resource the transaction wrote).
    changes: [],
    ...pendingJson(tx),
    replay_protection_nonce: null,
    events: outcome.events.map(eventJson),
    timestamp: timestampUs.toString(),
    type: 'user_transaction',
  };
}
