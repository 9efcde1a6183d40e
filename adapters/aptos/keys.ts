/**
 * Aptos custody keys for `softstake keys new|show`: an Ed25519 private key
 * in AIP-80 form (`ed25519-priv-0x…`, what the Aptos CLI's `aptos init`
 * and the ts-sdk write, and key.ts reads). The account is the key's own
 * address (its authentication key; the chain creates the account at its
 * first deposit), or the chain block's `address` for a rotated key.
 * Offline; the private key never reaches a message.
 */
import { Account, Ed25519PrivateKey, PrivateKey, PrivateKeyVariants } from '@aptos-labs/ts-sdk';
import type { AdapterConfig, NewKey } from '../types.js';
import { parseCustodyKey } from './key.js';
import { optionsSchema, type AptosOptions } from './options.js';

/** How to fund the address on the block's chain (by its chain id). */
export function fundingOf(config: AdapterConfig<AptosOptions>, address: string): string[] {
  const chainId = optionsSchema.parse(config.options).chainId;
  if (chainId === 2) {
    return [
      `testnet APT: the faucet page at aptos.dev (Network → Faucet, testnet) for ${address}, or a transfer from any funded testnet account (\`aptos account transfer --account ${address} --amount <octas> --profile testnet\`)`,
      'each pool takes at least 10 APT after its add-stake fee, and every transaction pays gas: fund 11 APT per pool and some for fees',
    ];
  }
  if (chainId === 1) return [`send APT on mainnet to ${address} (an exchange withdrawal or a wallet transfer creates the account)`, 'each pool takes at least 10 APT after its add-stake fee'];
  return [`send APT to ${address} on the chain (a local node: \`aptos account fund-with-faucet --account ${address}\`)`];
}

export async function newAptosKey(config: AdapterConfig<AptosOptions>): Promise<NewKey> {
  const privateKey = Ed25519PrivateKey.generate();
  const address = Account.fromPrivateKey({ privateKey }).accountAddress.toStringLong();
  return Promise.resolve({
    secret: `${PrivateKey.formatPrivateKey(privateKey.toHexString(), PrivateKeyVariants.Ed25519)}\n`,
    address,
    format: 'Ed25519 private key in AIP-80 form (ed25519-priv-0x…), as `aptos init` and the ts-sdk write it',
    publicKey: privateKey.publicKey().toString(),
    funding: fundingOf(config, address),
  });
}

/** The account a key controls under the block's options: its own address, or the configured one (a rotated key). */
export async function aptosAddressOf(secret: string, config: AdapterConfig<AptosOptions>): Promise<string> {
  return Promise.resolve(parseCustodyKey(config.name, secret.trim(), config.address).accountAddress.toStringLong());
}
