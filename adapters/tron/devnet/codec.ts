/**
 * The TRON devnet's codecs, on tronweb's own: addresses (21 bytes, `41`
 * prefix, hex or base58check), the broadcast transaction rebuilt from its
 * `raw_data` JSON into protobuf (`txJsonToPb`, as java-tron's
 * `Util.packTransaction` rebuilds it: `txID` and `raw_data_hex` are not read),
 * the txid (sha256 of the raw bytes), the signer recovered from a 65-byte
 * secp256k1 signature, and the block id (java-tron `BlockCapsule.BlockId`).
 */
import { createHash } from 'node:crypto';
import { TronWeb, utils } from 'tronweb';

/** The Stake 2.0 contracts the devnet executes (java-tron `Tron.proto` `ContractType`). */
export type ContractKind =
  | 'FreezeBalanceV2Contract'
  | 'UnfreezeBalanceV2Contract'
  | 'WithdrawExpireUnfreezeContract'
  | 'CancelAllUnfreezeV2Contract'
  | 'VoteWitnessContract'
  | 'WithdrawBalanceContract';

/** `common.proto` `ResourceCode`. */
export type Resource = 'BANDWIDTH' | 'ENERGY' | 'TRON_POWER';
export const RESOURCES: readonly Resource[] = ['BANDWIDTH', 'ENERGY', 'TRON_POWER'];

export interface Vote {
  /** `41…` hex. */
  address: string;
  /** Whole TRX. */
  count: bigint;
}

/** A decoded contract; addresses as `41…` hex (empty string when absent). */
export type Contract =
  | { kind: 'FreezeBalanceV2Contract'; owner: string; amount: bigint; resource: Resource }
  | { kind: 'UnfreezeBalanceV2Contract'; owner: string; amount: bigint; resource: Resource }
  | { kind: 'WithdrawExpireUnfreezeContract' | 'CancelAllUnfreezeV2Contract' | 'WithdrawBalanceContract'; owner: string }
  | { kind: 'VoteWitnessContract'; owner: string; votes: Vote[] };

/** A transaction as the node rebuilt it from the broadcast JSON. */
export interface DecodedTx {
  txid: string;
  /** Serialized `Transaction.raw`. */
  raw: Uint8Array;
  /** Serialized `Transaction` with its signatures, `ret` cleared: what bandwidth charges (BandwidthProcessor). */
  size: number;
  contract: Contract;
  /** Hex, as sent. */
  signatures: string[];
  refBlockBytes: string;
  refBlockHash: string;
  expiration: number;
  timestamp: number;
}

/** The request could not be parsed into a transaction: java-tron's servlets answer `{"Error": …}` with HTTP 200. */
export class TxParseError extends Error {}

interface PbMessage {
  serializeBinary(): Uint8Array;
}
interface PbAny {
  getTypeName(): string;
  getValue_asU8(): Uint8Array;
}
interface PbContract {
  getType(): number;
  getParameter(): PbAny | undefined;
}
interface PbRaw extends PbMessage {
  getContractList(): PbContract[];
  getRefBlockBytes_asU8(): Uint8Array;
  getRefBlockHash_asU8(): Uint8Array;
  getExpiration(): number;
  getTimestamp(): number;
}
interface PbTransaction extends PbMessage {
  getRawData(): PbRaw;
  addSignature(sig: Uint8Array): void;
}
interface PbOwner {
  getOwnerAddress_asU8(): Uint8Array;
}
interface PbVote {
  getVoteAddress_asU8(): Uint8Array;
  getVoteCount(): number;
}
type Decoder = (bytes: Uint8Array) => PbOwner & Record<string, (() => unknown) | undefined>;

const proto = (globalThis as unknown as { TronWebProto: Record<string, { deserializeBinary: Decoder }> }).TronWebProto;
const txJsonToPb = utils.transaction.txJsonToPb as (tx: unknown) => PbTransaction;

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export function sha256(bytes: Uint8Array | string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

/** `41…` hex to base58check `T…` (java-tron `StringUtil.encode58Check`). */
export function toBase58(address: string): string {
  return TronWeb.address.fromHex(address);
}

/** An address as a request gives it (hex when `visible` is false, base58check when true) → `41…` hex, or undefined when it is not one. */
export function parseAddress(value: unknown, visible: boolean): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  if (visible) {
    if (!TronWeb.isAddress(value) || !value.startsWith('T')) return undefined;
    return TronWeb.address.toHex(value).toLowerCase();
  }
  return /^41[0-9a-fA-F]{40}$/.test(value) ? value.toLowerCase() : undefined;
}

/** `DecodeUtil.addressValid`: 21 bytes with the `41` prefix. */
export function addressValid(address: string): boolean {
  return /^41[0-9a-f]{40}$/.test(address);
}

const RESOURCE_OF = (n: unknown): Resource => (n === 1 ? 'ENERGY' : n === 2 ? 'TRON_POWER' : 'BANDWIDTH');

function decodeContract(pb: PbContract): Contract {
  const any = pb.getParameter();
  if (any === undefined) throw new TxParseError('contract parameter is missing');
  const name = any.getTypeName().replace(/^protocol\./, '');
  const message = proto[name]?.deserializeBinary(any.getValue_asU8());
  if (message === undefined) throw new TxParseError(`unsupported contract ${name}`);
  const owner = hex(message.getOwnerAddress_asU8());
  const call = (method: string): unknown => message[method]?.call(message);
  switch (name) {
    case 'FreezeBalanceV2Contract':
      return { kind: name, owner, amount: BigInt(call('getFrozenBalance') as number), resource: RESOURCE_OF(call('getResource')) };
    case 'UnfreezeBalanceV2Contract':
      return { kind: name, owner, amount: BigInt(call('getUnfreezeBalance') as number), resource: RESOURCE_OF(call('getResource')) };
    case 'WithdrawExpireUnfreezeContract':
    case 'CancelAllUnfreezeV2Contract':
    case 'WithdrawBalanceContract':
      return { kind: name, owner };
    case 'VoteWitnessContract':
      return {
        kind: name,
        owner,
        votes: (call('getVotesList') as PbVote[]).map((v) => ({ address: hex(v.getVoteAddress_asU8()), count: BigInt(v.getVoteCount()) })),
      };
    default:
      // The devnet serves the staking flows only; java-tron would run the contract's own actuator.
      throw new TxParseError(`the devnet does not execute ${name}`);
  }
}

/**
 * Rebuilds a broadcast transaction from its JSON (BroadcastServlet →
 * `Util.packTransaction`): the raw data from `raw_data`, the signatures from
 * `signature`; `txID` and `raw_data_hex` are ignored, as the node ignores
 * them. One difference, stated: tronweb's `txJsonToPb` keeps only the raw
 * fields tronweb itself sets (ref block, expiration, timestamp, data,
 * fee_limit), where java-tron would also keep `ref_block_num`, `auths`, `scripts`.
 */
export function decodeBroadcast(body: unknown): DecodedTx {
  if (body === null || typeof body !== 'object') throw new TxParseError('the body is not a JSON object');
  const json = body as { raw_data?: { contract?: unknown[] }; signature?: unknown };
  if (json.raw_data === undefined || !Array.isArray(json.raw_data.contract) || json.raw_data.contract.length === 0) throw new TxParseError('raw_data.contract is missing');
  let pb: PbTransaction;
  try {
    pb = txJsonToPb(json);
  } catch (error) {
    throw new TxParseError(error instanceof Error ? error.message : String(error));
  }
  const raw = pb.getRawData();
  const rawBytes = raw.serializeBinary();
  const signatures = Array.isArray(json.signature) ? json.signature.map(String) : [];
  for (const s of signatures) pb.addSignature(new Uint8Array(Buffer.from(s.replace(/^0x/, ''), 'hex')));
  const contracts = raw.getContractList();
  return {
    txid: hex(sha256(rawBytes)),
    raw: rawBytes,
    size: pb.serializeBinary().length,
    contract: decodeContract(contracts[0]!),
    signatures,
    refBlockBytes: hex(raw.getRefBlockBytes_asU8()),
    refBlockHash: hex(raw.getRefBlockHash_asU8()),
    expiration: raw.getExpiration(),
    timestamp: raw.getTimestamp(),
  };
}

/**
 * The signer of `txid` (`SignUtils.signatureToAddress`: secp256k1 recovery
 * over the 32-byte txid, keccak of the key, `41` ‖ last 20 bytes), as `41…`
 * hex; undefined when nothing can be recovered.
 */
export function recoverSigner(txid: string, signature: string): string | undefined {
  try {
    return utils.crypto.ecRecover(txid, signature).toLowerCase();
  } catch {
    return undefined;
  }
}

/** The address of a hex private key. */
export function addressOfKey(privateKey: string): string {
  const base58 = TronWeb.address.fromPrivateKey(privateKey);
  if (base58 === false) throw new RangeError('tron devnet: not a secp256k1 private key');
  return TronWeb.address.toHex(base58).toLowerCase();
}

/** Signs a 32-byte hash hex with a hex private key: r ‖ s ‖ v (tronweb `ECKeySign`). */
export function signHash(hashHex: string, privateKey: string): string {
  return utils.crypto.ECKeySign(Buffer.from(hashHex, 'hex'), Buffer.from(privateKey, 'hex'));
}

/** Appends a protobuf varint (non-negative, < 2^53). */
function varint(out: number[], value: number): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

function lengthDelimited(out: number[], field: number, bytes: Buffer): void {
  varint(out, (field << 3) | 2);
  varint(out, bytes.length);
  for (const b of bytes) out.push(b);
}

function int(out: number[], field: number, value: number): void {
  if (value === 0) return;
  varint(out, field << 3);
  varint(out, value);
}

/** The fields of `BlockHeader.raw` (Tron.proto) the devnet sets. */
export interface HeaderRaw {
  timestamp: number;
  txTrieRoot: string;
  parentHash: string;
  number: number;
  witnessAddress: string;
  version: number;
}

/**
 * `BlockHeader.raw` serialized (timestamp 1, txTrieRoot 2, parentHash 3,
 * number 7, witness_address 9, version 10) and the block id
 * (BlockCapsule.BlockId): the 8-byte big-endian number, then bytes 8..32 of
 * sha256 of those bytes.
 */
export function blockId(header: HeaderRaw): string {
  const out: number[] = [];
  int(out, 1, header.timestamp);
  lengthDelimited(out, 2, Buffer.from(header.txTrieRoot, 'hex'));
  lengthDelimited(out, 3, Buffer.from(header.parentHash, 'hex'));
  int(out, 7, header.number);
  lengthDelimited(out, 9, Buffer.from(header.witnessAddress, 'hex'));
  int(out, 10, header.version);
  const bytes = new Uint8Array(out);
  return header.number.toString(16).padStart(16, '0') + hex(sha256(bytes)).slice(16);
}

/** A Merkle root over the txids (pairwise sha256; java-tron hashes each whole serialized tx: a stated simplification). */
export function txTrieRoot(txids: readonly string[]): string {
  if (txids.length === 0) return '00'.repeat(32);
  let level: Buffer[] = txids.map((t) => Buffer.from(t, 'hex'));
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? Buffer.from(sha256(Buffer.concat([level[i]!, level[i + 1]!]))) : level[i]!);
    level = next;
  }
  return level[0]!.toString('hex');
}
