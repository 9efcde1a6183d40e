/**
 * `softstake devnet`: the whole product on one machine, with nothing but
 * PostgreSQL and Redis. Starts each configured chain's local devnet, funds a
 * custody account, seeds demo users, and runs the daemon against them with
 * time sped up, so within a minute a person sees stake delegated, rewards
 * harvested and a distribution credited, in the log and on the dashboard.
 *
 * Once every devnet is up it prints one line per chain (one JSON line with
 * `--json`): the asset, the endpoints, the custody address and a funded test
 * account with its key in the chain's usual format, so a person can point
 * the chain's own wallet or SDK at the devnet, as with anvil or hardhat. The
 * test account is the devnet's alone; the custody key is never printed.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { InvalidArgumentError, type Command } from 'commander';
import pg from 'pg';

import type { DevnetModule, LocalDevnet } from '../../../adapters/devnet.js';
import { loadConfig, type SoftstakeConfig } from '../../config/index.js';
import { parseDuration } from '../../config/fields.js';
import { ConfigError } from '../../errors.js';
import { formatTokenAmount } from '../../ledger/amount.js';
import { applyBalanceChanges } from '../../ledger/balanceChanges.js';
import { createPool, toBigInt } from '../../ledger/db.js';
import { migrate, syncAssets } from '../../ledger/migrate.js';
import { createLogger } from '../../logger.js';
import { configPath, type GlobalOptions } from '../context.js';
import { startDaemon } from '../startDaemon.js';
import { preflightBeforeStart } from './preflight.js';
import { printJson, printTable } from '../output.js';

/** Demo users and their share of each asset's deposit: 1,000 whole tokens in all. */
const DEMO_USERS: [string, bigint][] = [
  ['alice', 500n],
  ['bob', 300n],
  ['carol', 150n],
  ['dave', 50n],
];
/** Whole tokens the test account printed for a person holds. */
const TEST_ACCOUNT_TOKENS = 1_000n;

/** What `softstake devnet` prints per chain once every devnet is up. */
export interface DevnetChainInfo {
  chain: string;
  kind: string;
  asset: string;
  chainId?: string;
  endpoints: string[];
  /** Further endpoints by name, e.g. `websocket`. */
  extraEndpoints?: Record<string, string[]>;
  custody: string;
  testAccount: { address: string; key: string; keyFormat?: string; balance: string };
}

/** One line per chain, for a person. */
export function formatDevnetLine(info: DevnetChainInfo, formatBalance: (units: bigint) => string): string {
  const extra = Object.entries(info.extraEndpoints ?? {})
    .filter(([, urls]) => urls.length > 0)
    .map(([name, urls]) => `  ${name} ${urls.join(', ')}`)
    .join('');
  const chainId = info.chainId === undefined ? '' : `, chain id ${info.chainId}`;
  const format = info.testAccount.keyFormat === undefined ? '' : ` (${info.testAccount.keyFormat})`;
  return (
    `${info.asset}  ${info.chain} (${info.kind}${chainId})  endpoints ${info.endpoints.join(', ')}${extra}  custody ${info.custody}  ` +
    `test account ${info.testAccount.address} holding ${formatBalance(BigInt(info.testAccount.balance))}, key${format}: ${info.testAccount.key}`
  );
}

/** A devnet run's own database, made afresh each time: `<configured name>_devnet`, never the configured one. */
function devnetDatabaseName(configuredUrl: string): string {
  const name = decodeURIComponent(new URL(configuredUrl).pathname.slice(1)) || 'softstake';
  return `${name}_devnet`.replace(/[^A-Za-z0-9_]/g, '_');
}

function durationOption(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < 1_000) throw new InvalidArgumentError('expected a duration of at least a second, like "60s", "5m" or "1h"');
  return ms;
}

function speedupOption(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new InvalidArgumentError('expected a whole number from 1 to 1000000');
  return n;
}

/** `adapters/<kind>/devnet.ts`, or the `devnet.ts` beside a plugin adapter module. */
async function loadDevnet(config: SoftstakeConfig, chain: string): Promise<DevnetModule> {
  const block = config.chains[chain]!;
  const file =
    block.module !== null
      ? path.join(path.dirname(block.module), `devnet${path.extname(block.module)}`)
      : new URL(`../../../adapters/${block.kind}/devnet.ts`, import.meta.url).pathname;
  let loaded: { devnet?: DevnetModule };
  try {
    loaded = (await import(pathToFileURL(file).href)) as { devnet?: DevnetModule };
  } catch (error) {
    throw new ConfigError(config.file, [{ path: `chains.${chain}.kind`, message: `no devnet for kind ${block.kind} (${(error as Error).message.split('\n')[0]})` }]);
  }
  if (loaded.devnet === undefined) throw new ConfigError(config.file, [{ path: `chains.${chain}.kind`, message: `${file} does not export a devnet` }]);
  return loaded.devnet;
}

/** Drops and creates the devnet's own database next to the configured one. */
async function freshDevnetDatabase(configuredUrl: string): Promise<string> {
  const admin = new URL(configuredUrl);
  const url = new URL(configuredUrl);
  const name = devnetDatabaseName(configuredUrl);
  url.pathname = `/${name}`;
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.href });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return url.href;
}

interface Summary {
  asset: string;
  chain: string;
  staked: bigint;
  rewardsRealized: bigint;
  distributed: bigint;
  usersCredited: number;
  distributions: number;
}

async function summarize(databaseUrl: string, config: SoftstakeConfig): Promise<Summary[]> {
  const pool = createPool({ url: databaseUrl, applicationName: 'softstake-devnet-summary', max: 1 });
  try {
    const out: Summary[] = [];
    for (const { asset, name: chain } of Object.values(config.chains)) {
      const { rows } = await pool.query<{ staked: string | null; rewards: string; distributed: string; users: number; n: number }>(
        `SELECT (SELECT staked FROM chain_positions WHERE asset = $1 ORDER BY id DESC LIMIT 1) AS staked,
                (SELECT coalesce(sum(amount), 0) FROM reward_events WHERE asset = $1) AS rewards,
                (SELECT coalesce(sum(distributed), 0) FROM distributions WHERE asset = $1) AS distributed,
                (SELECT count(DISTINCT a.user_id)::int FROM allocations a JOIN distributions d ON d.id = a.distribution_id WHERE d.asset = $1) AS users,
                (SELECT count(*)::int FROM distributions WHERE asset = $1 AND gross > 0) AS n`,
        [asset],
      );
      const r = rows[0]!;
      out.push({ asset, chain, staked: toBigInt(r.staked ?? 0), rewardsRealized: toBigInt(r.rewards), distributed: toBigInt(r.distributed), usersCredited: r.users, distributions: r.n });
    }
    return out;
  } finally {
    await pool.end();
  }
}

export function registerDevnetCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('devnet')
    .description("run the configured chains' local devnets and the daemon against them, time sped up (needs only PostgreSQL and Redis)")
    .option('--duration <time>', 'stop after this long and print a summary (e.g. 60s); default: until Ctrl-C', durationOption)
    .option('--speedup <factor>', 'rewards accrue this many times faster than real time', speedupOption, 20_000)
    .action(async (opts: { duration?: number; speedup: number }) => {
      const g = globals();
      const loaded = await loadConfig(configPath(g));
      if (Object.keys(loaded.chains).length === 0) {
        throw new ConfigError(loaded.file, [{ path: 'chains', message: 'the devnet needs at least one chain block' }]);
      }
      // With --json, stdout is the summary alone; the log goes to stderr.
      const logger = createLogger({ fd: g.json ? 2 : 1 });
      const databaseUrl = await freshDevnetDatabase(loaded.database.url);
      const keyDir = await mkdtemp(path.join(tmpdir(), 'softstake-devnet-'));
      const devnets: LocalDevnet[] = [];
      const infos: DevnetChainInfo[] = [];
      const config: SoftstakeConfig = {
        ...loaded,
        database: { url: databaseUrl },
        redis: { ...loaded.redis, prefix: `${loaded.redis.prefix}-devnet` },
        // Sped-up time: a period every 15 s, jobs every few seconds.
        assets: Object.fromEntries(
          Object.entries(loaded.assets).map(([symbol, a]) => [symbol, { ...a, distribution: { schedule: '*/15 * * * * *', timezone: 'UTC' } }]),
        ),
        chains: {},
        worker: { ...loaded.worker, lockDurationMs: 5_000, backoffMs: 1_000, shutdownTimeoutMs: 10_000 },
      };
      let daemon: Awaited<ReturnType<typeof startDaemon>> | undefined;
      try {
        const deposits = new Map<string, bigint>();
        for (const [name, chain] of Object.entries(loaded.chains)) {
          const module = await loadDevnet(loaded, name);
          const local = await module.start({ speedup: opts.speedup });
          devnets.push(local);
          const unit = 10n ** BigInt(loaded.assets[chain.asset]!.decimals);
          const total = DEMO_USERS.reduce((sum, [, tokens]) => sum + tokens * unit, 0n);
          // The custody holds what the users deposited, plus fees for a while.
          const custody = await local.createFundedAccount(total + total / 100n, 'custody');
          const test = await local.createFundedAccount(TEST_ACCOUNT_TOKENS * unit, 'test');
          infos.push({
            chain: name,
            kind: chain.kind,
            asset: chain.asset,
            ...(local.chainId === undefined ? {} : { chainId: local.chainId }),
            endpoints: local.endpoints,
            ...(local.extraEndpoints === undefined ? {} : { extraEndpoints: local.extraEndpoints }),
            custody: custody.address,
            testAccount: {
              address: test.address,
              key: test.key ?? test.secret,
              ...(test.keyFormat === undefined ? {} : { keyFormat: test.keyFormat }),
              balance: (TEST_ACCOUNT_TOKENS * unit).toString(),
            },
          });
          const keyFile = path.join(keyDir, `${name}.key`);
          await writeFile(keyFile, `${custody.secret}\n`, { mode: 0o600 });
          deposits.set(chain.asset, unit);
          config.chains[name] = {
            ...chain,
            endpoints: local.endpoints,
            signer: { file: keyFile },
            validators: local.validators.map((address, i) => ({ address, weight: local.validators.length - i })),
            stake: { ...chain.stake, minMove: unit },
            intervals: { pollMs: 2_000, harvestMs: 3_000, rebalanceMs: 5_000 },
          };
          logger.info({ chain: name, asset: chain.asset, endpoints: local.endpoints, custody: custody.address }, 'devnet started');
        }
        // Every devnet is up: how to reach each, for a person's own wallet or SDK (stdout, never the log: the test key is in it).
        logger.flush();
        if (g.json) process.stdout.write(`${JSON.stringify({ devnets: infos })}\n`);
        else {
          process.stdout.write(
            `${infos.map((info) => `devnet ${formatDevnetLine(info, (v) => `${formatTokenAmount(v, loaded.assets[info.asset]!.decimals)} ${info.asset}`)}`).join('\n')}\n`,
          );
        }
        // Users first, so the first rebalance already keeps their buffer.
        const seedPool = createPool({ url: databaseUrl, applicationName: 'softstake-devnet-seed', max: 1 });
        try {
          await migrate(seedPool);
          await syncAssets(seedPool, config.assets);
          const at = new Date(Date.now() - 3_600_000).toISOString();
          const records = [...deposits.entries()].flatMap(([asset, unit]) =>
            DEMO_USERS.map(([user, tokens]) => ({ id: `devnet-${asset}-${user}`, user, asset, delta: (tokens * unit).toString(), at })),
          );
          await applyBalanceChanges(seedPool, records.map((record, i) => ({ line: i + 1, record })), { assets: new Set(Object.keys(config.assets)) });
        } finally {
          await seedPool.end();
        }
        // The devnets must pass the preflight `softstake start` runs against real chains.
        await preflightBeforeStart(config, logger);
        daemon = await startDaemon(config, new Set(['api', 'worker', 'scheduler']), logger);
        logger.info({ users: DEMO_USERS.map(([u]) => u), dashboard: daemon.address ? `${daemon.address}/admin/queues` : null }, 'devnet running: demo users seeded');

        await new Promise<void>((resolve) => {
          const timer = opts.duration === undefined ? undefined : setTimeout(resolve, opts.duration);
          const stop = () => {
            clearTimeout(timer);
            resolve();
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      } finally {
        await daemon?.stop('devnet finished');
        await Promise.all(devnets.map((d) => d.close()));
        await rm(keyDir, { recursive: true, force: true });
      }

      const summary = await summarize(databaseUrl, config);
      logger.flush();
      if (g.json) {
        printJson({ database: devnetDatabaseName(loaded.database.url), assets: summary });
      } else {
        const fmt = (asset: string, v: bigint) => `${formatTokenAmount(v, config.assets[asset]!.decimals)} ${asset}`;
        printTable(
          ['asset', 'chain', 'staked', 'rewards realized', 'distributed', 'distributions', 'users credited'],
          summary.map((s) => [s.asset, s.chain, fmt(s.asset, s.staked), fmt(s.asset, s.rewardsRealized), fmt(s.asset, s.distributed), String(s.distributions), String(s.usersCredited)]),
        );
      }
    });
}
