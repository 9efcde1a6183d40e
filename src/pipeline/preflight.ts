/**
 * The preflight of every configured chain (`softstake preflight`, and
 * `softstake start` before it runs a worker): each adapter's own checks
 * against its endpoints (ChainAdapter.preflight), plus, where the process
 * signs, the signer key: readable, private, and for the custody address.
 */
import { stat } from 'node:fs/promises';
import type pg from 'pg';

import { readSigningSecret } from '../../adapters/signer.js';
import type { PreflightCheck } from '../../adapters/types.js';
import type { SoftstakeConfig } from '../config/index.js';
import { loadChains, type LoadedChain } from './adapters.js';

/** One chain's checks. */
export interface ChainPreflight {
  chain: string;
  kind: string;
  asset: string;
  checks: PreflightCheck[];
}

export interface PreflightReport {
  /** No check failed: the daemon can start. */
  ok: boolean;
  chains: ChainPreflight[];
}

/** Each chain's last harvest checkpoint (chains never harvested are absent). */
export async function readCheckpoints(pool: pg.Pool): Promise<Map<string, string>> {
  const { rows } = await pool.query<{ chain: string; checkpoint: string }>('SELECT chain, checkpoint FROM chain_checkpoints');
  return new Map(rows.map((r) => [r.chain, r.checkpoint]));
}

function reasonOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 300);
}

/**
 * The signer line (kind `custody`, name `signer`): the key can be read, is
 * not readable by other users, is a key of the chain, and controls the
 * chain block's `address` where one is configured.
 */
export async function signerCheck({ chain, module, adapterConfig }: LoadedChain): Promise<PreflightCheck> {
  const source = 'file' in chain.signer ? `key file ${chain.signer.file}` : `environment variable ${chain.signer.env}`;
  const fail = (detail: string, fix: string): PreflightCheck => ({ kind: 'custody', name: 'signer', status: 'failure', detail, fix });
  let secret: string;
  try {
    secret = await readSigningSecret(chain.name, chain.signer);
  } catch (error) {
    return fail(reasonOf(error), `\`softstake keys new --chain ${chain.name}\` writes a new key there, or point signer at the custody key`);
  }
  let address: string;
  try {
    address = await module.addressOf(secret, adapterConfig);
  } catch (error) {
    return fail(`${source}: ${reasonOf(error)}`, `put the custody key there in the chain's format (\`softstake keys new --chain ${chain.name}\` shows it)`);
  }
  if (chain.address !== null && chain.address !== address) {
    return fail(`${source} holds the key of ${address}, the chain block's address is ${chain.address}`, "use the custody's key, or correct the chain block's address");
  }
  if ('file' in chain.signer) {
    const mode = (await stat(chain.signer.file)).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      return { kind: 'custody', name: 'signer', status: 'warning', detail: `${source} (mode ${mode.toString(8).padStart(4, '0')}) for ${address} is readable by other users`, fix: `chmod 600 ${chain.signer.file}` };
    }
  }
  return { kind: 'custody', name: 'signer', status: 'ok', detail: `${source} holds the key of ${address}` };
}

/**
 * Runs every chain's preflight, the chains side by side. `signer`: also
 * check the key (the worker role, and `softstake preflight`).
 */
export async function runPreflight(config: SoftstakeConfig, options: { checkpoints: ReadonlyMap<string, string>; signer: boolean }): Promise<PreflightReport> {
  const chains = await loadChains(config);
  const results = await Promise.all(
    [...chains.values()].map(async (loaded): Promise<ChainPreflight> => {
      const checks: PreflightCheck[] = [];
      if (options.signer) checks.push(await signerCheck(loaded));
      const adapter = loaded.module.create(loaded.adapterConfig);
      try {
        checks.push(...(await adapter.preflight(options.checkpoints.get(loaded.chain.name) ?? null)));
      } catch (error) {
        // The contract says preflight does not throw; a plugin's may.
        checks.push({ kind: 'endpoint', name: 'preflight', status: 'failure', detail: `the adapter's preflight failed: ${reasonOf(error)}`, fix: 'see the error; the adapter should report this as a check' });
      } finally {
        await adapter.close();
      }
      return { chain: loaded.chain.name, kind: loaded.chain.kind, asset: loaded.chain.asset, checks };
    }),
  );
  return { ok: results.every((r) => r.checks.every((c) => c.status !== 'failure')), chains: results };
}
