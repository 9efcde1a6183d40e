/**
 * A local Cosmos SDK chain for the Cosmos adapter, in-process, speaking
 * CometBFT 0.38 JSON-RPC over HTTP so the unmodified cosmjs clients
 * (`StargateClient`, `SigningStargateClient`, `QueryClient` extensions) work
 * against it as against a real node. It is a chain, not a mock:
 *
 * - `status` / `abci_query` (protobuf gRPC queries of x/auth, x/bank,
 *   x/staking, x/distribution, tx Simulate/GetTx) / `broadcast_tx_*` / `tx` /
 *   `tx_search` / `block` / `block_results` / `block_search` / `blockchain` / ... — see
 *   `devnet/rpc.ts` and `devnet/queries.ts`;
 * - signed `TxRaw` bytes are decoded with cosmjs-types, the SIGN_MODE_DIRECT
 *   signature is verified, sequence, fee (gas × minimum gas price, or with
 *   `feeMarket` a moving base price checked in CheckTx and again in the
 *   block, as skip-mev/feemarket does), gas and funds are enforced with the
 *   SDK's error codes (`devnet/tx.ts`);
 * - staking and x/distribution rewards by the SDK's rules, simplified
 *   (`devnet/staking.ts`, `devnet/distribution.ts`), with the SDK 0.50 events:
 *   `max_entries` per pair (entries of one block merged), redelegation
 *   entries, slashes of bonded, unbonding and redelegated stake, matured
 *   unbonding paid in EndBlock with a `complete_unbonding` block event per
 *   (delegator, validator) pair, which `block_search` finds;
 * - chain time moves by `advance` (frozen clock) or with the wall clock;
 *   with the frozen clock a transaction gets a block of its own promptly,
 *   with the wall clock it waits for the next block and shares it;
 * - a node's configuration: its tx indexer off (`txIndex: false`), its
 *   old blocks pruned (`retainBlocks`), a listener rate-limited (429);
 * - faults per listener or per method (503, 429, no answer, reset, a lost
 *   answer), a transaction lost after CheckTx, one included and failed, one
 *   held back, one included with its broadcast's answer lost.
 *
 * The clock, block production, mempool faults, listeners and the ground
 * truth come from the devnet kit (adapters/devnet/); this file and
 * devnet/ hold the chain's rules and codecs.
 */
import type { DevnetModule } from '../devnet.js';
import { type ClockMode, DevnetClock } from '../devnet/clock.js';
import { kitControls, type DevnetControls } from '../devnet/controls.js';
import type { Faults } from '../devnet/faults.js';
import type { GroundTruth } from '../devnet/groundTruth.js';
import { rawSecp256k1PubkeyToRawAddress } from '@cosmjs/amino';
import { Secp256k1 } from '@cosmjs/crypto';
import { toBech32 } from '@cosmjs/encoding';
import { DirectSecp256k1HdWallet } from '@cosmjs/proto-signing';
import { Chain, type IncludedTx } from './devnet/chain.js';
import type { ModuleAddresses } from './devnet/distribution.js';
import { pendingRewards } from './devnet/distribution.js';
import { startRpcServers, type RpcFault } from './devnet/rpc.js';
import { MAX_ENTRIES } from './devnet/staking.js';
import { type ChainState, DEC_ONE, decodeBech32, parseDec, parseGasPrice, sha256Of, tokensFromShares, type ValidatorState } from './devnet/state.js';

export type { IncludedTx } from './devnet/chain.js';
export type { RpcFault as CosmosDevnetFault } from './devnet/rpc.js';

/** A validator at genesis. */
export interface CosmosValidatorOptions {
  /**
   * Operator address (`<prefix>valoper1…`). Default: derived from a
   * secp256k1 key made from `seed`, as `ripemd160(sha256(pubkey))`.
   */
  operator?: string;
  /** Seed of the derived operator key. @defaultValue `softstake-devnet validator <index>` */
  seed?: string;
  /** @defaultValue `validator-<index>` */
  moniker?: string;
  /** Commission rate as a decimal string. @defaultValue "0.05" */
  commission?: string;
  /** Tokens the operator self-bonds at genesis, base units. @defaultValue 1_000_000_000_000n (1M ATOM) */
  selfBond?: bigint;
  /** Jailed from genesis: out of the active set, earns nothing. @defaultValue false */
  jailed?: boolean;
}

/** Options of {@link startCosmosDevnet}. */
export interface CosmosDevnetOptions {
  /** @defaultValue 'softstake-devnet-1' */
  chainId?: string;
  /** Bech32 account prefix (validators use `<prefix>valoper`). @defaultValue 'cosmos' */
  prefix?: string;
  /** Bond and fee denom. @defaultValue 'uatom' */
  denom?: string;
  /** @defaultValue two validators, commission 0.05 and 0.10, 1M ATOM self-bond each */
  validators?: CosmosValidatorOptions[];
  /** Annual inflation on the total supply, decimal string; ignored when `blockReward` is set. @defaultValue "0.10" */
  inflation?: string;
  /** Fixed provision per `blockMs` of chain time, base units (instead of `inflation`). */
  blockReward?: bigint;
  /** Share of every allocation that goes to the community pool. @defaultValue "0.02" (the SDK default) */
  communityTax?: string;
  /** Chain time per block, ms. @defaultValue 5000 */
  blockMs?: number;
  /** @defaultValue 21 days */
  unbondingMs?: number;
  /**
   * `frozen`: chain time starts at `genesisTime` and moves only by `advance`.
   * `wall`: chain time is `Date.now()` plus what `advance` added; a block every `blockMs`.
   * @defaultValue 'frozen'
   */
  clock?: ClockMode;
  /** Genesis block time, ms. @defaultValue Date.now() */
  genesisTime?: number;
  /** Rewards accrue this many times faster than chain time passes (`softstake devnet`). @defaultValue 1 */
  speedup?: number;
  /**
   * Minimum gas price CheckTx enforces, e.g. "0.025uatom"; "0uatom" disables
   * it. With {@link feeMarket}: the floor of the moving base gas price.
   * @defaultValue `0.025<denom>`
   */
  minGasPrice?: string;
  /**
   * Runs a fee market (skip-mev/feemarket, EIP-1559, as the Cosmos Hub does):
   * the fee is checked against a base gas price that moves with block
   * fullness, in CheckTx and again in the block. `true` for the defaults.
   * @defaultValue off (x/auth's fixed minimum gas price, CheckTx only)
   */
  feeMarket?: boolean | { maxBlockGas?: bigint; learningRate?: string };
  /** `max_entries` of the staking params. @defaultValue 7 (the SDK default, the Hub's) */
  maxEntries?: number;
  /** Blocks the node keeps; older ones are pruned (`block` refuses them). @defaultValue 0 (all) */
  retainBlocks?: number;
  /**
   * `prompt`: an accepted transaction gets a block of its own
   * `inclusionDelayMs` later; `nextBlock`: it waits for the next regular
   * block and shares it with whatever else arrived.
   * @defaultValue `nextBlock` with the wall clock, `prompt` with the frozen one (nothing else makes blocks)
   */
  inclusion?: 'prompt' | 'nextBlock';
  /** Size of the active set. @defaultValue 100 */
  maxValidators?: number;
  /** Delay between a transaction entering the mempool and the block that includes it, ms. @defaultValue 10 */
  inclusionDelayMs?: number;
  /** HTTP listeners (endpoints), all serving the same chain. @defaultValue `ports.length`, else 2 */
  listeners?: number;
  /** Ports to listen on (127.0.0.1); 0 or absent: any free port. */
  ports?: number[];
  /**
   * The node's tx indexer (`[tx_index] indexer` in config.toml): `false` is
   * a node with `indexer = "null"`, whose `tx` and `tx_search` answer
   * "transaction indexing is disabled" and whose `status` says
   * `tx_index: "off"`. @defaultValue true
   */
  txIndex?: boolean;
}

/** One account as a test sees it at the latest block. */
export interface CosmosAccountSnapshot {
  height: bigint;
  time: number;
  address: string;
  /** Undefined until the account exists (funded or received coins). */
  accountNumber: bigint | undefined;
  sequence: bigint;
  liquid: bigint;
  delegations: { validator: string; amount: bigint; shares: bigint }[];
  /** Pending rewards, each delegation truncated to whole base units, summed: what withdrawing all would pay. */
  pendingRewards: bigint;
  unbonding: { validator: string; amount: bigint; completesAt: number; creationHeight: bigint }[];
}

/** A running Cosmos devnet and its test controls (the kit's, and Cosmos's own). */
export interface CosmosDevnet extends DevnetControls<IncludedTx> {
  /** One base URL per listener, `http://127.0.0.1:<port>` (JSON-RPC at `/`). */
  readonly urls: readonly string[];
  /** Same as `urls` (the conformance suite's name). */
  readonly endpoints: readonly string[];
  readonly chainId: string;
  readonly prefix: string;
  readonly denom: string;
  /** Operator addresses, in genesis order. */
  readonly validators: readonly string[];
  /** The minimum gas price, as given (e.g. `0.025uatom`). */
  readonly minGasPrice: string;
  readonly blockMs: number;
  readonly unbondingMs: number;
  /** The latest block's height (after producing the blocks chain time has passed). */
  height(): bigint;
  /** The latest block's time, ms. */
  time(): number;
  /** The chain's clock (the kit's): `clock.advance(ms)` is `advance(ms)`. */
  readonly clock: DevnetClock;
  /** Moves chain time forward by `ms`, producing a block every `blockMs` and one at the new time. */
  advance(ms: number): void;
  /** `advance(n × blockMs)`: exactly `n` blocks. */
  produceBlocks(n: number): void;
  /** Credits `amount` to an account (genesis-style: no transaction, no block), creating it. */
  fund(address: string, amount: bigint): void;
  account(address: string): CosmosAccountSnapshot;
  /** What the chain paid and slashed, per account: `truth.of(address)` is `{ paid, slashed, net }`. */
  readonly truth: GroundTruth;
  /** Rewards paid out to the delegator so far (sum of its `withdraw_rewards` payouts), base units: `truth.of(address).paid`. */
  rewardsPaid(address: string): bigint;
  /** Stake and unbonding the delegator lost to slashes so far, base units: `truth.of(address).slashed`. */
  slashed(address: string): bigint;
  /** Slashes `bps` basis points of the validator's tokens and unbonding entries, in a new block. */
  slash(validator: string, bps: number): void;
  /** The fee market's base gas price now, Dec atomics (10^18 = 1 base unit per gas); 0 without a fee market. */
  baseGasPrice(): bigint;
  /** Sets the fee market's base gas price (a decimal string such as "0.5"), as a run of full blocks would. */
  setBaseGasPrice(price: string): void;
  /**
   * Listener `index` answers at most `requests` requests per `perMs` of real
   * time and HTTP 429 with `Retry-After` beyond that, as a public provider's
   * rate limiter does; `null` lifts it. @returns how many it refused so far.
   */
  rateLimit(index: number, limit: { requests: number; perMs: number } | null): () => number;
  /** Jails the validator in a new block: it leaves the active set and earns nothing. */
  jail(validator: string): void;
  unjail(validator: string): void;
  /** Sets the validator's commission rate (decimal string, e.g. "0.1"), effective from the next block. */
  setCommission(validator: string, rate: string): void;
  /** Makes listener `index` show `fault` from now on; `null` heals it. */
  setFault(index: number, fault: RpcFault | null): void;
  /** Faults per listener, per JSON-RPC method, or both: `faults.inject({ target: 'broadcast_tx_sync' }, 'http503', 1)`. */
  readonly faults: Faults;
  /** JSON-RPC over WebSocket, one `ws://127.0.0.1:<port>/websocket` per listener. */
  readonly wsUrls: readonly string[];
  /** The next transaction passing CheckTx is answered code 0 and lost; the same bytes sent again land. */
  dropNextTx(): void;
  /** The next transaction included fails: fee charged, sequence used, nothing else. */
  failNextTx(): void;
  /** The next transaction passing CheckTx stays out of blocks for `ms` of real time. */
  delayNextTx(ms: number): void;
  /** The next transaction passing CheckTx is included, and the answer to its broadcast is lost (the connection is cut). */
  loseNextResponse(): void;
  /**
   * Runs `hook` after a block includes a transaction (successful or failed);
   * `null` removes it. cosmjs learns of inclusion by polling, so the hook
   * runs before any client can have seen the transaction included.
   */
  onIncluded(hook: ((tx: IncludedTx) => void | Promise<void>) | null): void;
  /** Stops the listeners (cutting held connections) and every timer. */
  close(): Promise<void>;
}

const DAY_MS = 86_400_000;

/** The module accounts' addresses, `sha256(name)[:20]` as x/auth derives them. */
function moduleAddresses(prefix: string): ModuleAddresses {
  const of = (name: string): string => toBech32(prefix, sha256Of(name).slice(0, 20));
  return { mint: of('mint'), feeCollector: of('fee_collector'), distribution: of('distribution'), bondedPool: of('bonded_tokens_pool'), notBondedPool: of('not_bonded_tokens_pool') };
}

function operatorBytes(options: CosmosValidatorOptions, index: number, prefix: string): Uint8Array {
  if (options.operator !== undefined) {
    const decoded = decodeBech32(options.operator);
    if (decoded.prefix !== `${prefix}valoper`) throw new RangeError(`cosmos devnet: validator ${options.operator} must have the ${prefix}valoper prefix`);
    return decoded.data;
  }
  const keypair = Secp256k1.makeKeypair(sha256Of(options.seed ?? `softstake-devnet validator ${index}`));
  return rawSecp256k1PubkeyToRawAddress(Secp256k1.compressPubkey(keypair.pubkey));
}

function positiveInteger(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`cosmos devnet: ${name} must be an integer ≥ ${min}, got ${value}`);
  return value;
}

function genesisState(options: CosmosDevnetOptions, prefix: string, genesisTime: number): ChainState {
  const state: ChainState = {
    accounts: new Map(),
    validators: new Map(),
    delegations: new Map(),
    unbonding: [],
    redelegations: [],
    baseGasPrice: 0n,
    nextAccountNumber: 0n,
    nextUnbondingId: 1n,
    supply: 0n,
    feeCollector: 0n,
    communityPool: 0n,
    mintCarry: 0n,
    truth: [],
  };
  const validators = options.validators ?? [{ commission: '0.05' }, { commission: '0.10' }];
  if (validators.length === 0) throw new RangeError('cosmos devnet: at least one validator is needed');
  validators.forEach((v, index) => {
    const bytes = operatorBytes(v, index, prefix);
    const operator = toBech32(`${prefix}valoper`, bytes);
    if (state.validators.has(operator)) throw new RangeError(`cosmos devnet: validator ${operator} listed twice`);
    const account = toBech32(prefix, bytes);
    const selfBond = v.selfBond ?? 1_000_000_000_000n;
    if (selfBond <= 0n) throw new RangeError(`cosmos devnet: validator ${operator} needs a positive selfBond`);
    const rate = parseDec(v.commission ?? '0.05', `validator ${index} commission`);
    if (rate > DEC_ONE) throw new RangeError(`cosmos devnet: validator ${index} commission must be ≤ 1`);
    const consensusPubkey = sha256Of('consensus key', operator);
    const validator: ValidatorState = {
      operator,
      account,
      moniker: v.moniker ?? `validator-${index}`,
      commissionRate: rate,
      maxCommissionRate: rate > DEC_ONE / 5n ? rate : DEC_ONE / 5n,
      maxChangeRate: DEC_ONE / 100n,
      commissionUpdatedAt: genesisTime,
      tokens: selfBond,
      shares: selfBond * DEC_ONE,
      jailed: v.jailed ?? false,
      bonded: false,
      unbondingHeight: 0n,
      unbondingTime: 0,
      consensusPubkey,
      consensusAddress: sha256Of(consensusPubkey).slice(0, 20),
      rewardRatio: 0n,
      commission: 0n,
      outstanding: 0n,
    };
    state.validators.set(operator, validator);
    state.accounts.set(account, { address: account, accountNumber: state.nextAccountNumber, sequence: 0n, pubkey: undefined, balance: 0n });
    state.nextAccountNumber += 1n;
    state.delegations.set(`${account}/${operator}`, { delegator: account, validator: operator, shares: validator.shares, startRatio: 0n });
    state.supply += selfBond;
  });
  return state;
}

/**
 * Starts a Cosmos devnet with its HTTP listeners on 127.0.0.1 (ports chosen
 * by the system). Call `close()` when done.
 */
export async function startCosmosDevnet(options: CosmosDevnetOptions = {}): Promise<CosmosDevnet> {
  const chainId = options.chainId ?? 'softstake-devnet-1';
  const prefix = options.prefix ?? 'cosmos';
  const denom = options.denom ?? 'uatom';
  const blockMs = positiveInteger('blockMs', options.blockMs ?? 5000, 1);
  const unbondingMs = positiveInteger('unbondingMs', options.unbondingMs ?? 21 * DAY_MS, 0);
  const inclusionDelayMs = positiveInteger('inclusionDelayMs', options.inclusionDelayMs ?? 10, 0);
  const maxValidators = positiveInteger('maxValidators', options.maxValidators ?? 100, 1);
  const genesisTime = positiveInteger('genesisTime', options.genesisTime ?? Date.now(), 0);
  const clock = new DevnetClock({ name: 'cosmos devnet', mode: options.clock ?? 'frozen', start: genesisTime, speedup: options.speedup ?? 1 });
  const minGasPriceText = options.minGasPrice ?? `0.025${denom}`;
  const gasPrice = parseGasPrice(minGasPriceText);
  if (gasPrice.denom !== denom) throw new RangeError(`cosmos devnet: minGasPrice must be in ${denom}, got ${minGasPriceText}`);
  if (options.blockReward !== undefined && options.blockReward < 0n) throw new RangeError('cosmos devnet: blockReward must be ≥ 0');
  const communityTax = parseDec(options.communityTax ?? '0.02', 'communityTax');
  const feeMarket = options.feeMarket === undefined || options.feeMarket === false ? undefined : options.feeMarket === true ? {} : options.feeMarket;
  const clockMode = options.clock ?? 'frozen';
  if (communityTax > DEC_ONE) throw new RangeError('cosmos devnet: communityTax must be ≤ 1');
  const chain = new Chain(
    {
      chainId,
      prefix,
      denom,
      minGasPrice: gasPrice.amount,
      feeMarket: feeMarket !== undefined,
      feeMarketParams:
        feeMarket === undefined
          ? undefined
          : { minBaseGasPrice: gasPrice.amount, maxBlockGas: feeMarket.maxBlockGas ?? 1_000_000n, learningRate: parseDec(feeMarket.learningRate ?? '0.125', 'feeMarket.learningRate') },
      maxEntries: positiveInteger('maxEntries', options.maxEntries ?? MAX_ENTRIES, 1),
      retainBlocks: positiveInteger('retainBlocks', options.retainBlocks ?? 0, 0),
      inclusion: options.inclusion ?? (clockMode === 'wall' ? 'nextBlock' : 'prompt'),
      blockMs,
      unbondingMs,
      rewards: { inflation: parseDec(options.inflation ?? '0.10', 'inflation'), blockReward: options.blockReward, blockMs, communityTax },
      maxValidators,
      inclusionDelayMs,
      modules: moduleAddresses(prefix),
      txIndex: options.txIndex ?? true,
    },
    genesisState(options, prefix, genesisTime),
    clock,
  );
  let rpc: Awaited<ReturnType<typeof startRpcServers>>;
  try {
    rpc = await startRpcServers(chain, options.listeners ?? (options.ports?.length || 2), options.ports);
  } catch (error) {
    chain.close();
    throw error;
  }

  const validatorOf = (address: string): void => {
    if (!chain.state.validators.has(address)) throw new RangeError(`cosmos devnet: unknown validator ${address}`);
  };

  return {
    ...kitControls({ server: rpc, mempool: chain.mempool, truth: chain.truth, stop: () => chain.close() }),
    urls: rpc.urls,
    endpoints: rpc.urls,
    chainId,
    prefix,
    denom,
    validators: [...chain.state.validators.keys()],
    minGasPrice: minGasPriceText,
    blockMs,
    unbondingMs,
    height: () => {
      chain.catchUp();
      return chain.height;
    },
    time: () => {
      chain.catchUp();
      return chain.headTime;
    },
    clock,
    advance: (ms) => chain.advance(ms),
    produceBlocks: (n) => chain.advance(positiveInteger('produceBlocks(n)', n, 0) * blockMs),
    fund: (address, amount) => chain.fund(address, amount),
    account: (address) => {
      chain.catchUp();
      const { state } = chain;
      const account = state.accounts.get(address);
      const delegations = [...state.validators.values()].flatMap((v) => {
        const d = state.delegations.get(`${address}/${v.operator}`);
        return d === undefined ? [] : [{ validator: v.operator, amount: tokensFromShares(v, d.shares), shares: d.shares, pending: pendingRewards(state, d) / DEC_ONE }];
      });
      return {
        height: chain.height,
        time: chain.headTime,
        address,
        accountNumber: account?.accountNumber,
        sequence: account?.sequence ?? 0n,
        liquid: account?.balance ?? 0n,
        delegations: delegations.map(({ validator, amount, shares }) => ({ validator, amount, shares })),
        pendingRewards: delegations.reduce((sum, d) => sum + d.pending, 0n),
        unbonding: state.unbonding
          .filter((e) => e.delegator === address)
          .map((e) => ({ validator: e.validator, amount: e.balance, completesAt: e.completionTime, creationHeight: e.creationHeight })),
      };
    },
    rewardsPaid: (address) => chain.truth.of(address).paid,
    slashed: (address) => chain.truth.of(address).slashed,
    slash: (validator, bps) => chain.slash(validator, bps),
    baseGasPrice: () => {
      chain.catchUp();
      return chain.state.baseGasPrice;
    },
    setBaseGasPrice: (price) => chain.setBaseGasPrice(parseDec(price, 'base gas price')),
    rateLimit: (index, limit) => rpc.faults.rateLimit(index, limit),
    jail: (validator) => {
      validatorOf(validator);
      chain.setJailed(validator, true);
    },
    unjail: (validator) => {
      validatorOf(validator);
      chain.setJailed(validator, false);
    },
    setCommission: (validator, rate) => {
      const dec = parseDec(rate, 'commission');
      if (dec > DEC_ONE) throw new RangeError('cosmos devnet: commission must be ≤ 1');
      chain.setCommission(validator, dec);
    },
    wsUrls: rpc.wsUrls,
  };
}

/** A fresh mnemonic-derived account (24 words, HD path m/44'/118'/0'/0/0). */
export async function generateCosmosAccount(prefix = 'cosmos'): Promise<{ mnemonic: string; address: string }> {
  const wallet = await DirectSecp256k1HdWallet.generate(24, { prefix });
  const [account] = await wallet.getAccounts();
  if (account === undefined) throw new Error('cosmos devnet: the wallet derived no account');
  return { mnemonic: wallet.mnemonic, address: account.address };
}

/** A fresh mnemonic-derived account, funded on the devnet with `amount` base units. */
export async function createFundedAccount(devnet: CosmosDevnet, amount: bigint): Promise<{ mnemonic: string; address: string }> {
  const account = await generateCosmosAccount(devnet.prefix);
  devnet.fund(account.address, amount);
  return account;
}

/** The Cosmos devnet for `softstake devnet`: two validators, wall-clock blocks, rewards sped up. */
export const devnet: DevnetModule = {
  kind: 'cosmos',
  async start(options) {
    const chain = await startCosmosDevnet({ clock: 'wall', blockMs: 1_000, speedup: options.speedup, ...(options.ports === undefined ? {} : { ports: options.ports }) });
    return {
      endpoints: [...chain.urls],
      validators: [...chain.validators],
      chainId: chain.chainId,
      extraEndpoints: { websocket: [...chain.wsUrls] },
      async createFundedAccount(amount) {
        const { mnemonic, address } = await createFundedAccount(chain, amount);
        return { secret: mnemonic, address, key: mnemonic, keyFormat: `mnemonic, HD path m/44'/118'/0'/0/0` };
      },
      controls: chain,
      validatorFaults: { slash: (v, bps) => chain.slash(v, bps), jail: (v) => chain.jail(v), unjail: (v) => chain.unjail(v) },
      close: () => chain.close(),
    };
  },
};
