import { Command, CommanderError } from 'commander';

import { loadConfig, redactConfig } from '../config/index.js';
import { ConfigError, LedgerInputError, SoftstakeError } from '../errors.js';
import { migrate, syncAssets } from '../ledger/migrate.js';
import { registerDaemonCommands } from './commands/start.js';
import { registerDevnetCommand } from './commands/devnet.js';
import { registerIntentCommands } from './commands/intents.js';
import { EXIT_KEY_EXISTS, KeyFileExistsError, registerKeysCommands } from './commands/keys.js';
import { EXIT_PREFLIGHT, PreflightFailedError, registerPreflightCommand } from './commands/preflight.js';
import { registerLedgerCommands } from './commands/ledger.js';
import { configPath, type GlobalOptions } from './context.js';
import { redactUrls } from '../redactUrls.js';
import { printJson } from './output.js';
import { openLedger } from './startup.js';

/** Exit codes a script can act on (sysexits.h where one fits). */
export const EXIT = { ok: 0, failure: 1, usage: 64, input: 65, config: 78, tempfail: 75 } as const;

const program = new Command('softstake')
  .description('soft-staking daemon: pooled delegation, real chain rewards, pro-rata time-weighted distribution')
  .option('-c, --config <file>', 'config file (default: $SOFTSTAKE_CONFIG)')
  .option('--json', 'machine-readable output')
  .showHelpAfterError()
  .exitOverride();

const globals = (): GlobalOptions => program.opts<GlobalOptions>();

program
  .command('migrate')
  .description('create or upgrade the ledger schema (also done by every other command)')
  .action(async () => {
    const g = globals();
    const config = await loadConfig(configPath(g));
    const pool = await openLedger(config, { applicationName: 'softstake-migrate', max: 1, migrate: false });
    try {
      const result = await migrate(pool);
      await syncAssets(pool, config.assets);
      if (g.json) printJson(result);
      else process.stdout.write(result.applied.length ? `applied ${result.applied.join(', ')}\n` : `schema is current (${result.current})\n`);
    } finally {
      await pool.end();
    }
  });

program
  .command('config')
  .description('the config file')
  .command('check')
  .description('validate the config and print it normalized, secrets redacted')
  .action(async () => {
    const g = globals();
    const config = await loadConfig(configPath(g));
    const view = redactConfig(config);
    if (g.json) printJson(view);
    else process.stdout.write(`${config.file}: ok\n${JSON.stringify(view, null, 2)}\n`);
  });

registerLedgerCommands(program, globals);
registerDaemonCommands(program, globals);
registerDevnetCommand(program, globals);
registerIntentCommands(program, globals);
registerKeysCommands(program, globals);
registerPreflightCommand(program, globals);

function exitCodeOf(error: unknown): number {
  if (error instanceof ConfigError) return EXIT.config;
  if (error instanceof PreflightFailedError) return EXIT_PREFLIGHT;
  if (error instanceof KeyFileExistsError) return EXIT_KEY_EXISTS;
  if (error instanceof LedgerInputError) return EXIT.input;
  if (error instanceof SoftstakeError && error.retryable) return EXIT.tempfail;
  return EXIT.failure;
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else {
    // An endpoint's path or query may hold an API key: URLs are printed as scheme, host and port.
    const message = redactUrls(error instanceof Error ? error.message : String(error));
    process.stderr.write(`softstake: ${message}\n`);
    if (!(error instanceof SoftstakeError) && process.env.SOFTSTAKE_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
    process.exitCode = exitCodeOf(error);
  }
}
