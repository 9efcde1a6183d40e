/**
 * Builds each configured chain's adapter: a built-in kind from the registry,
 * or a plugin module named by `module` in the chain block. The adapter
 * validates its own `options`; its problems are reported like any other
 * config problem, at `chains.<name>.options.<field>`.
 */
import { pathToFileURL } from 'node:url';

import type { AdapterConfig, AdapterModule, ChainAdapter } from '../../adapters/types.js';
import type { ChainConfig, SoftstakeConfig } from '../config/index.js';
import { ConfigError, type ConfigIssue } from '../errors.js';

/** Built-in adapter kinds; each chain issue adds its own. */
const BUILT_IN: Record<string, () => Promise<{ adapter: AdapterModule<unknown> }>> = {
  cosmos: async () => (await import('../../adapters/cosmos/adapter.js')) as unknown as { adapter: AdapterModule<unknown> },
  near: async () => (await import('../../adapters/near/adapter.js')) as unknown as { adapter: AdapterModule<unknown> },
  polkadot: async () => (await import('../../adapters/polkadot/adapter.js')) as unknown as { adapter: AdapterModule<unknown> },
  tron: async () => (await import('../../adapters/tron/adapter.js')) as unknown as { adapter: AdapterModule<unknown> },
  aptos: async () => (await import('../../adapters/aptos/adapter.js')) as unknown as { adapter: AdapterModule<unknown> },
};

export function builtInKinds(): string[] {
  return Object.keys(BUILT_IN);
}

async function loadModule(chain: ChainConfig): Promise<AdapterModule<unknown> | ConfigIssue> {
  const at = `chains.${chain.name}`;
  let loaded: { adapter?: AdapterModule<unknown> };
  if (chain.module !== null) {
    try {
      loaded = (await import(pathToFileURL(chain.module).href)) as { adapter?: AdapterModule<unknown> };
    } catch (error) {
      return { path: `${at}.module`, message: `could not load ${chain.module}: ${(error as Error).message.split('\n')[0]}` };
    }
  } else {
    const load = BUILT_IN[chain.kind];
    if (load === undefined) {
      const kinds = builtInKinds();
      return { path: `${at}.kind`, message: `unknown adapter kind ${JSON.stringify(chain.kind)}${kinds.length ? `; expected one of: ${kinds.join(', ')}` : ''} (or give a plugin module)` };
    }
    loaded = await load();
  }
  const adapter = loaded.adapter;
  if (adapter === undefined || typeof adapter.create !== 'function') {
    return { path: `${at}.module`, message: 'the module does not export an `adapter` (AdapterModule)' };
  }
  if (adapter.kind !== chain.kind) {
    return { path: `${at}.kind`, message: `the module's adapter is of kind ${JSON.stringify(adapter.kind)}, not ${JSON.stringify(chain.kind)}` };
  }
  return adapter;
}

/** A chain block's adapter module and the config it builds an adapter (or a key) from. */
export interface LoadedChain {
  chain: ChainConfig;
  module: AdapterModule<unknown>;
  adapterConfig: AdapterConfig<unknown>;
}

/**
 * Loads every chain's adapter module and validates its options, building
 * no adapter (`softstake keys` needs only the module). All problems are
 * thrown together.
 * @throws ConfigError naming each chain's offending field.
 */
export async function loadChains(config: SoftstakeConfig): Promise<Map<string, LoadedChain>> {
  const issues: ConfigIssue[] = [];
  const built: [ChainConfig, AdapterModule<unknown>, unknown][] = [];
  for (const chain of Object.values(config.chains)) {
    const module = await loadModule(chain);
    if (!('create' in module)) {
      issues.push(module);
      continue;
    }
    const options = module.optionsSchema.safeParse(chain.options);
    if (!options.success) {
      for (const issue of options.error.issues) {
        issues.push({ path: [`chains.${chain.name}.options`, ...issue.path.map(String)].join('.'), message: issue.message });
      }
      continue;
    }
    built.push([chain, module, options.data]);
  }
  if (issues.length > 0) throw new ConfigError(config.file, issues);

  const loaded = new Map<string, LoadedChain>();
  for (const [chain, module, options] of built) {
    loaded.set(chain.name, {
      chain,
      module,
      adapterConfig: {
        name: chain.name,
        asset: chain.asset,
        decimals: config.assets[chain.asset]!.decimals,
        endpoints: chain.endpoints,
        signer: chain.signer,
        ...(chain.address === null ? {} : { address: chain.address }),
        validators: chain.validators.map((v) => v.address),
        requestTimeoutMs: chain.requestTimeoutMs,
        options,
      },
    });
  }
  return loaded;
}

/**
 * Loads and builds every chain's adapter. Builds nothing when any chain's
 * block is wrong: all problems are thrown together.
 * @throws ConfigError naming each chain's offending field.
 */
export async function createAdapters(config: SoftstakeConfig): Promise<Map<string, ChainAdapter>> {
  const adapters = new Map<string, ChainAdapter>();
  for (const [name, { module, adapterConfig }] of await loadChains(config)) adapters.set(name, module.create(adapterConfig));
  return adapters;
}
