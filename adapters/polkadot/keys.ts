/**
 * Polkadot custody keys (`softstake keys`): a fresh BIP39 mnemonic made
 * offline, as polkadot-js and wallets import it (sr25519 by default,
 * ed25519 with `keyType`), and the address a signer file's secret
 * controls, in the chain block's SS58 format. No network call.
 */
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady, mnemonicGenerate } from '@polkadot/util-crypto';

import { ChainProtocolError } from '../errors.js';
import type { AdapterConfig, NewKey } from '../types.js';
import { resolveOptions, type PolkadotOptions } from './options.js';

function keyring(config: AdapterConfig<PolkadotOptions>): Keyring {
  const options = resolveOptions(config.options, config.validators);
  return new Keyring({ type: options.keyType, ss58Format: options.ss58Format });
}

/** Where to fund a custody address, one instruction a line. */
export function fundingOf(config: AdapterConfig<PolkadotOptions>, address: string): string[] {
  const options = resolveOptions(config.options, config.validators);
  const first = options.mode === 'pool' ? "the pool's MinJoinBond" : 'MinNominatorBond';
  return [
    `send ${config.asset} to ${address}: at least ${first} plus fees, and the existential deposit stays liquid`,
    'on Paseo or Westend: the faucet at faucet.polkadot.io (pick the Asset Hub chain)',
  ];
}

export async function newPolkadotKey(config: AdapterConfig<PolkadotOptions>): Promise<NewKey> {
  await cryptoWaitReady();
  const ring = keyring(config);
  const secret = mnemonicGenerate(24);
  const pair = ring.addFromMnemonic(secret);
  ring.removePair(pair.address);
  return {
    secret,
    address: pair.address,
    format: `BIP39 mnemonic, 24 words, ${pair.type} (as polkadot-js and wallets import it)`,
    funding: fundingOf(config, pair.address),
  };
}

export async function polkadotAddressOf(secret: string, config: AdapterConfig<PolkadotOptions>): Promise<string> {
  await cryptoWaitReady();
  const ring = keyring(config);
  try {
    return ring.addFromUri(secret.trim()).address;
  } catch {
    throw new ChainProtocolError(config.name, 'signer: the key is neither a mnemonic nor a 0x seed nor a secret URI');
  }
}
