import { InvalidArgumentError, type Command } from 'commander';

import { loadConfig } from '../../config/index.js';
import { formatTokenAmount } from '../../ledger/amount.js';
import { createLogger } from '../../logger.js';
import { createAdapters } from '../../pipeline/adapters.js';
import { reconcile } from '../../pipeline/reconcile.js';
import { configPath, withLedger, type GlobalOptions } from '../context.js';
import { ROLES, startDaemon, type Role } from '../startDaemon.js';
import { preflightBeforeStart } from './preflight.js';
import { printJson, printTable } from '../output.js';

/** `reconcile` exits with this when a chain holds less than the ledger owes. */
export const EXIT_SHORTFALL = 2;

function collectRole(value: string, previous: Role[] = []): Role[] {
  for (const role of value.split(',')) {
    if (!(ROLES as readonly string[]).includes(role)) throw new InvalidArgumentError(`expected ${ROLES.join(', ')}, got ${JSON.stringify(role)}`);
    previous.push(role as Role);
  }
  return previous;
}

export function registerDaemonCommands(program: Command, globals: () => GlobalOptions): void {
  program
    .command('start')
    .description('run the daemon: api, worker and scheduler roles (all by default); JSON logs on stdout')
    .option('--role <role>', `run only this role (${ROLES.join(', ')}); repeat or comma-separate for several`, collectRole)
    .option('--skip-preflight', 'start without checking the chains first (the worker role checks them by default and refuses to run on a failure)')
    .action(async (opts: { role?: Role[]; skipPreflight?: boolean }) => {
      const config = await loadConfig(configPath(globals()));
      const logger = createLogger();
      const roles = new Set<Role>(opts.role ?? ROLES);
      // Only the worker talks to the chains and signs: it checks them, and its key, first.
      if (roles.has('worker') && Object.keys(config.chains).length > 0) {
        if (opts.skipPreflight === true) logger.warn('preflight skipped (--skip-preflight)');
        else await preflightBeforeStart(config, logger);
      }
      const daemon = await startDaemon(config, roles, logger);
      await new Promise<void>((resolve) => {
        let signals = 0;
        const onSignal = (signal: NodeJS.Signals) => {
          signals += 1;
          if (signals > 1) {
            logger.warn({ signal }, 'second signal: exiting now; active jobs will be taken over after their locks lapse');
            logger.flush();
            process.exit(1);
          }
          void daemon.stop(signal).then(resolve, (error: unknown) => {
            logger.error({ err: (error as Error).message }, 'shutdown failed');
            process.exitCode = 1;
            resolve();
          });
        };
        process.on('SIGTERM', onSignal);
        process.on('SIGINT', onSignal);
      });
      logger.flush();
    });

  program
    .command('reconcile')
    .description(`per asset: what the chain holds against what the ledger owes; exits ${EXIT_SHORTFALL} on a shortfall`)
    .action(async () => {
      const g = globals();
      const rows = await withLedger(g, async ({ config, pool }) => {
        const adapters = await createAdapters(config);
        try {
          return { config, rows: await reconcile(pool, adapters) };
        } finally {
          await Promise.all([...adapters.values()].map((a) => a.close()));
        }
      });
      const short = rows.rows.filter((r) => r.surplus < 0n || r.journalMismatch !== 0n);
      if (g.json) {
        printJson({ ok: short.length === 0, assets: rows.rows });
      } else {
        const fmt = (asset: string, v: bigint) => formatTokenAmount(v, rows.config.assets[asset]!.decimals);
        printTable(
          ['asset', 'chain', 'on chain', 'users', 'undistributed', 'operator', 'owed', 'surplus', 'status'],
          rows.rows.map((r) => [
            r.asset,
            r.chain,
            fmt(r.asset, r.onChain.total),
            fmt(r.asset, r.ledger.users),
            fmt(r.asset, r.ledger.undistributed),
            fmt(r.asset, r.ledger.operator),
            fmt(r.asset, r.ledger.owed),
            fmt(r.asset, r.surplus),
            r.journalMismatch !== 0n ? 'LEDGER MISMATCH' : r.surplus < 0n ? 'SHORTFALL' : 'ok',
          ]),
        );
        if (rows.rows.length === 0) process.stdout.write('no chains configured: nothing to reconcile\n');
      }
      if (short.length > 0) process.exitCode = EXIT_SHORTFALL;
    });
}
