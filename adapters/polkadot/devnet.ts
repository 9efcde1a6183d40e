/**
 * A local Asset Hub for the Polkadot adapter: Substrate JSON-RPC over
 * WebSocket on 127.0.0.1, several listeners sharing one chain (for
 * failover tests), serving the real Asset Hub Polkadot metadata (v15,
 * spec 2000000) from `@polkadot/types-support`. Unmodified `@polkadot/api`
 * connects to it, reads storage the metadata's types encode, and signs
 * and submits extrinsics the devnet decodes and verifies as the node's
 * transaction pool does (devnet/extrinsic.ts), then includes, finalizes
 * and reports with real events (devnet/chain.ts). Staking follows
 * `pallet-staking-async` (devnet/staking.ts); pool 1 follows
 * `pallet-nomination-pools` with delegated stake (devnet/pools.ts).
 *
 * The clock, block production, mempool faults, listeners and the ground
 * truth come from the devnet kit (adapters/devnet/); this file and devnet/
 * hold Substrate's rules and codecs. The rules, their sources and what
 * could not be confirmed: docs/chains/polkadot.md.
 *
 * Also `softstake devnet`'s Polkadot chain: {@link devnet}.
 */
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { u8aToHex } from '@polkadot/util';
import { blake2AsU8a, cryptoWaitReady, mnemonicGenerate } from '@polkadot/util-crypto';

import type { DevnetModule } from '../devnet.js';
import type { DevnetClock } from '../devnet/clock.js';
import { kitControls, type DevnetControls } from '../devnet/controls.js';
import type { Faults } from '../devnet/faults.js';
import type { GroundTruth } from '../devnet/groundTruth.js';
import type { ListenerFault } from '../devnet/listeners.js';
import { startDevnetServer } from '../devnet/server.js';
import { DOT, type GenesisValidator, type IncludedExtrinsic, PolkadotChain, type PolkadotChainOptions } from './devnet/chain.js';
import { memberPendingSlash } from './devnet/pools.js';
import { polkadotRouter } from './devnet/rpc.js';
import { metadataWithout, RUNTIME_VERSION } from './devnet/runtime.js';

export { DOT, PolkadotChain } from './devnet/chain.js';
export type { Block, IncludedExtrinsic, TxStatus } from './devnet/chain.js';
export { CHAIN_NAME, PROPERTIES } from './devnet/rpc.js';

/** Options of {@link startPolkadotDevnet}. */
export interface PolkadotDevnetOptions extends Omit<PolkadotChainOptions, 'validators'> {
  /** Validators at genesis, each bonded with 10 000 DOT. @defaultValue 3, commissions 5%, 10%, 100% */
  validators?: number;
  /** WebSocket listeners sharing the chain. @defaultValue 2 */
  listeners?: number;
  /** Ports to listen on; 0 or absent: any free port. */
  ports?: number[];
  /**
   * Pallets left out of the metadata the devnet serves (`Staking`,
   * `NominationPools`): a node of a chain without them, such as the relay
   * chain after the Asset Hub migration. The chain still runs them.
   * @defaultValue none
   */
  metadataWithout?: string[];
}

/** An account the devnet made, with its key. */
export interface PolkadotDevAccount {
  /** SS58, prefix 0. */
  address: string;
  /** AccountId32 hex. */
  accountId: string;
  /** The BIP39 mnemonic (sr25519, as polkadot-js and wallets import it). */
  mnemonic: string;
}

/** A running Polkadot devnet and its test controls (the kit's, and Polkadot's own). */
export interface PolkadotDevnet extends DevnetControls<IncludedExtrinsic> {
  /** `ws://127.0.0.1:<port>`, one per listener. */
  readonly wsUrls: string[];
  readonly endpoints: readonly string[];
  readonly chain: PolkadotChain;
  readonly clock: DevnetClock;
  /** Validator stashes as SS58 (prefix 0), in genesis order. */
  readonly validators: string[];
  /** Moves chain time forward by `ms`: a block every 12 s, an era every `eraMs`. */
  advance(ms: number): void;
  /** Moves time to the next era's first block (one `EraPaid`). */
  nextEra(): void;
  /** Leaves a validator (SS58) out of the next elections, or back in. */
  setElected(validator: string, elected: boolean): void;
  /**
   * Another account (the devnet's payout bot, as the validators' own bots
   * do on the real network) calls `payout_stakers_by_page` for every page
   * of every era in the history window that nobody has claimed, in a new
   * block. Returns how many payouts it sent.
   */
  payoutAll(): number;
  /**
   * Reports an offence of `validator` (SS58) in `era` (default: the active
   * era) for `fraction` parts per billion, in a new block. By
   * staking-async's rules (devnet/slashing.ts) the validator's own stake
   * and every nominator's exposed stake in that era are slashed by the
   * fraction when era + {@link slashDeferDuration} starts, one unapplied
   * slash per block: `Staking.Slashed` for each stash, and a pool's bonded
   * account's slash is left pending for its members ({@link applyPoolSlashes}).
   */
  slash(validator: string, fraction: number, era?: number): void;
  /** `Staking.SlashDeferDuration` of the served metadata (27 eras on Asset Hub Polkadot). */
  readonly slashDeferDuration: number;
  /**
   * The payout bot calls `nomination_pools.apply_slash(member)` for every
   * pool member whose pending slash is at least the existential deposit, in
   * a new block. Returns how many it sent.
   */
  applyPoolSlashes(): number;
  /** The payout bot's address (SS58). */
  readonly payoutBot: string;
  /** Creates an sr25519 account from a fresh mnemonic holding `amount` planck, in a new block. */
  createAccount(amount: bigint): PolkadotDevAccount;
  readonly faults: Faults;
  setFault(index: number, fault: ListenerFault | null): void;
  readonly truth: GroundTruth;
  close(): Promise<void>;
}

const keyring = new Keyring({ type: 'sr25519', ss58Format: 0 });

/** A validator stash at genesis: a fixed, key-less account. */
function validatorStash(i: number): string {
  return u8aToHex(blake2AsU8a(`polkadot devnet validator ${i}`, 256));
}

/** Starts a Polkadot (Asset Hub) devnet on 127.0.0.1. */
export async function startPolkadotDevnet(options: PolkadotDevnetOptions = {}): Promise<PolkadotDevnet> {
  await cryptoWaitReady();
  const commissions = [50_000_000, 100_000_000, 1_000_000_000];
  const validators: GenesisValidator[] = Array.from({ length: options.validators ?? 3 }, (_, i) => ({
    stash: validatorStash(i),
    bond: 10_000n * DOT,
    commission: commissions[i % commissions.length]!,
  }));
  const bot = keyring.addFromUri('//polkadot-devnet-payout-bot');
  keyring.removePair(bot.address);
  const chain = new PolkadotChain({
    ...options,
    endowed: { ...options.endowed, [u8aToHex(bot.publicKey)]: 1_000_000n * DOT },
    validators,
    // Pool 1: a key-less depositor's 100 DOT, nominating the first two validators.
    pool: { depositor: u8aToHex(blake2AsU8a('polkadot devnet pool depositor', 256)), bond: 100n * DOT, targets: validators.slice(0, 2).map((v) => v.stash) },
  });
  let server: Awaited<ReturnType<typeof startDevnetServer>>;
  try {
    server = await startDevnetServer({
      name: 'polkadot devnet',
      count: options.listeners ?? (options.ports?.length || 2),
      ...(options.ports ? { ports: options.ports } : {}),
      jsonRpc: options.metadataWithout === undefined ? polkadotRouter(chain) : polkadotRouter(chain, metadataWithout(options.metadataWithout)),
      // jsonrpsee's default max request size is 10 MiB (sc-rpc-server `RPC_MAX_PAYLOAD_DEFAULT` [recalled]).
      maxBodyBytes: 10 * 1024 * 1024,
    });
  } catch (error) {
    chain.close();
    throw error;
  }
  const encode = (hex: string): string => keyring.encodeAddress(hex, 0);
  return {
    ...kitControls({ server, mempool: chain.mempool, truth: chain.truth, stop: () => chain.close() }),
    wsUrls: server.wsUrls,
    endpoints: server.wsUrls,
    chain,
    clock: chain.clock,
    validators: validators.map((v) => encode(v.stash)),
    advance: (ms) => chain.advance(ms),
    nextEra() {
      const era = (chain.best.read('Staking', 'ActiveEra') as { index: number }).index;
      while ((chain.best.read('Staking', 'ActiveEra') as { index: number }).index === era) chain.advance(chain.blockMs);
    },
    setElected(validator, elected) {
      const hex = u8aToHex(keyring.decodeAddress(validator));
      if (elected) chain.eras.unelected.delete(hex);
      else chain.eras.unelected.add(hex);
    },
    slash(validator, fraction, era) {
      chain.reportOffence({ validator: u8aToHex(keyring.decodeAddress(validator)), era: era ?? (chain.best.read('Staking', 'ActiveEra') as { index: number }).index, fraction });
    },
    slashDeferDuration: Number(chain.runtime.constant('Staking', 'SlashDeferDuration')),
    applyPoolSlashes() {
      const sent = sendPoolSlashes(chain, bot);
      if (sent > 0) chain.newBlock();
      return sent;
    },
    payoutBot: bot.address,
    payoutAll() {
      const sent = sendPayouts(chain, bot);
      if (sent > 0) chain.newBlock();
      return sent;
    },
    createAccount(amount) {
      const mnemonic = mnemonicGenerate();
      const pair = keyring.addFromMnemonic(mnemonic);
      keyring.removePair(pair.address);
      chain.endow(u8aToHex(pair.publicKey), amount);
      return { address: pair.address, accountId: u8aToHex(pair.publicKey), mnemonic };
    },
  };
}

/**
 * Signs and submits, as `bot`, `payout_stakers_by_page` for every unclaimed
 * page in [CurrentEra − HistoryDepth, ActiveEra − 1] with a known reward;
 * immortal extrinsics with consecutive nonces.
 */
function sendPayouts(chain: PolkadotChain, bot: KeyringPair): number {
  const { runtime } = chain;
  const storage = chain.best;
  const active = (storage.read('Staking', 'ActiveEra') as { index: number }).index;
  const current = (storage.read('Staking', 'CurrentEra') as number | undefined) ?? 0;
  const depth = Number(runtime.constant('Staking', 'HistoryDepth'));
  let nonce = storage.account(u8aToHex(bot.publicKey)).nonce;
  let sent = 0;
  for (let era = Math.max(0, current - depth); era < active; era += 1) {
    if (storage.read('Staking', 'ErasValidatorReward', era) === undefined) continue;
    for (const key of storage.keys(runtime.prefix('Staking', 'ErasStakersOverview', era))) {
      const validator = `0x${key.slice(-64)}`;
      const overview = storage.read('Staking', 'ErasStakersOverview', era, validator) as { pageCount: number };
      const claimed = (storage.read('Staking', 'ClaimedRewards', era, validator) as number[] | undefined) ?? [];
      for (let page = 0; page < Math.max(1, overview.pageCount); page += 1) {
        if (claimed.includes(page)) continue;
        const ext = runtime.registry.createType('Extrinsic', runtime.decorated.tx.staking!.payoutStakersByPage!(validator, era, page));
        ext.sign(bot, { blockHash: chain.genesisHash, genesisHash: chain.genesisHash, era: runtime.registry.createType('ExtrinsicEra'), nonce, runtimeVersion: RUNTIME_VERSION as never });
        chain.submit(ext.toU8a());
        nonce += 1;
        sent += 1;
      }
    }
  }
  return sent;
}

/** Signs and submits, as `bot`, `nomination_pools.apply_slash(member)` for each member with a pending slash ≥ the existential deposit. */
function sendPoolSlashes(chain: PolkadotChain, bot: KeyringPair): number {
  const { runtime } = chain;
  const storage = chain.best;
  const ed = BigInt(runtime.constant('Balances', 'ExistentialDeposit') as number | string);
  let nonce = storage.account(u8aToHex(bot.publicKey)).nonce;
  let sent = 0;
  for (const key of storage.keys(runtime.prefix('NominationPools', 'PoolMembers'))) {
    const member = `0x${key.slice(-64)}`;
    if (memberPendingSlash(storage, member) < ed) continue;
    const ext = runtime.registry.createType('Extrinsic', runtime.decorated.tx.nominationPools!.applySlash!({ Id: member }));
    ext.sign(bot, { blockHash: chain.genesisHash, genesisHash: chain.genesisHash, era: runtime.registry.createType('ExtrinsicEra'), nonce, runtimeVersion: RUNTIME_VERSION as never });
    chain.submit(ext.toU8a());
    nonce += 1;
    sent += 1;
  }
  return sent;
}

/** `softstake devnet`'s block time: short, so that eras of a few seconds still hold several blocks. */
export const DEVNET_BLOCK_MS = 1_000;

/**
 * `softstake devnet`'s era: 24 h / speedup (4.32 s at the default 20 000),
 * at least 3 blocks (the era is planned in one block and starts in a later
 * one). Short enough that a payout is earned, claimed, harvested and
 * distributed within the half-minute a person (or the shipped-config test)
 * watches: bonded in era n, exposed in n + 1, paid when n + 1 ends.
 */
export function devnetEraMs(speedup: number): number {
  return Math.max(3 * DEVNET_BLOCK_MS, Math.round(86_400_000 / Math.max(1, speedup)));
}

/** Polkadot for `softstake devnet`: wall-clock blocks every second, eras of 24 h / speedup. */
export const devnet: DevnetModule = {
  kind: 'polkadot',
  async start(options) {
    const speedup = Math.max(1, options.speedup);
    const chain = await startPolkadotDevnet({
      clock: 'wall',
      speedup,
      blockMs: DEVNET_BLOCK_MS,
      eraMs: devnetEraMs(speedup),
      ...(options.ports === undefined ? {} : { ports: options.ports }),
    });
    return {
      endpoints: chain.wsUrls,
      validators: chain.validators,
      async createFundedAccount(amount) {
        const account = chain.createAccount(amount);
        return { address: account.address, secret: account.mnemonic, key: account.mnemonic, keyFormat: 'sr25519 BIP39 mnemonic, as polkadot-js and wallets import it' };
      },
      controls: chain,
      close: () => chain.close(),
    };
  },
};
