/**
 * Cosmos custody keys for `softstake keys new|show`: a 24-word BIP-39
 * mnemonic, the format `gaiad keys add --recover` and every Cosmos wallet
 * import, and the signer file the adapter reads (client.ts derives the same
 * account from it). Offline; the mnemonic never reaches a message.
 */
import { stringToPath } from '@cosmjs/crypto';
import { DirectSecp256k1HdWallet } from '@cosmjs/proto-signing';
import { ChainProtocolError } from '../errors.js';
import type { AdapterConfig, NewKey } from '../types.js';
import { resolveCosmosOptions, type CosmosOptions, type ResolvedCosmosOptions } from './options.js';

async function accountOf(wallet: DirectSecp256k1HdWallet, chain: string): Promise<string> {
  const [account] = await wallet.getAccounts();
  if (account === undefined) throw new ChainProtocolError(chain, 'signer: the wallet derived no account');
  return account.address;
}

/** Where to get tokens on the chain, by chain id. */
export function fundingOf(options: ResolvedCosmosOptions, address: string): string[] {
  const send = `send ${options.denom} to ${address} on ${options.chainId}`;
  if (options.chainId === 'provider') {
    // The Cosmos Hub's Interchain Security testnet.
    return [
      `${send}: the ICS testnet faucet at faucet.polypore.xyz, or the Cosmos Hub Discord's testnet-faucet channel (github.com/cosmos/testnets, interchain-security/provider/README.md, lists the current ones)`,
      'or send from a wallet holding testnet ATOM; the account exists on chain once it received a transfer',
    ];
  }
  return [`${send} from the chain's faucet or a funded wallet; the account exists on chain once it received a transfer`];
}

/** A fresh custody mnemonic and its address under the block's prefix and HD path. */
export async function newCosmosKey(config: AdapterConfig<CosmosOptions>): Promise<NewKey> {
  const options = resolveCosmosOptions(config.options);
  const wallet = await DirectSecp256k1HdWallet.generate(24, { prefix: options.prefix, hdPaths: [stringToPath(options.hdPath)] });
  const address = await accountOf(wallet, config.name);
  return {
    secret: `${wallet.mnemonic}\n`,
    address,
    format: `BIP-39 mnemonic, 24 words, HD path ${options.hdPath} (gaiad keys add NAME --recover imports it)`,
    funding: fundingOf(options, address),
  };
}

/** The address a signer file's mnemonic controls under the block's prefix and HD path. */
export async function cosmosAddressOf(secret: string, config: AdapterConfig<CosmosOptions>): Promise<string> {
  const options = resolveCosmosOptions(config.options);
  let wallet: DirectSecp256k1HdWallet;
  try {
    wallet = await DirectSecp256k1HdWallet.fromMnemonic(secret.trim().split(/\s+/).join(' '), { prefix: options.prefix, hdPaths: [stringToPath(options.hdPath)] });
  } catch {
    // cosmjs names the offending word; the message must not carry any of the secret.
    throw new ChainProtocolError(config.name, 'signer: the secret is not a valid BIP-39 mnemonic');
  }
  return accountOf(wallet, config.name);
}
