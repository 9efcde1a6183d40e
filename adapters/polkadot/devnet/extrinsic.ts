/**
 * A signed extrinsic, checked as a node's transaction pool checks it
 * (`TaggedTransactionQueue_validate_transaction`), in the node's order and
 * words (docs/chains/polkadot.md §3):
 *
 * 1. decode (`substrate/primitives/runtime/src/generic/unchecked_extrinsic.rs`):
 *    v4 only, the length prefix must match, the call must exist;
 * 2. the implicit data the node computes itself (spec and transaction
 *    version, genesis, the hash of the mortal era's birth block, metadata
 *    hash: `frame/system/src/extensions/check_{spec_version,tx_version,genesis,mortality}.rs`,
 *    `frame/metadata-hash-extension`); a missing birth hash is
 *    AncientBirthBlock, any other mismatch surfaces in step 3;
 * 3. the signature over `call ‖ explicit ‖ implicit`, blake2_256-hashed when
 *    longer than 256 bytes (`SignedPayload::using_encoded`) → BadProof;
 * 4. `CheckNonZeroSender` → BadSigner; `CheckNonce` (`check_nonce.rs`):
 *    no providers → Payment, below the account's nonce → Stale, above →
 *    valid in the future; `ChargeAssetTxPayment` (native): fee + tip must
 *    be withdrawable keeping the existential deposit → Payment.
 *
 * Unsigned extrinsics other than inherents have no validator on Asset Hub:
 * UnknownTransaction::NoUnsignedValidator.
 */
import type { GenericExtrinsic, GenericExtrinsicSignatureV4 } from '@polkadot/types';
import { u8aToHex } from '@polkadot/util';
import { blake2AsU8a, signatureVerify } from '@polkadot/util-crypto';

import { RUNTIME_VERSION, type Runtime } from './runtime.js';
import type { Storage } from './state.js';

/** `sp_runtime::transaction_validity::InvalidTransaction`, with the text its `Display`/`From<&str>` gives (transaction_validity.rs). */
export const INVALID_TRANSACTION = {
  Call: 'Transaction call is not expected',
  Payment: 'Inability to pay some fees (e.g. account balance too low)',
  Future: 'Transaction will be valid in the future',
  Stale: 'Transaction is outdated',
  BadProof: 'Transaction has a bad signature',
  AncientBirthBlock: 'Transaction has an ancient birth block',
  ExhaustsResources: 'Transaction would exhaust the block limits',
  BadSigner: 'Invalid signing address',
} as const;

export type InvalidTransaction = keyof typeof INVALID_TRANSACTION;

/** A refusal by the pool, as `author_submit*` answers it (`substrate/client/rpc-api/src/author/error.rs`). */
export class PoolRefusal extends Error {
  constructor(
    readonly code: number,
    readonly rpcMessage: string,
    readonly data?: string,
    /** For InvalidTransaction refusals: which one. */
    readonly invalid?: InvalidTransaction,
  ) {
    super(`${code}: ${rpcMessage}${data === undefined ? '' : `: ${data}`}`);
  }

  static invalid(reason: InvalidTransaction): PoolRefusal {
    return new PoolRefusal(1010, 'Invalid Transaction', INVALID_TRANSACTION[reason], reason);
  }
}

/** The bytes are not an extrinsic (author error 1001 for watch, 1040 "Client error" for submit). */
export class ExtrinsicDecodeError extends Error {}

/** What the devnet charges: see {@link computeFee}. */
export interface FeeSchedule {
  /** `ExtrinsicBaseWeight` turned into fee, planck. */
  base: bigint;
  /** `TransactionByteFee`, planck per byte of the encoded extrinsic. */
  perByte: bigint;
  /** planck per 1 000 000 ref_time (the `WeightToFee` polynomial, linear here). */
  perMegaRefTime: bigint;
}

/** A call's declared weight. */
export interface Weight {
  refTime: bigint;
  proofSize: bigint;
}

/**
 * pallet-transaction-payment `compute_fee` (`frame/transaction-payment/src/lib.rs`):
 * `base + len × byte fee + weight fee`, times the fee multiplier (1 here), plus tip.
 * The devnet's numbers are examples, not Asset Hub's (its `WeightToFee` is a
 * polynomial in the runtime's constants, which the metadata does not carry).
 */
export function computeFee(schedule: FeeSchedule, length: number, weight: Weight): bigint {
  return schedule.base + schedule.perByte * BigInt(length) + (schedule.perMegaRefTime * weight.refTime) / 1_000_000n;
}

/** A decoded and checked signed extrinsic. */
export interface CheckedExtrinsic {
  /** blake2_256 of the whole encoding, length prefix included (the tx hash). */
  hash: string;
  /** The encoding with its compact length prefix, as `chain_getBlock` lists it. */
  bytes: Uint8Array;
  signer: string;
  nonce: number;
  tip: bigint;
  call: GenericExtrinsic['method'];
  /** The block number from which the extrinsic is no longer valid (`death`), Infinity when immortal. */
  death: number;
}

/** What the check needs from the chain. */
export interface CheckContext {
  runtime: Runtime;
  /** State at the best block (or the block being built, for its own transactions). */
  storage: Storage;
  /** The number the check runs at: best + 1 in the pool (Executive initializes the next block first), the block's own number in it. */
  current: number;
  genesisHash: string;
}

/** Decodes the bytes (with length prefix) as the metadata's extrinsic; `trailing`: more arguments follow it (a runtime API call). */
export function decodeExtrinsic(runtime: Runtime, bytes: Uint8Array, trailing = false): GenericExtrinsic {
  let ext: GenericExtrinsic;
  try {
    ext = runtime.registry.createType('Extrinsic', bytes);
  } catch (error) {
    throw new ExtrinsicDecodeError(`Could not decode \`UncheckedExtrinsic\`: ${error instanceof Error ? error.message : String(error)}`);
  }
  // unchecked_extrinsic.rs `decode`: the consumed length must equal the prefix ("Invalid length prefix").
  if (trailing ? ext.encodedLength > bytes.length : ext.encodedLength !== bytes.length) throw new ExtrinsicDecodeError('Could not decode `UncheckedExtrinsic`: Invalid length prefix');
  if (ext.type !== 4) throw new ExtrinsicDecodeError('Could not decode `UncheckedExtrinsic`: Invalid transaction version');
  return ext;
}

/** Era birth for `current` (era.rs `Era::birth`). */
export function eraBirth(period: number, phase: number, current: number): number {
  return Math.floor((Math.max(current, phase) - phase) / period) * period + phase;
}

/** Checks a signed extrinsic as the pool would; returns it, or throws a {@link PoolRefusal} / {@link ExtrinsicDecodeError}. */
export function checkExtrinsic(ctx: CheckContext, bytes: Uint8Array): CheckedExtrinsic {
  const { runtime, storage } = ctx;
  const ext = decodeExtrinsic(runtime, bytes);
  const hash = u8aToHex(blake2AsU8a(bytes, 256));
  if (!ext.isSigned) {
    // Asset Hub has no ValidateUnsigned for user calls (inherents are the block author's).
    throw new PoolRefusal(1011, 'Unknown Transaction Validity', 'Could not find an unsigned validator for the unsigned transaction');
  }
  const sig = (ext.inner as unknown as { signature: GenericExtrinsicSignatureV4 }).signature;
  // CheckMortality::implicit (check_mortality.rs): the hash of the birth block, from System.BlockHash.
  let birthHash = ctx.genesisHash;
  let death = Infinity;
  if (sig.era.isMortalEra) {
    const era = sig.era.asMortalEra;
    const period = era.period.toNumber();
    const phase = era.phase.toNumber();
    const birth = eraBirth(period, phase, ctx.current);
    const stored = storage.get(runtime.key('System', 'BlockHash', birth));
    // BlockHash holds genesis and the last BlockHashCount (4096) parents; a birth in the future has none either.
    if (stored === undefined || birth >= ctx.current) throw PoolRefusal.invalid('AncientBirthBlock');
    birthHash = stored;
    death = birth + period;
  }
  // The payload the node rebuilds with its own implicit data: any difference from what was signed is BadProof.
  const payload = runtime.registry.createType(
    'ExtrinsicPayload',
    {
      method: ext.method.toHex(),
      era: sig.era,
      nonce: sig.nonce,
      tip: sig.tip,
      assetId: sig.assetId,
      mode: sig.mode,
      // CheckMetadataHash: the devnet's runtime carries no metadata hash, so the implicit is None [unconfirmed for Asset Hub builds].
      metadataHash: null,
      specVersion: RUNTIME_VERSION.specVersion,
      transactionVersion: RUNTIME_VERSION.transactionVersion,
      genesisHash: ctx.genesisHash,
      blockHash: birthHash,
    },
    { version: 4 },
  );
  const message = payload.toU8a({ method: true });
  const signed = message.length > 256 ? blake2AsU8a(message, 256) : message;
  // Asset Hub's lookup is AccountIdLookup: only MultiAddress::Id resolves (else UnknownTransaction::CannotLookup).
  const address = sig.signer as unknown as { type: string; value: { toHex(): string } };
  if (address.type !== 'Id') throw new PoolRefusal(1011, 'Unknown Transaction Validity', 'CannotLookup');
  const signer = address.value.toHex();
  const multi = sig.multiSignature.toU8a();
  const expected = ['ed25519', 'sr25519', 'ecdsa'][multi[0]!];
  let valid: boolean;
  try {
    const verdict = signatureVerify(signed, multi, signer);
    valid = verdict.isValid && verdict.crypto === expected;
  } catch {
    valid = false;
  }
  if (!valid) throw PoolRefusal.invalid('BadProof');
  if (/^0x0+$/.test(signer)) throw PoolRefusal.invalid('BadSigner');
  const account = storage.account(signer);
  const nonce = sig.nonce.toNumber();
  // check_nonce.rs: an account that does not exist cannot pay.
  if (account.providers === 0 && account.sufficients === 0) throw PoolRefusal.invalid('Payment');
  if (nonce < account.nonce) throw PoolRefusal.invalid('Stale');
  return { hash, bytes, signer, nonce, tip: sig.tip.toBigInt(), call: ext.method, death };
}
