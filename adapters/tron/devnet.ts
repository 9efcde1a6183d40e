/**
 * A local TRON chain for the TRON adapter: the java-tron HTTP API
 * (`/wallet/*`, `/walletsolidity/*`) on 127.0.0.1, several listeners sharing
 * one chain, which unmodified tronweb 6 talks to as to a full node. It is a
 * chain, not a mock: broadcast transactions are rebuilt from their JSON with
 * tronweb's own codec, the secp256k1 signature is recovered to the owner,
 * TaPoS, expiry, duplicates and bandwidth are enforced, and the Stake 2.0
 * actuators, the voting rewards (MortgageService) and the maintenance
 * cycles follow java-tron, refusing in its words (devnet/*.ts name the
 * source file of each rule). `walletsolidity/*` answers from the solidified
 * block, about 19 blocks behind the head with 27 SRs.
 *
 * The clock, block production, mempool faults, listeners and the ground
 * truth come from the devnet kit (adapters/devnet/); this file and devnet/
 * hold TRON's rules and codecs.
 *
 * Also `softstake devnet`'s TRON chain: {@link devnet}.
 */
import { TronWeb } from 'tronweb';
import type { DevnetModule } from '../devnet.js';
import type { ClockMode, DevnetClock } from '../devnet/clock.js';
import { kitControls, type DevnetControls } from '../devnet/controls.js';
import type { Faults } from '../devnet/faults.js';
import type { GroundTruth } from '../devnet/groundTruth.js';
import type { ListenerFault } from '../devnet/listeners.js';
import { startDevnetServer } from '../devnet/server.js';
import { type GenesisWitness, type IncludedTx, TronChain } from './devnet/chain.js';
import { addressOfKey, hex, sha256, toBase58 } from './devnet/codec.js';
import { tronRouter } from './devnet/http.js';
import { type Account, type ChainParams, TRX } from './devnet/state.js';

export type { IncludedTx } from './devnet/chain.js';
export { TronChain } from './devnet/chain.js';
export { MAX_VOTE_NUMBER, UNFREEZE_MAX_TIMES } from './devnet/actuators.js';
export { TRX } from './devnet/state.js';

/** Options of {@link startTronDevnet}. */
export interface TronDevnetOptions {
  /** @defaultValue 'frozen' */
  clock?: ClockMode;
  /** Genesis block time, ms. @defaultValue now, rounded down to a block */
  genesisTime?: number;
  /** @defaultValue 1 */
  speedup?: number;
  /** Chain time per block, ms. @defaultValue 3000 (java-tron's BLOCK_PRODUCED_INTERVAL) */
  blockMs?: number;
  /** How many genesis SRs (each with genesis votes, the first the most). @defaultValue 27 */
  witnesses?: number;
  /** Genesis votes of SR i, whole TRX. @defaultValue 1 500 000 000 − i × 20 000 000 (about 33.5 billion in all, mainnet's order) */
  witnessVotes?: (index: number) => bigint;
  /** Chain parameters; see {@link ChainParams} for each default. */
  params?: Partial<ChainParams>;
  /** TRX the rest of the world froze for bandwidth (`TotalNetWeight` at genesis). @defaultValue 26 000 000 000 (mainnet's order; the exact figure is unconfirmed) */
  genesisNetWeight?: bigint;
  /** With the frozen clock, each accepted transaction is included and solidified this many real ms later, moving chain time (see TronChainOptions.confirmAfterMs). @defaultValue off */
  confirmAfterMs?: number;
  /** HTTP listeners sharing the chain. @defaultValue `ports.length`, else 2 */
  listeners?: number;
  /** Ports to listen on (127.0.0.1); 0 or absent: any free port. */
  ports?: number[];
}

/** The chain parameters java-tron's mainnet has, as far as documented (docs/chains/tron.md §4.1, §5.3). */
export const MAINNET_PARAMS: ChainParams = {
  maintenanceTimeInterval: 21_600_000,
  transactionFee: 1000n,
  freeNetLimit: 600,
  totalNetLimit: 43_200_000_000,
  publicNetLimit: 14_400_000_000,
  // 8 TRX / 128 TRX per developers.tron.network "Reward calculation"; mainnet's current values are unconfirmed.
  witnessPayPerBlock: 8_000_000n,
  witness127PayPerBlock: 128_000_000n,
  unfreezeDelayDays: 14,
  witnessAllowanceFrozenTime: 1,
  allowNewResourceModel: 0,
  totalEnergyLimit: 180_000_000_000,
};

/** A running TRON devnet and its test controls (the kit's, and TRON's own). */
export interface TronDevnet extends DevnetControls<IncludedTx> {
  /** One `http://127.0.0.1:<port>` per listener: a tronweb `fullHost`. */
  readonly urls: readonly string[];
  readonly endpoints: readonly string[];
  /** The genesis SRs' addresses (`T…`), by genesis votes, descending. */
  readonly witnesses: readonly string[];
  readonly chain: TronChain;
  readonly params: ChainParams;
  readonly clock: DevnetClock;
  /** Moves chain time forward by `ms`, a block every `blockMs`, a maintenance each interval. */
  advance(ms: number): void;
  /** `advance(n × blockMs)`: exactly `n` blocks. */
  produceBlocks(n: number): void;
  /** Advances to the block that runs the next maintenance (inclusive). */
  nextMaintenance(): void;
  /** The head block's number and time. */
  height(): number;
  time(): number;
  /** The solidified block's number. */
  solidHeight(): number;
  /** The current maintenance cycle (0 at genesis). */
  cycle(): number;
  /** Creates an account holding `amount` sun (no transaction); returns its hex private key and address. */
  createAccount(amount: bigint): { privateKey: string; address: string };
  /** An account at the full node's pending state, `T…` or `41…`; undefined when it does not exist. */
  account(address: string): Account | undefined;
  /** Sets an SR's votes (genesis votes, not an account's), counted at the next maintenance: below the top 127 its voters earn nothing. */
  setWitnessVotes(witness: string, votes: bigint): void;
  /** Sets an SR's brokerage (percent), in force from the next cycle. */
  setBrokerage(witness: string, percent: number): void;
  setFault(index: number, fault: ListenerFault | null): void;
  /** Faults per listener, per route, or both: `faults.inject({ target: 'POST /wallet/broadcasttransaction' }, 'http503', 1)`. */
  readonly faults: Faults;
  /** The next accepted transaction is answered `result: true` and lost; the same signed JSON sent again lands (until it expires). */
  dropNextTx(): void;
  /** The next accepted transaction is left out of its block (a TRON system contract never fails on chain): never included, it expires. */
  failNextTx(): void;
  /** The next accepted transaction waits `ms` of real time before a block may include it. */
  delayNextTx(ms: number): void;
  /** The next accepted transaction is kept and the broadcast's answer is lost (the connection is cut). */
  loseNextResponse(): void;
  onIncluded(hook: ((tx: IncludedTx) => void | Promise<void>) | null): void;
  /** What WithdrawBalance paid, per `T…` address: `truth.of(address)` is `{ paid, slashed: 0n, net }`. TRON has no slashing of voters. */
  readonly truth: GroundTruth;
  close(): Promise<void>;
}

function hex41(address: string): string {
  return address.startsWith('T') ? TronWeb.address.toHex(address).toLowerCase() : address.toLowerCase();
}

/** Starts a TRON devnet on 127.0.0.1. */
export async function startTronDevnet(options: TronDevnetOptions = {}): Promise<TronDevnet> {
  const count = options.witnesses ?? 27;
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`tron devnet: witnesses must be an integer ≥ 1, got ${count}`);
  const votesOf = options.witnessVotes ?? ((i: number) => 1_500_000_000n - BigInt(i) * 20_000_000n);
  const witnesses: GenesisWitness[] = Array.from({ length: count }, (_, i) => ({
    privateKey: hex(sha256(`softstake tron devnet SR ${i}`)),
    url: `https://sr${i}.devnet.invalid`,
    votes: votesOf(i),
  }));
  const params: ChainParams = { ...MAINNET_PARAMS, ...options.params, allowNewResourceModel: 0 };
  const chain = new TronChain({
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.genesisTime === undefined ? {} : { genesisTime: options.genesisTime }),
    ...(options.speedup === undefined ? {} : { speedup: options.speedup }),
    ...(options.blockMs === undefined ? {} : { blockMs: options.blockMs }),
    ...(options.confirmAfterMs === undefined ? {} : { confirmAfterMs: options.confirmAfterMs }),
    witnesses,
    params,
    genesisNetWeight: options.genesisNetWeight ?? 26_000_000_000n,
  });
  let server: Awaited<ReturnType<typeof startDevnetServer>>;
  try {
    server = await startDevnetServer({
      name: 'tron devnet',
      count: options.listeners ?? (options.ports?.length || 2),
      ...(options.ports ? { ports: options.ports } : {}),
      rest: tronRouter(chain),
      websocketPaths: [],
      // java-tron's HTTP service answers an unknown path with 404 and an HTML body (Jetty); the devnet's is JSON.
    });
  } catch (error) {
    chain.close();
    throw error;
  }
  const sorted = [...witnesses].sort((a, b) => (a.votes === b.votes ? 0 : a.votes > b.votes ? -1 : 1));
  const blocks = (n: number): void => {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`tron devnet: produceBlocks(n) needs an integer ≥ 0, got ${n}`);
    chain.advance(n * chain.blockMs);
  };
  return {
    ...kitControls({ server, mempool: chain.mempool, truth: chain.truth, stop: () => chain.close() }),
    urls: server.urls,
    endpoints: server.urls,
    witnesses: sorted.map((w) => toBase58(addressOfKey(w.privateKey))),
    chain,
    params,
    clock: chain.clock,
    advance: (ms) => chain.advance(ms),
    produceBlocks: blocks,
    nextMaintenance: () => {
      chain.catchUp();
      const next = chain.state.dyn.nextMaintenanceTime;
      const head = chain.head.timestamp;
      blocks(Math.max(0, Math.ceil((next - head) / chain.blockMs)));
    },
    height: () => {
      chain.catchUp();
      return chain.head.number;
    },
    time: () => {
      chain.catchUp();
      return chain.head.timestamp;
    },
    solidHeight: () => {
      chain.catchUp();
      return chain.solidNumber();
    },
    cycle: () => {
      chain.catchUp();
      return chain.state.dyn.cycle;
    },
    createAccount: (amount) => {
      const privateKey = hex(sha256(`${Date.now()}:${Math.random()}:${chain.head.number}`));
      const address = addressOfKey(privateKey);
      chain.fund(address, amount);
      return { privateKey, address: toBase58(address) };
    },
    account: (address) => chain.account(hex41(address)),
    setWitnessVotes: (witness, votes) => chain.setWitnessVotes(hex41(witness), votes),
    setBrokerage: (witness, percent) => chain.setBrokerage(hex41(witness), percent),
  };
}

/**
 * TRON for `softstake devnet`: 27 SRs, wall-clock blocks every 100 ms (so a
 * transaction is solid, 19 blocks on, within two seconds), a maintenance
 * every 6 h ÷ speedup (at least 3 s), a one-day unfreeze delay. The claim
 * interval stays 24 h: one WithdrawBalance per day of chain time. The chain
 * block's validators are the two SRs with the most votes.
 */
export const devnet: DevnetModule = {
  kind: 'tron',
  async start(options) {
    const maintenance = Math.max(3_000, Math.round(21_600_000 / Math.max(1, options.speedup)));
    const chain = await startTronDevnet({
      clock: 'wall',
      blockMs: 100,
      speedup: options.speedup,
      params: { maintenanceTimeInterval: maintenance, unfreezeDelayDays: 1 },
      ...(options.ports === undefined ? {} : { ports: options.ports }),
    });
    return {
      endpoints: [...chain.urls],
      validators: chain.witnesses.slice(0, 2),
      async createFundedAccount(amount) {
        const { privateKey, address } = chain.createAccount(amount);
        return { secret: privateKey, address, key: privateKey, keyFormat: 'hex private key, as tronweb and TronLink import it' };
      },
      close: () => chain.close(),
    };
  },
};

export { TRX as SUN_PER_TRX };
