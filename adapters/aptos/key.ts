/**
 * The custody key from the signer source, in the SDK's formats: an Ed25519
 * private key in AIP-80 form (`ed25519-priv-0x…`, what the Aptos CLI and
 * `PrivateKey.formatPrivateKey` write) or as 32 bytes of hex, alone or as
 * the `private_key` of a JSON file (`{"private_key": …, "account": …}`).
 * The account is a legacy Ed25519 one (`Account.fromPrivateKey`), whose
 * address is its authentication key unless the key was rotated: then the
 * configured address names it. The secret never reaches a message.
 */
import { Account, Ed25519PrivateKey, PrivateKey, PrivateKeyVariants, type Ed25519Account } from '@aptos-labs/ts-sdk';
import { ChainProtocolError } from '../errors.js';
import { longAddress } from './options.js';

function privateKeyOf(chain: string, text: string): Ed25519PrivateKey {
  const bare = text.startsWith(PrivateKey.AIP80_PREFIXES[PrivateKeyVariants.Ed25519]) ? text.slice(PrivateKey.AIP80_PREFIXES[PrivateKeyVariants.Ed25519].length) : text;
  if (!/^(0x)?[0-9a-fA-F]{64}$/.test(bare)) {
    throw new ChainProtocolError(chain, 'signer: the key is not an Ed25519 private key (AIP-80 `ed25519-priv-0x…` or 64 hex digits)');
  }
  return new Ed25519PrivateKey(PrivateKey.formatPrivateKey(bare, PrivateKeyVariants.Ed25519), true);
}

/**
 * Parses the signer secret. A configured `address` wins over the key's own
 * (a rotated key signs for an older address); a JSON file's `account`, where
 * both are given, must agree with it.
 */
export function parseCustodyKey(chain: string, secret: string, address: string | undefined): Ed25519Account {
  let keyText = secret;
  let fileAccount: string | undefined;
  if (secret.startsWith('{')) {
    let json: { private_key?: unknown; account?: unknown };
    try {
      json = JSON.parse(secret) as typeof json;
    } catch {
      throw new ChainProtocolError(chain, 'signer: the key file is not valid JSON');
    }
    if (typeof json.private_key !== 'string') throw new ChainProtocolError(chain, 'signer: the key file has no private_key');
    keyText = json.private_key;
    if (typeof json.account === 'string') fileAccount = json.account;
  }
  const privateKey = privateKeyOf(chain, keyText.trim());
  let configured: string | undefined;
  let fromFile: string | undefined;
  try {
    configured = address === undefined ? undefined : longAddress(address);
    fromFile = fileAccount === undefined ? undefined : longAddress(fileAccount);
  } catch {
    throw new ChainProtocolError(chain, 'signer: the custody address is not an Aptos address');
  }
  if (configured !== undefined && fromFile !== undefined && configured !== fromFile) {
    throw new ChainProtocolError(chain, `signer: the key file is for ${fromFile}, the config names ${configured}`);
  }
  const account = configured ?? fromFile;
  return account === undefined ? Account.fromPrivateKey({ privateKey }) : Account.fromPrivateKey({ privateKey, address: account });
}
