/**
 * The Polkadot adapter against the Polkadot (Asset Hub) devnet, in both
 * modes: the conformance suite, and what the suite does not say about
 * Polkadot (payouts someone else triggers, exposures in pages, the pool's
 * reward counter, the refusals before signing).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeAddress } from '@polkadot/util-crypto';
import { adapter as polkadot, createPolkadotAdapter, type PolkadotOptions } from '../../adapters/polkadot/adapter.js';
import { DOT, startPolkadotDevnet, type PolkadotDevnet, type PolkadotDevnetOptions } from '../../adapters/polkadot/devnet.js';
import type { AdapterConfig, ChainAdapter } from '../../adapters/types.js';
import { describeAdapterConformance, type ConformanceHarness } from './conformance.js';

const BLOCK_MS = 12_000;
/** A short era: 12 blocks. */
const ERA_MS = 12 * BLOCK_MS;
const FUNDS = 10_000n * DOT;
const AMOUNT = 100n * DOT;
/** Staking BondingDuration (28 eras) and the era the unbond happened in, and one to plan. */
const UNLOCK_MS = 30 * ERA_MS;

interface Fixture {
  devnet: PolkadotDevnet;
  custody: string;
  config(endpoints?: readonly string[], options?: Partial<PolkadotOptions>): AdapterConfig<PolkadotOptions>;
  adapter(endpoints?: readonly string[], options?: Partial<PolkadotOptions>, onRpc?: (method: string) => void): ChainAdapter;
  /** The custody address configured, the signer file missing. */
  readOnlyAdapter(options?: Partial<PolkadotOptions>): ChainAdapter;
  dispose(): Promise<void>;
}

async function fixture(mode: 'pool' | 'nominate', devnetOptions: PolkadotDevnetOptions = {}): Promise<Fixture> {
  const devnet = await startPolkadotDevnet({
    eraMs: ERA_MS,
    blockMs: BLOCK_MS,
    // An example figure (governance sets it): low enough that half the test amount stays above it.
    minNominatorBond: 10n * DOT,
    // The adapter reads past blocks' state (an archive node's).
    statePruning: 1_000_000,
    // Final with the block: a read right after `advance` sees it (the adapter reads finalized state only).
    finalityDelayMs: 0,
    ...devnetOptions,
  });
  const account = devnet.createAccount(FUNDS);
  const dir = await mkdtemp(join(tmpdir(), 'softstake-dot-'));
  const keyFile = join(dir, 'custody.mnemonic');
  await writeFile(keyFile, account.mnemonic, { mode: 0o600 });
  const built: ChainAdapter[] = [];
  const base: PolkadotOptions = mode === 'pool' ? { mode: 'pool', poolId: 1 } : { mode: 'nominate' };
  const config = (endpoints: readonly string[] = devnet.wsUrls, options: Partial<PolkadotOptions> = {}): AdapterConfig<PolkadotOptions> => ({
    name: 'polkadot-devnet',
    asset: 'DOT',
    decimals: 10,
    endpoints: [...endpoints],
    signer: { file: keyFile },
    validators: mode === 'pool' ? [] : devnet.validators.slice(0, 2),
    // Above the suite's suggested 300 ms: polkadot-js decodes answers on the same (shared, loaded) cores.
    requestTimeoutMs: 1500,
    options: { ...base, eraDurationMs: ERA_MS, inclusionWaitMs: 1000, pollIntervalMs: 20, ...options },
  });
  return {
    devnet,
    custody: account.address,
    config,
    adapter(endpoints, options, onRpc) {
      const a = onRpc === undefined ? polkadot.create(config(endpoints, options)) : createPolkadotAdapter(config(endpoints, options), { onRpc });
      built.push(a);
      return a;
    },
    readOnlyAdapter(options) {
      const a = polkadot.create({ ...config(undefined, options), signer: { file: join(dir, 'no-such-key') }, address: account.address });
      built.push(a);
      return a;
    },
    async dispose() {
      for (const a of built) await a.close();
      await devnet.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describeAdapterConformance('polkadot (nominate)', async () => {
  const f = await fixture('nominate');
  const harness: ConformanceHarness = {
    devnet: f.devnet,
    custody: f.custody,
    sendMethod: 'author_submitExtrinsic',
    unlockMs: UNLOCK_MS,
    close: () => f.dispose(),
    createAdapter: (endpoints) => f.adapter(endpoints),
    createReadOnlyAdapter: () => f.readOnlyAdapter(),
    perTargetStake: false,
    validators: [f.devnet.validators[0]!, f.devnet.validators[1]!],
    amount: AMOUNT,
    // Nominated in era n, elected for n + 1, paid when n + 1 ends.
    rewardPeriodMs: 3 * ERA_MS,
    unknownValidator: encodeAddress(new Uint8Array(32).fill(7), 0),
  };
  return harness;
});

describeAdapterConformance('polkadot (pool)', async () => {
  const f = await fixture('pool');
  const harness: ConformanceHarness = {
    // Pool rewards reach the pool's reward account when someone pays its validators out: the devnet's bot does, after every advance.
    devnet: {
      ...f.devnet,
      advance(ms: number) {
        f.devnet.advance(ms);
        f.devnet.payoutAll();
      },
    },
    custody: f.custody,
    sendMethod: 'author_submitExtrinsic',
    unlockMs: UNLOCK_MS,
    close: () => f.dispose(),
    createAdapter: (endpoints) => f.adapter(endpoints),
    createReadOnlyAdapter: () => f.readOnlyAdapter(),
    validators: ['pool:1'],
    amount: AMOUNT,
    rewardPeriodMs: 3 * ERA_MS,
    unknownValidator: 'pool:2',
  };
  return harness;
});
