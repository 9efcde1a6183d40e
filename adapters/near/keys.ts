/**
 * NEAR custody keys for `softstake keys new|show`: a near-cli JSON key
 * file (`{account_id, public_key, private_key}`, what `near` writes to
 * ~/.near-credentials and key.ts reads). The account is the chain block's
 * (`options.accountId`, else `address`) or, with none, the key's implicit
 * account (its public key in hex), which a transfer creates. Offline; the
 * private key never reaches a message.
 */
import { KeyPair } from 'near-api-js';
import type { AdapterConfig, NewKey } from '../types.js';
import { parseCustodyKey } from './key.js';
import { optionsSchema, type NearOptions } from './options.js';

/** The implicit account of an ed25519 public key: its 32 bytes in lower-case hex. */
export function implicitAccountOf(publicKey: { data: Uint8Array }): string {
  return Buffer.from(publicKey.data).toString('hex');
}

function configuredAccount(config: AdapterConfig<NearOptions>): string | undefined {
  return optionsSchema.parse(config.options).accountId ?? config.address;
}

/** How to create or fund the account on its network. */
export function fundingOf(config: AdapterConfig<NearOptions>, accountId: string, publicKey: string | undefined, implicit: boolean): string[] {
  const network = optionsSchema.parse(config.options).networkId ?? 'the network';
  const lines: string[] = [];
  if (implicit) {
    lines.push(`send NEAR on ${network} to ${accountId}: a transfer to an implicit account creates it, with this key as its full-access key`);
  } else if (publicKey !== undefined) {
    lines.push(`create ${accountId} with public key ${publicKey}, e.g. its parent account's wallet or near-cli's \`near account create-account\` with that key`);
  } else {
    lines.push(`${accountId} must exist on ${network} with this key's public key as a full-access key`);
  }
  if (network === 'testnet' && !implicit && publicKey !== undefined && accountId.endsWith('.testnet')) {
    lines.push(`on testnet the faucet service creates and funds it: near account create-account sponsor-by-faucet-service ${accountId} use-manually-provided-public-key ${publicKey} network-config testnet create`);
  }
  if (network === 'testnet') lines.push('testnet NEAR: the faucet service above, or a transfer from any funded testnet wallet');
  return lines;
}

export async function newNearKey(config: AdapterConfig<NearOptions>): Promise<NewKey> {
  const keyPair = KeyPair.fromRandom('ed25519');
  const publicKey = keyPair.getPublicKey();
  const configured = configuredAccount(config);
  const accountId = configured ?? implicitAccountOf(publicKey);
  const file = { account_id: accountId, public_key: publicKey.toString(), private_key: keyPair.toString() };
  return Promise.resolve({
    secret: `${JSON.stringify(file)}\n`,
    address: accountId,
    format: 'near-cli JSON key file {account_id, public_key, private_key} (ed25519), as in ~/.near-credentials',
    publicKey: publicKey.toString(),
    funding: fundingOf(config, accountId, publicKey.toString(), configured === undefined),
  });
}

/** The account a key file (or bare `ed25519:…` key) is for under the block's options; a bare key with no account configured is its implicit account. */
export async function nearAddressOf(secret: string, config: AdapterConfig<NearOptions>): Promise<string> {
  const configured = configuredAccount(config);
  const text = secret.trim();
  if (configured === undefined && !text.startsWith('{')) {
    const key = parseCustodyKey(config.name, text, 'implicit');
    return Promise.resolve(implicitAccountOf(key.publicKey));
  }
  return Promise.resolve(parseCustodyKey(config.name, text, configured).accountId);
}
