/**
 * `softstake preflight`: every chain's checks against its real endpoints
 * (see ChainAdapter.preflight), the signer key included; exit 0 when the
 * daemon can start, {@link EXIT_PREFLIGHT} when a check failed. `softstake
 * start` runs the same checks (see {@link preflightBeforeStart}).
 */
import type { Command } from 'commander';
import type { Logger } from 'pino';

import type { SoftstakeConfig } from '../../config/index.js';
import { SoftstakeError } from '../../errors.js';
import { readCheckpoints, runPreflight, type PreflightReport } from '../../pipeline/preflight.js';
import { loadConfig } from '../../config/index.js';
import { configPath, type GlobalOptions } from '../context.js';
import { printJson } from '../output.js';
import { openLedger } from '../startup.js';

/** A check failed (EX_UNAVAILABLE): `preflight` exits with it, and `start` refuses to run with it. */
export const EXIT_PREFLIGHT = 69;

/** `start` (or `devnet`) refused to run: a preflight check failed. */
export class PreflightFailedError extends SoftstakeError {
  constructor(readonly report: PreflightReport) {
    const failures = report.chains.flatMap((c) => c.checks.filter((k) => k.status === 'failure').map((k) => `${c.chain} ${k.kind} ${k.name}: ${k.detail}${k.fix ? ` (fix: ${k.fix})` : ''}`));
    super(`preflight failed, not starting: ${failures.join('; ')}. Fix these (softstake preflight shows every check) or start with --skip-preflight`);
  }
}

/** Runs the preflight with the ledger's checkpoints. */
export async function preflightConfig(config: SoftstakeConfig, signer: boolean): Promise<PreflightReport> {
  const pool = await openLedger(config, { applicationName: 'softstake-preflight', max: 1 });
  let checkpoints: Map<string, string>;
  try {
    checkpoints = await readCheckpoints(pool);
  } finally {
    await pool.end();
  }
  return runPreflight(config, { checkpoints, signer });
}

/** The report for a person: a block per chain, a line per check, its fix under it. */
export function formatPreflight(report: PreflightReport): string {
  const lines: string[] = [];
  for (const chain of report.chains) {
    lines.push(`${chain.chain} (${chain.kind}, ${chain.asset})`);
    const kindWidth = Math.max(...chain.checks.map((c) => c.kind.length));
    const nameWidth = Math.max(...chain.checks.map((c) => c.name.length));
    for (const c of chain.checks) {
      lines.push(`  ${c.status.padEnd(7)}  ${c.kind.padEnd(kindWidth)}  ${c.name.padEnd(nameWidth)}  ${c.detail}`);
      if (c.fix !== undefined && c.status !== 'ok') lines.push(`  ${' '.repeat(7)}  ${' '.repeat(kindWidth)}  ${' '.repeat(nameWidth)}  fix: ${c.fix}`);
    }
  }
  const all = report.chains.flatMap((c) => c.checks);
  const failures = all.filter((c) => c.status === 'failure').length;
  const warnings = all.filter((c) => c.status === 'warning').length;
  if (report.chains.length === 0) lines.push('no chains configured: nothing to check');
  else lines.push(`${failures} failure(s), ${warnings} warning(s): ${report.ok ? 'the daemon can start' : 'the daemon would not start'}`);
  return `${lines.join('\n')}\n`;
}

/**
 * `start`'s preflight: logs each check that is not ok, and refuses to run
 * on a failure. Only a process with the worker role talks to the chains,
 * so only it checks them (and its key).
 * @throws PreflightFailedError
 */
export async function preflightBeforeStart(config: SoftstakeConfig, logger: Logger): Promise<void> {
  logger.info({ chains: Object.keys(config.chains) }, 'preflight: checking the chains before starting (--skip-preflight skips it)');
  const started = performance.now();
  const report = await preflightConfig(config, true);
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

export function registerPreflightCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('preflight')
    .description(`check every chain against its endpoints: chain id, what the daemon depends on, the custody and its key, validators, limits; exits ${EXIT_PREFLIGHT} on a failure`)
    .action(async () => {
      const g = globals();
      const config = await loadConfig(configPath(g));
      const report = await preflightConfig(config, true);
      if (g.json) printJson(report);
      else process.stdout.write(formatPreflight(report));
      if (!report.ok) process.exitCode = EXIT_PREFLIGHT;
    });
}
