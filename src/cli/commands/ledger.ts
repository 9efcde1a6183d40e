import type { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';

import { LedgerInputError } from '../../errors.js';
import { formatTokenAmount } from '../../ledger/amount.js';
import { applyBalanceChanges } from '../../ledger/balanceChanges.js';
import { distribute, listDistributions } from '../../ledger/distribute.js';
import { userBalances, userHistory } from '../../ledger/history.js';
import { balancesJson, distributionJson, historyJson } from '../../ledger/json.js';
import { openChangeFile, type ChangeFileFormat } from '../../ledger/readChanges.js';
import { echo, idProblem, parseInputAmount, timeProblem, windowOf } from '../../ledger/inputRules.js';
import { recordRewardEvent } from '../../ledger/rewards.js';
import { formatInstant, parseInstant } from '../../ledger/time.js';
import { assetOf, withLedger, type GlobalOptions } from '../context.js';
import { printJson, printTable } from '../output.js';

function instantOption(name: string, text: string): number {
  const ms = parseInstant(text);
  if (ms === undefined) throw new LedgerInputError(`${name}: expected an ISO-8601 instant with a zone like "2026-01-01T00:00:00Z", got ${echo(text)}`);
  return ms;
}

function limitOption(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new LedgerInputError(`--limit: expected a whole number from 1 to 10000, got ${JSON.stringify(text)}`);
  return n;
}

export function registerLedgerCommands(program: Command, globals: () => GlobalOptions): void {
  const balances = program.command('balances').description("users' balances");

  balances
    .command('import')
    .description('import balance changes from a JSONL or CSV file (id,user,asset,delta,at); all or nothing, idempotent by id')
    .argument('<file>', 'JSONL (one object a line) or CSV with a header row')
    .option('--format <format>', 'jsonl or csv (default: from the file name)')
    .action(async (file: string, opts: { format?: string }) => {
      const g = globals();
      if (opts.format !== undefined && opts.format !== 'jsonl' && opts.format !== 'csv') {
        throw new LedgerInputError(`--format: expected jsonl or csv, got ${JSON.stringify(opts.format)}`);
      }
      await withLedger(g, async ({ config, pool }) => {
        const source = await openChangeFile(file, opts.format as ChangeFileFormat | undefined);
        const bar =
          process.stderr.isTTY && !g.json
            ? new SingleBar({ stream: process.stderr, format: 'importing {bar} {percentage}% | {records} records | {eta_formatted} left' }, Presets.shades_classic)
            : undefined;
        bar?.start(source.size, 0, { records: 0 });
        let result;
        try {
          result = await applyBalanceChanges(pool, source.records, {
            assets: new Set(Object.keys(config.assets)),
            window: windowOf(config, Date.now()),
            onProgress: (records) => bar?.update(source.bytesRead(), { records }),
          });
          bar?.update(source.size);
        } finally {
          bar?.stop();
        }
        if (g.json) printJson(result);
        else process.stdout.write(`${file}: ${result.inserted} changes imported, ${result.duplicates} already recorded (of ${result.received})\n`);
      });
    });

  balances
    .command('show')
    .description("a user's current balances")
    .requiredOption('--user <id>', 'user id')
    .action(async (opts: { user: string }) => {
      const g = globals();
      await withLedger(g, async ({ config, pool }) => {
        const held = await userBalances(pool, opts.user);
        if (g.json) return printJson(balancesJson(held));
        const rows = Object.entries(held).map(([asset, amount]) => [
          asset,
          formatTokenAmount(amount, config.assets[asset]?.decimals ?? 0),
          amount.toString(),
        ]);
        if (rows.length === 0) process.stdout.write(`${opts.user} holds nothing\n`);
        else printTable(['ASSET', 'BALANCE', 'BASE UNITS'], rows);
      });
    });

  program
    .command('rewards')
    .description('reward events')
    .command('record')
    .description('record a reward event by hand (negative for a slash); idempotent by id')
    .requiredOption('--asset <symbol>', 'asset symbol')
    .requiredOption('--amount <baseUnits>', 'signed base-unit integer, e.g. 5000 or -120')
    .requiredOption('--id <id>', 'a unique id for the event')
    .option('--at <iso>', 'when it was observed (default: now)')
    .action(async (opts: { asset: string; amount: string; id: string; at?: string }) => {
      const g = globals();
      const amount = parseInputAmount(opts.amount, '"5000"');
      if (typeof amount === 'string') throw new LedgerInputError(`--amount: ${amount}`);
      const idBad = idProblem(opts.id);
      if (idBad !== undefined) throw new LedgerInputError(`--id: ${idBad}`);
      const now = Date.now();
      const at = opts.at === undefined ? now : instantOption('--at', opts.at);
      await withLedger(g, async ({ config, pool }) => {
        const asset = assetOf(config, opts.asset);
        const late = timeProblem(at, asset.symbol, windowOf(config, now));
        if (late !== undefined) throw new LedgerInputError(`--at: ${late}`);
        const result = await recordRewardEvent(pool, { id: opts.id, asset: asset.symbol, amount, at, source: 'manual' });
        if (g.json) printJson({ id: opts.id, asset: asset.symbol, amount: amount.toString(), at: formatInstant(at), ...result });
        else process.stdout.write(result.recorded ? `recorded ${opts.id}: ${formatTokenAmount(amount, asset.decimals)} ${asset.symbol} at ${formatInstant(at)}\n` : `${opts.id} was already recorded\n`);
      });
    });

  program
    .command('distribute')
    .description("close a period of an asset and allocate its rewards to users' balances")
    .requiredOption('--asset <symbol>', 'asset symbol')
    .requiredOption('--period-end <iso>', 'end of the period, inclusive')
    .option('--dry-run', 'compute and print, write nothing')
    .action(async (opts: { asset: string; periodEnd: string; dryRun?: boolean }) => {
      const g = globals();
      const periodEnd = instantOption('--period-end', opts.periodEnd);
      await withLedger(
        g,
        async ({ config, pool }) => {
          const asset = assetOf(config, opts.asset);
          const d = await distribute(pool, { asset, periodEnd, dryRun: opts.dryRun ?? false });
          if (g.json) return printJson(distributionJson(d));
          const fmt = (v: bigint) => `${formatTokenAmount(v, asset.decimals)} ${asset.symbol}`;
          const status = d.dryRun ? ' (dry run: nothing written)' : d.existing ? ' (already distributed: stored result)' : '';
          process.stdout.write(
            [
              `${d.id}${status}`,
              `  period       ${formatInstant(d.periodStart)} .. ${formatInstant(d.periodEnd)}`,
              `  gross        ${fmt(d.gross)}`,
              `  commission   ${fmt(d.commission)}`,
              `  distributed  ${fmt(d.distributed)} to ${d.creditedUsers} of ${d.eligibleUsers} eligible users`,
              ...(d.carried !== 0n ? [`  carried      ${fmt(d.carried)} (to the next period)`] : []),
            ].join('\n') + '\n',
          );
        },
        'softstake-distribute',
      );
    });

  program
    .command('distributions')
    .description('the past distributions of an asset, newest first')
    .requiredOption('--asset <symbol>', 'asset symbol')
    .option('--limit <n>', 'how many', '20')
    .action(async (opts: { asset: string; limit?: string }) => {
      const g = globals();
      const limit = limitOption(opts.limit, 20);
      await withLedger(g, async ({ config, pool }) => {
        const asset = assetOf(config, opts.asset);
        const list = await listDistributions(pool, asset.symbol, { limit });
        if (g.json) return printJson(list.map(distributionJson));
        printTable(
          ['PERIOD END', 'GROSS', 'COMMISSION', 'DISTRIBUTED', 'CARRIED', 'USERS'],
          list.map((d) => [
            formatInstant(d.periodEnd),
            formatTokenAmount(d.gross, asset.decimals),
            formatTokenAmount(d.commission, asset.decimals),
            formatTokenAmount(d.distributed, asset.decimals),
            formatTokenAmount(d.carried, asset.decimals),
            String(d.creditedUsers),
          ]),
        );
      });
    });

  program
    .command('history')
    .description("a user's distribution history, newest first")
    .requiredOption('--user <id>', 'user id')
    .option('--asset <symbol>', 'only this asset')
    .option('--limit <n>', 'how many', '100')
    .action(async (opts: { user: string; asset?: string; limit?: string }) => {
      const g = globals();
      const limit = limitOption(opts.limit, 100);
      await withLedger(g, async ({ config, pool }) => {
        const asset = opts.asset === undefined ? undefined : assetOf(config, opts.asset).symbol;
        const entries = await userHistory(pool, { user: opts.user, ...(asset ? { asset } : {}), limit });
        if (g.json) return printJson(entries.map(historyJson));
        if (entries.length === 0) return void process.stdout.write(`no distribution has credited ${opts.user}${asset ? ` in ${asset}` : ''}\n`);
        printTable(
          ['PERIOD END', 'ASSET', 'AMOUNT', 'AVG BALANCE'],
          entries.map((h) => {
            const decimals = config.assets[h.asset]?.decimals ?? 0;
            return [formatInstant(h.periodEnd), h.asset, formatTokenAmount(h.amount, decimals), formatTokenAmount(h.avgBalance, decimals)];
          }),
        );
      });
    });
}
