/**
 * TRON custody keys for `softstake keys new|show`: a hex private key (64
 * hex digits), the form tronweb, TronLink and java-tron's wallet-cli import.
 * Offline; the key never reaches a message.
 */
import { randomBytes } from 'node:crypto';

import { TronWeb } from 'tronweb';

import { ChainProtocolError } from '../errors.js';
import type { AdapterConfig, NewKey } from '../types.js';
import type { TronOptions } from './options.js';

const PRIVATE_KEY = /^(0x)?[0-9a-fA-F]{64}$/;

/** The hex private key and its `T…` address; throws ChainProtocolError (never quoting the secret) for anything else. */
export function parseTronKey(chain: string, secret: string): { privateKey: string; address: string } {
  const text = secret.trim();
  if (!PRIVATE_KEY.test(text)) throw new ChainProtocolError(chain, 'signer: the secret is not a hex private key (64 hex digits)');
  const privateKey = text.replace(/^0x/, '').toLowerCase();
  const address = TronWeb.address.fromPrivateKey(privateKey);
  if (address === false) throw new ChainProtocolError(chain, 'signer: the secret is not a secp256k1 private key');
  return { privateKey, address };
}

/** How to fund a new account: any TRX transfer creates it. */
export function fundingOf(address: string): string[] {
  return [
    `send TRX to ${address}: the first transfer creates the account (java-tron charges the sender 1 TRX for a new account)`,
    'Nile testnet TRX: the faucet at https://nileex.io/join/getJoinPage (2000 TRX a day), or a transfer from any funded Nile wallet',
  ];
}

export function newTronKey(config: AdapterConfig<TronOptions>): Promise<NewKey> {
  for (;;) {
    const secret = randomBytes(32).toString('hex');
    // A 32-byte string is a secp256k1 key unless it is 0 or ≥ the group order (odds about 2^-128).
    let parsed: { address: string };
    try {
      parsed = parseTronKey(config.name, secret);
    } catch {
      continue;
    }
    return Promise.resolve({
      secret: `${secret}\n`,
      address: parsed.address,
      format: 'hex private key (64 hex digits), as tronweb, TronLink and wallet-cli import it',
      funding: fundingOf(parsed.address),
    });
  }
}

export function tronAddressOf(secret: string, config: AdapterConfig<TronOptions>): Promise<string> {
  try {
    return Promise.resolve(parseTronKey(config.name, secret).address);
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new ChainProtocolError(config.name, 'signer: not a key'));
  }
}
