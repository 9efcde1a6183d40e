/**
 * `npm run soak -- --duration 10m --seed N`: the chaos soak (see run.ts).
 * Prints one table; exits 1 with the seed and the first difference when an
 * invariant does not hold, or when the run itself broke.
 */
import { randomInt } from 'node:crypto';

import { Command, InvalidArgumentError } from 'commander';

import { parseDuration } from '../../src/config/fields.js';
import { formatReport } from './report.js';
import { runSoak } from './run.js';
import { FAULT_KINDS, type FaultKind } from './schedule.js';

function kinds(text: string): FaultKind[] {
  const list = text.split(',').map((k) => k.trim());
  const unknown = list.filter((k) => !(FAULT_KINDS as readonly string[]).includes(k));
  if (unknown.length > 0) throw new InvalidArgumentError(`unknown fault kinds ${unknown.join(', ')}; known: ${FAULT_KINDS.join(', ')}`);
  return list as FaultKind[];
}

function duration(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < 10_000) throw new InvalidArgumentError('expected a duration of at least 10s, like "2m" or "10m"');
  return ms;
}

function integer(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number ≥ 0');
  return n;
}

const program = new Command('soak')
  .description('chaos soak: every chain of the config on its devnet, the daemon as separate processes, seeded faults, then the invariants')
  .option('--duration <time>', 'length of the steady part (faults and traffic)', duration, 600_000)
  .option('--seed <n>', 'the fault schedule; the same seed replays the same schedule (default: random, printed)', integer)
  .option('-c, --config <file>', 'the config whose chains and assets take part', 'config/devnet.yaml')
  .option('--redis-port <port>', "the soak's own redis-server (restarted and flushed during the run)", integer, 6390)
  .option('--workers <n>', 'worker processes', integer, 2)
  .option('--only <kinds>', 'only these fault kinds, comma-separated (the one Redis flush stays)', kinds)
  .option('--keep-database', 'keep the soak database afterwards', false)
  .option('--quiet', 'no progress lines', false);
program.parse();
const opts = program.opts<{ duration: number; seed?: number; config: string; redisPort: number; workers: number; keepDatabase: boolean; quiet: boolean; only?: FaultKind[] }>();
const seed = opts.seed ?? randomInt(1, 1_000_000);
const started = Date.now();
const log = (line: string) => {
  if (!opts.quiet) process.stderr.write(`[soak ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
};

try {
  log(`seed ${seed}`);
  const result = await runSoak({ configFile: opts.config, durationMs: opts.duration, seed, redisPort: opts.redisPort, workers: Math.max(2, opts.workers), keepDatabase: opts.keepDatabase, ...(opts.only === undefined ? {} : { only: opts.only }), log });
  process.stdout.write(`${formatReport(result)}\n`);
  for (const note of result.notes) process.stdout.write(`note: ${note}\n`);
  const violated = result.invariants.find((i) => !i.ok);
  if (violated) {
    process.stdout.write(`\nsoak FAILED, seed ${seed}: ${violated.name}: ${violated.detail}\ndatabase ${result.database}\n`);
    process.exitCode = 1;
  } else process.stdout.write(`\nsoak passed, seed ${seed}, ${Math.round((Date.now() - started) / 1000)} s in all\n`);
} catch (error) {
  process.stdout.write(`\nsoak FAILED, seed ${seed}: the run broke: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
}
process.exit(process.exitCode ?? 0);
