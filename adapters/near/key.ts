/**
 * The custody key from the signer source: either a bare secret key
 * (`ed25519:<base58>`) or a near-cli key file (`{account_id, public_key,
 * private_key}`, `secret_key` accepted for `private_key`). The secret never
 * reaches a message: errors name the problem, not the content.
 */
import { KeyPair, KeyPairSigner, type PublicKey } from 'near-api-js';
import { ChainProtocolError } from '../errors.js';

/** The custody account's signing key. */
export interface CustodyKey {
  accountId: string;
  publicKey: PublicKey;
  signer: KeyPairSigner;
}

function keyPairOf(chain: string, secret: string): KeyPair {
  if (!/^ed25519:[1-9A-HJ-NP-Za-km-z]{40,100}$/.test(secret)) {
    throw new ChainProtocolError(chain, 'signer: the key is not an ed25519 secret key (`ed25519:<base58>`) nor a near-cli JSON key file');
  }
  try {
    return KeyPair.fromString(secret as `ed25519:${string}`);
  } catch {
    throw new ChainProtocolError(chain, 'signer: the ed25519 secret key does not decode');
  }
}

/**
 * Parses the signer secret. `accountId` from the options wins over the key
 * file's `account_id`; when both are given they must agree.
 */
export function parseCustodyKey(chain: string, secret: string, accountId: string | undefined): CustodyKey {
  let keyPair: KeyPair;
  let fileAccount: string | undefined;
  if (secret.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(secret);
    } catch {
      throw new ChainProtocolError(chain, 'signer: the key file is not valid JSON');
    }
    const file = json as { account_id?: unknown; public_key?: unknown; private_key?: unknown; secret_key?: unknown };
    const privateKey = typeof file.private_key === 'string' ? file.private_key : file.secret_key;
    if (typeof privateKey !== 'string') throw new ChainProtocolError(chain, 'signer: the key file has no private_key');
    keyPair = keyPairOf(chain, privateKey);
    if (typeof file.account_id === 'string') fileAccount = file.account_id;
    if (typeof file.public_key === 'string' && file.public_key !== keyPair.getPublicKey().toString()) {
      throw new ChainProtocolError(chain, 'signer: the key file\'s public_key does not belong to its private_key');
    }
  } else {
    keyPair = keyPairOf(chain, secret);
  }
  if (accountId !== undefined && fileAccount !== undefined && accountId !== fileAccount) {
    throw new ChainProtocolError(chain, `signer: the key file is for ${fileAccount}, the config names ${accountId}`);
  }
  const account = accountId ?? fileAccount;
  if (account === undefined) throw new ChainProtocolError(chain, 'signer: no custody account: set options.accountId or use a key file with account_id');
  return { accountId: account, publicKey: keyPair.getPublicKey(), signer: new KeyPairSigner(keyPair) };
}
