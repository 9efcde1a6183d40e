/**
 * The preflight of every configured chain (`softstake preflight`, and
 * `softstake start` before it runs a worker): each adapter's own checks
 * against its endpoints (ChainAdapter.preflight), plus, where the process
 * signs, the signer key: readable, private, and for the custody address.
 */
import { stat } from 'node:fs/promises';
import type pg from 'pg';
import type { Logger } from 'pino';

import { readSigningSecret } from '../../adapters/signer.js';
import type { PreflightCheck } from '../../adapters/types.js';
import type { SoftstakeConfig } from '../config/index.js';
import { SoftstakeError } from '../errors.js';
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
export async function signerCheck({ chain, module, adapterConfig }: LoadedChain): Promise<{ check: PreflightCheck; address?: string }> {
  const source = 'file' in chain.signer ? `key file ${chain.signer.file}` : `environment variable ${chain.signer.env}`;
  const fail = (detail: string, fix: string): { check: PreflightCheck } => ({ check: { kind: 'custody', name: 'signer', status: 'failure', detail, fix } });
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
      return { check: { kind: 'custody', name: 'signer', status: 'warning', detail: `${source} (mode ${mode.toString(8).padStart(4, '0')}) for ${address} is readable by other users`, fix: `chmod 600 ${chain.signer.file}` }, address };
    }
  }
  return { check: { kind: 'custody', name: 'signer', status: 'ok', detail: `${source} holds the key of ${address}` }, address };
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
      let keyAddress: string | undefined;
      if (options.signer) {
        const signer = await signerCheck(loaded);
        checks.push(signer.check);
        keyAddress = signer.address;
      }
      // The key's address, once known, spares the adapter deriving it again (a BIP-39 seed takes a while).
      const adapter = loaded.module.create(loaded.adapterConfig.address === undefined && keyAddress !== undefined ? { ...loaded.adapterConfig, address: keyAddress } : loaded.adapterConfig);
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

/** `start` (or `devnet`) refused to run: a preflight check failed. */
export class PreflightFailedError extends SoftstakeError {
  constructor(readonly report: PreflightReport) {
    const failures = report.chains.flatMap((c) => c.checks.filter((k) => k.status === 'failure').map((k) => `${c.chain} ${k.kind} ${k.name}: ${k.detail}${k.fix ? ` (fix: ${k.fix})` : ''}`));
    super(`preflight failed, not starting: ${failures.join('; ')}. Fix these (softstake preflight shows every check) or start with --skip-preflight`);
  }
}

/**
 * The daemon's preflight (`softstake start` with the worker role, `softstake
 * devnet`): the checks with the ledger's checkpoints, each one not ok
 * logged, the signer included.
 * @throws PreflightFailedError on a failure.
 */
export async function preflightBeforeStart(config: SoftstakeConfig, pool: pg.Pool, logger: Logger): Promise<void> {
  logger.info({ chains: Object.keys(config.chains) }, 'preflight: checking the chains before starting (--skip-preflight skips it)');
  const started = performance.now();
  const report = await runPreflight(config, { checkpoints: await readCheckpoints(pool), signer: true });
  for (const chain of report.chains) {
    for (const c of chain.checks) {
      const line = { chain: chain.chain, check: c.kind, name: c.name, status: c.status, detail: c.detail, ...(c.fix === undefined ? {} : { fix: c.fix }) };
      if (c.status === 'failure') logger.error(line, 'preflight failure');
      else if (c.status === 'warning') logger.warn(line, 'preflight warning');
    }
  }
  logger.info({ ok: report.ok, checks: report.chains.reduce((n, c) => n + c.checks.length, 0), ms: Math.round(performance.now() - started) }, 'preflight done');
  if (!report.ok) throw new PreflightFailedError(report);
}
