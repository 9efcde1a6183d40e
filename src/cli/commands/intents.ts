/**
 * `softstake intents`: the transactions the daemon signed. `list` shows
 * them (open, stuck, abandoned, …); `abandon` closes an open one once the
 * chain shows it can never be included, which is what unblocks a chain
 * whose open intent is stuck (see `src/pipeline/abandon.ts`).
 */
import { userInfo } from 'node:os';

import type { Command } from 'commander';

import { LedgerInputError } from '../../errors.js';
import { formatTokenAmount } from '../../ledger/amount.js';
import { formatInstant } from '../../ledger/time.js';
import { abandonIntent } from '../../pipeline/abandon.js';
import { createAdapters } from '../../pipeline/adapters.js';
import { intentJson } from '../../pipeline/intentJson.js';
import { amountOf, INTENT_STATUSES, listIntents, targetOf, type IntentFilter, type IntentStatus, type TxIntent } from '../../pipeline/intents.js';
import { withLedger, type GlobalOptions } from '../context.js';
import { printJson, printTable } from '../output.js';

/** Who runs the command, for `--by`'s default: the login name, else `$USER`. */
function operatorName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? '';
  }
}

function statusOption(text: string | undefined): IntentStatus | undefined {
  if (text === undefined) return undefined;
  if (!(INTENT_STATUSES as readonly string[]).includes(text)) throw new LedgerInputError(`--status: expected one of ${INTENT_STATUSES.join(', ')}, got ${JSON.stringify(text)}`);
  return text as IntentStatus;
}

function limitOption(text: string | undefined): number {
  if (text === undefined) return 100;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new LedgerInputError(`--limit: expected a whole number from 1 to 10000, got ${JSON.stringify(text)}`);
  return n;
}

function describe(i: TxIntent, decimals: number | undefined): string[] {
  const target = targetOf(i.action);
  const total = amountOf(i.action);
  const amount = total === null ? '' : decimals === undefined ? total.toString() : formatTokenAmount(total, decimals);
  const note =
    i.status === 'abandoned' && i.abandoned !== null
      ? `by ${i.abandoned.by} at ${formatInstant(i.abandoned.at)}: ${i.abandoned.reason}`
      : i.stuckSince !== null
        ? `STUCK since ${formatInstant(i.stuckSince)}: ${i.error ?? ''}`
        : (i.error ?? '');
  return [i.id, i.chain, i.action.kind, target, amount, i.status, formatInstant(i.createdAt), note.replace(/\s+/g, ' ').slice(0, 160)];
}

export function registerIntentCommands(program: Command, globals: () => GlobalOptions): void {
  const intents = program.command('intents').description('transactions the daemon signed: list them, abandon a stuck one');

  intents
    .command('list')
    .description('intents, newest first')
    .option('--chain <name>', 'one chain')
    .option('--status <status>', `one status: ${INTENT_STATUSES.join(', ')}`)
    .option('--stuck', 'only open intents that are stuck (planning waits for them)')
    .option('--limit <n>', 'at most this many (default 100)')
    .action(async (opts: { chain?: string; status?: string; stuck?: boolean; limit?: string }) => {
      const g = globals();
      const filter: IntentFilter = { limit: limitOption(opts.limit), stuck: opts.stuck === true };
      const status = statusOption(opts.status);
      if (status !== undefined) filter.status = status;
      await withLedger(g, async ({ config, pool }) => {
        if (opts.chain !== undefined) {
          if (config.chains[opts.chain] === undefined) throw new LedgerInputError(`--chain: unknown chain ${JSON.stringify(opts.chain)}; the config lists ${Object.keys(config.chains).join(', ') || 'none'}`);
          filter.chain = opts.chain;
        }
        const found = await listIntents(pool, filter);
        if (g.json) return printJson({ intents: found.map(intentJson) });
        if (found.length === 0) return void process.stdout.write('no intents\n');
        printTable(
          ['ID', 'CHAIN', 'KIND', 'TARGET', 'AMOUNT', 'STATUS', 'SIGNED', 'NOTE'],
          found.map((i) => describe(i, config.assets[i.asset]?.decimals)),
        );
      });
    });

  intents
    .command('abandon')
    .description('close an open intent the chain shows can never be included (expired, or its nonce used by another transaction); refused otherwise')
    .argument('<id>', 'the intent id (softstake intents list)')
    .requiredOption('--reason <text>', 'why (kept on the intent)')
    .option('--by <name>', 'who (kept on the intent; default: your login name)')
    .action(async (id: string, opts: { reason: string; by?: string }) => {
      const g = globals();
      await withLedger(g, async ({ config, pool }) => {
        const adapters = await createAdapters(config);
        try {
          const intent = await abandonIntent(pool, adapters, id, { by: opts.by ?? operatorName(), reason: opts.reason, at: Date.now() });
          if (g.json) printJson(intentJson(intent));
          else process.stdout.write(`${intent.id}: abandoned by ${intent.abandoned?.by}; ${intent.chain} plans again at its next rebalance\n`);
        } finally {
          await Promise.all([...adapters.values()].map((a) => a.close()));
        }
      });
    });
}
