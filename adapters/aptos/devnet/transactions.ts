/**
 * A submitted transaction's bytes as the node reads them: BCS decoded with
 * the SDK's own classes (`SignedTransaction.deserialize`, which mirror
 * types/src/transaction/mod.rs), the signing message
 * `sha3_256("APTOS::RawTransaction") ‖ BCS(RawTransaction)`, the hash
 * `sha3_256(sha3_256("APTOS::Transaction") ‖ 0x00 ‖ BCS(SignedTransaction))`
 * (0x00: `Transaction::UserTransaction`), and the sender's authenticator
 * (types/src/transaction/authenticator.rs).
 */
import { createHash } from 'node:crypto';
import {
  AccountAddress,
  AccountAuthenticatorNoAccountAuthenticator,
  AccountAuthenticatorSingleKey,
  Deserializer,
  EntryFunctionBytes,
  SignedTransaction,
  TransactionAuthenticatorEd25519,
  TransactionAuthenticatorSingleSender,
  TransactionPayloadEntryFunction,
  type EntryFunction,
} from '@aptos-labs/ts-sdk';
import { AptosApiError } from './errors.js';

export function sha3(...parts: (Uint8Array | string)[]): Uint8Array {
  const hash = createHash('sha3-256');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

export function hex(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes).toString('hex')}`;
}

/** An address in the long form the devnet keys state by. */
export function longAddress(address: string | AccountAddress): string {
  return (typeof address === 'string' ? AccountAddress.from(address) : address).toStringLong();
}

/**
 * An address as the API prints it: api/types/src/address.rs shows
 * `to_hex_literal()`, leading zeros dropped (`0x1`). Whether current nodes
 * print the long AIP-40 form instead is unconfirmed.
 */
export function apiAddress(address: string): string {
  const digits = longAddress(address).slice(2).replace(/^0+/, '');
  return `0x${digits === '' ? '0' : digits}`;
}

/** How the sender proved itself. */
export type SenderAuth =
  | { kind: 'ed25519'; publicKey: Uint8Array; signatureValid: boolean; authKey: string; json: Record<string, unknown> }
  | { kind: 'none'; json: Record<string, unknown> };

/** A user transaction, decoded. */
export interface DecodedTransaction {
  signed: SignedTransaction;
  bytes: Uint8Array;
  hash: string;
  sender: string;
  sequenceNumber: bigint;
  maxGasAmount: bigint;
  gasUnitPrice: bigint;
  expirationTimestampSecs: bigint;
  chainId: number;
  entryFunction: EntryFunction;
  /** `0x1::delegation_pool::add_stake`. */
  functionId: string;
  /** The arguments' BCS bytes. */
  args: Uint8Array[];
  auth: SenderAuth;
}

const RAW_TRANSACTION_SALT = 'APTOS::RawTransaction';
const TRANSACTION_SALT = 'APTOS::Transaction';

/**
 * Decodes and hashes a signed transaction. api/src/transactions.rs answers
 * undecodable bytes with 400 invalid_input "Failed to deserialize input into
 * SignedTransaction" (`bcs::from_bytes` also refuses trailing bytes). The
 * devnet carries entry-function payloads and Ed25519 senders (legacy or
 * SingleKey) only; anything else is refused as invalid input, a devnet limit.
 */
export function decodeTransaction(bytes: Uint8Array): DecodedTransaction {
  let signed: SignedTransaction;
  try {
    const deserializer = new Deserializer(bytes);
    signed = SignedTransaction.deserialize(deserializer);
    if (deserializer.remaining() !== 0) throw new Error('trailing bytes');
  } catch {
    throw new AptosApiError(400, 'invalid_input', 'Failed to deserialize input into SignedTransaction');
  }
  const raw = signed.raw_txn;
  if (!(raw.payload instanceof TransactionPayloadEntryFunction)) throw new AptosApiError(400, 'invalid_input', 'devnet: only entry function payloads are supported');
  const entryFunction = raw.payload.entryFunction;
  const signingMessage = Buffer.concat([sha3(RAW_TRANSACTION_SALT), raw.bcsToBytes()]);
  const auth = senderAuth(signed, signingMessage);
  const canonical = signed.bcsToBytes();
  return {
    signed,
    bytes: canonical,
    hash: hex(sha3(sha3(TRANSACTION_SALT), new Uint8Array([0]), canonical)),
    sender: longAddress(raw.sender),
    sequenceNumber: raw.sequence_number,
    maxGasAmount: raw.max_gas_amount,
    gasUnitPrice: raw.gas_unit_price,
    expirationTimestampSecs: raw.expiration_timestamp_secs,
    chainId: raw.chain_id.chainId,
    entryFunction,
    functionId: `${apiAddress(entryFunction.module_name.address.toString())}::${entryFunction.module_name.name.identifier}::${entryFunction.function_name.identifier}`,
    args: entryFunction.args.map((a) => (a instanceof EntryFunctionBytes ? a.value.value : a.bcsToBytes())),
    auth,
  };
}

function senderAuth(signed: SignedTransaction, message: Uint8Array): SenderAuth {
  const a = signed.authenticator;
  if (a instanceof TransactionAuthenticatorEd25519) {
    return {
      kind: 'ed25519',
      publicKey: a.public_key.toUint8Array(),
      signatureValid: a.public_key.verifySignature({ message, signature: a.signature }),
      authKey: a.public_key.authKey().derivedAddress().toStringLong(),
      json: { type: 'ed25519_signature', public_key: a.public_key.toString(), signature: a.signature.toString() },
    };
  }
  if (a instanceof TransactionAuthenticatorSingleSender) {
    const sender = a.sender;
    if (sender instanceof AccountAuthenticatorNoAccountAuthenticator) {
      return { kind: 'none', json: { type: 'single_sender', sender: { type: 'no_account_signature' } } };
    }
    if (sender instanceof AccountAuthenticatorSingleKey) {
      return {
        kind: 'ed25519',
        publicKey: sender.public_key.toUint8Array(),
        signatureValid: sender.public_key.verifySignature({ message, signature: sender.signature }),
        authKey: sender.public_key.authKey().derivedAddress().toStringLong(),
        json: { type: 'single_sender', public_key: { value: sender.public_key.publicKey.toString(), type: 'ed25519' }, signature: { value: sender.signature.signature.toString(), type: 'ed25519' } },
      };
    }
  }
  throw new AptosApiError(400, 'invalid_input', 'devnet: only Ed25519 senders (legacy or SingleKey) are supported');
}

/** Reads entry-function / view arguments by their Move types (`address`, `u64`, `bool`). */
export function decodeArgs(args: readonly Uint8Array[], types: readonly string[]): (string | bigint | boolean)[] {
  if (args.length !== types.length) throw new ArgumentError(`expected ${types.length} arguments, got ${args.length}`);
  return types.map((type, i) => {
    const d = new Deserializer(args[i]!);
    let value: string | bigint | boolean;
    if (type === 'address') value = longAddress(AccountAddress.deserialize(d));
    else if (type === 'u64') value = d.deserializeU64();
    else if (type === 'bool') value = d.deserializeBool();
    else throw new ArgumentError(`devnet: argument type ${type} not supported`);
    if (d.remaining() !== 0) throw new ArgumentError(`argument ${i} has trailing bytes`);
    return value;
  });
}

/** An argument that does not decode as its parameter type (the VM's FAILED_TO_DESERIALIZE_ARGUMENT). */
export class ArgumentError extends Error {}
