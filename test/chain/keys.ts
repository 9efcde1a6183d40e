/**
 * The testchain's "SDK": keys, addresses and the transaction codec, shared
 * by the devnet (which decodes and verifies) and the adapter (which signs),
 * the way a real chain's devnet and adapter share the chain's own codecs.
 *
 * - Keys are ed25519 (node:crypto); a secret is the 32-byte seed as hex.
 * - An address is `test1` + hex of the first 20 bytes of sha256(raw public key).
 * - A transaction body is canonical JSON (fixed key order, no spaces,
 *   integers as decimal strings); the wire form is
 *   `{"body":"<base64>","signature":"<base64>"}` and the hash is
 *   sha256(body bytes ‖ signature), upper-case hex.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import * as z from 'zod';

/** Every testchain address starts with this. */
export const ADDRESS_PREFIX = 'test1';

/** A fresh key: its secret (what a signer file holds) and its address. */
export interface TestKey {
  /** The 32-byte ed25519 seed, hex. Secret. */
  secretHex: string;
  address: string;
}

/** What a transaction asks the chain to do. */
export type TxKind = 'delegate' | 'undelegate' | 'withdraw';

/** A transaction body, before encoding. */
export interface TxBody {
  /** The chain id; a body for another chain is rejected (replay protection). */
  chain: string;
  /** The sender's address; must be the address of `pubkey`. */
  from: string;
  /** The sender's raw ed25519 public key, hex. */
  pubkey: string;
  /** Must equal the account's nonce: one transaction per nonce. */
  nonce: bigint;
  /** Fee offered, base units; at least the chain's minimum fee. */
  fee: bigint;
  kind: TxKind;
  /** delegate/undelegate: the validator. */
  validator?: string;
  /** delegate/undelegate: base units, > 0. */
  amount?: bigint;
}

/** A decoded wire transaction. */
export interface WireTx {
  bodyBytes: Uint8Array;
  signature: Uint8Array;
}

/** Bytes that are not a well-formed testchain transaction. */
export class TxDecodeError extends Error {
  override readonly name = 'TxDecodeError';
}

const SEED_HEX = /^[0-9a-fA-F]{64}$/;
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function privateKeyOf(seedHex: string): KeyObject {
  if (!SEED_HEX.test(seedHex)) throw new Error('testchain key: expected a 32-byte ed25519 seed as 64 hex characters');
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, Buffer.from(seedHex, 'hex')]), format: 'der', type: 'pkcs8' });
}

function rawPublicKey(key: KeyObject): Uint8Array {
  return new Uint8Array(createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519_PREFIX.length));
}

/** The address of a raw 32-byte ed25519 public key. */
export function addressOfPublicKey(publicKey: Uint8Array): string {
  return ADDRESS_PREFIX + createHash('sha256').update(publicKey).digest('hex').slice(0, 40);
}

/** The raw public key (hex) of a seed. */
export function publicKeyOf(seedHex: string): string {
  return Buffer.from(rawPublicKey(privateKeyOf(seedHex))).toString('hex');
}

/** The address of a seed. */
export function addressOf(seedHex: string): string {
  return addressOfPublicKey(rawPublicKey(privateKeyOf(seedHex)));
}

/** A new random key. */
export function generateTestKey(): TestKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_ED25519_PREFIX.length);
  const secretHex = Buffer.from(seed).toString('hex');
  return { secretHex, address: addressOf(secretHex) };
}

/** The canonical bytes of a body: what is signed and hashed. */
export function encodeTxBody(body: TxBody): Uint8Array {
  const ordered: Record<string, string> = {
    chain: body.chain,
    from: body.from,
    pubkey: body.pubkey,
    nonce: body.nonce.toString(),
    fee: body.fee.toString(),
    kind: body.kind,
  };
  if (body.validator !== undefined) ordered.validator = body.validator;
  if (body.amount !== undefined) ordered.amount = body.amount.toString();
  return new TextEncoder().encode(JSON.stringify(ordered));
}

const uint = z.string().regex(/^(0|[1-9][0-9]{0,77})$/, 'a non-negative decimal integer string');
const bodySchema = z.strictObject({
  chain: z.string().min(1).max(64),
  from: z.string().min(1).max(128),
  pubkey: z.string().regex(/^[0-9a-f]{64}$/, '32 bytes of lower-case hex'),
  nonce: uint,
  fee: uint,
  kind: z.enum(['delegate', 'undelegate', 'withdraw']),
  validator: z.string().min(1).max(128).optional(),
  amount: uint.optional(),
});

/**
 * Decodes body bytes. Accepts only the canonical encoding, so one
 * transaction has exactly one byte form and one hash.
 * @throws TxDecodeError
 */
export function decodeTxBody(bytes: Uint8Array): TxBody {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new TxDecodeError('tx body is not UTF-8 JSON');
  }
  const parsed = bodySchema.safeParse(json);
  if (!parsed.success) throw new TxDecodeError(`tx body: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const raw = parsed.data;
  const body: TxBody = { chain: raw.chain, from: raw.from, pubkey: raw.pubkey, nonce: BigInt(raw.nonce), fee: BigInt(raw.fee), kind: raw.kind };
  if (raw.validator !== undefined) body.validator = raw.validator;
  if (raw.amount !== undefined) body.amount = BigInt(raw.amount);
  if (Buffer.compare(Buffer.from(encodeTxBody(body)), Buffer.from(bytes)) !== 0) throw new TxDecodeError('tx body is not in canonical form');
  return body;
}

/** The hash the chain knows a transaction by. */
export function txHash(bodyBytes: Uint8Array, signature: Uint8Array): string {
  return createHash('sha256').update(bodyBytes).update(signature).digest('hex').toUpperCase();
}

const wireSchema = z.strictObject({ body: z.base64().max(8192), signature: z.base64().max(256) });

/** Encodes a wire transaction: the exact bytes to broadcast. */
export function encodeWireTx(tx: WireTx): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({ body: Buffer.from(tx.bodyBytes).toString('base64'), signature: Buffer.from(tx.signature).toString('base64') }),
  );
}

/** @throws TxDecodeError */
export function decodeWireTx(bytes: Uint8Array): WireTx {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new TxDecodeError('tx is not UTF-8 JSON');
  }
  const parsed = wireSchema.safeParse(json);
  if (!parsed.success) throw new TxDecodeError('tx must be {"body": base64, "signature": base64}');
  return { bodyBytes: new Uint8Array(Buffer.from(parsed.data.body, 'base64')), signature: new Uint8Array(Buffer.from(parsed.data.signature, 'base64')) };
}

/** Signs a body with a seed: the wire bytes and the hash. */
export function signTx(body: TxBody, seedHex: string): { bytes: Uint8Array; hash: string } {
  const bodyBytes = encodeTxBody(body);
  const signature = new Uint8Array(sign(null, bodyBytes, privateKeyOf(seedHex)));
  return { bytes: encodeWireTx({ bodyBytes, signature }), hash: txHash(bodyBytes, signature) };
}

/** Whether `signature` is `pubkeyHex`'s ed25519 signature of `bodyBytes`. */
export function verifyTxSignature(bodyBytes: Uint8Array, signature: Uint8Array, pubkeyHex: string): boolean {
  if (signature.length !== 64 || !/^[0-9a-f]{64}$/.test(pubkeyHex)) return false;
  try {
    const key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, Buffer.from(pubkeyHex, 'hex')]), format: 'der', type: 'spki' });
    return verify(null, bodyBytes, key, signature);
  } catch {
    return false;
  }
}
