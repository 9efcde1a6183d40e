/**
 * One chaos soak: every chain of a config on its devnet (in this process, so
 * the soak holds each devnet's kit controls), the daemon as separate
 * processes (API, scheduler, workers) on a PostgreSQL database and a Redis
 * of the soak's own, a client streaming balance changes, and faults from
 * the seed's schedule. Then it stops injecting, lets the pipeline settle,
 * and checks the invariants (see invariants.ts).
 *
 * Chains are driven only through the generic contract of `adapters/devnet.ts`
 * (a `DevnetModule` per kind, its `controls` and `validatorFaults`), so a chain
 * added to the config joins the soak without new code here.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import pg from 'pg';
import { pino } from 'pino';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

import type { DevnetModule, LocalDevnet } from '../../adapters/devnet.js';
import type { GroundTruthEntry } from '../../adapters/devnet/groundTruth.js';
import { loadConfig, type SoftstakeConfig } from '../../src/config/index.js';
import { createPool } from '../../src/ledger/db.js';
import { migrate, syncAssets } from '../../src/ledger/migrate.js';
import { createAdapters } from '../../src/pipeline/adapters.js';
import { harvest } from '../../src/pipeline/jobs/harvest.js';
import { openQueues } from '../../src/pipeline/queues.js';
import { freePort } from '../../test/helpers/daemon.js';
import { BalanceClient } from './client.js';
import { checkInvariants, type InvariantResult } from './invariants.js';
import { RoleProcess, SoakRedis, terminateBackends, workerMidJob, type Memory } from './processes.js';
import { faultSchedule, scheduleDigest, type ChainCapabilities, type FaultKind, type ScheduledFault } from './schedule.js';

export interface SoakOptions {
  /** The operator config whose chains and assets take part. */
  configFile: string;
  /** Length of the steady part (faults and traffic), ms. */
  durationMs: number;
  seed: number;
  /** The soak's own redis-server. @defaultValue 6390 */
  redisPort?: number;
  /** Worker processes. @defaultValue 2 */
  workers?: number;
  /** How many times faster than real time rewards accrue. @defaultValue 20000 */
  speedup?: number;
  /** Users the client streams changes for. @defaultValue 20 */
  users?: number;
  /** Mean gap between faults, ms. @defaultValue 5000 */
  meanGapMs?: number;
  /** Only these fault kinds (the flush always stays). @defaultValue every kind */
  only?: FaultKind[];
  /** Keep the database after the run (its name is printed); kept anyway when an invariant fails. @defaultValue false */
  keepDatabase?: boolean;
  /** Progress lines (stderr). */
  log?: (line: string) => void;
}

export interface ProcessMemory {
  label: string;
  restarts: number;
  start: Memory | undefined;
  end: Memory | undefined;
}

export interface SoakResult {
  seed: number;
  scheduleDigest: string;
  steadyMs: number;
  chains: string[];
  faults: Map<FaultKind, number>;
  /** Faults the schedule asked for that could not take effect (e.g. no worker mid-job: killed one between jobs). */
  notes: string[];
  jobsRun: number;
  jobsRetried: number;
  jobsByName: Map<string, number>;
  txs: { included: number; intents: number; failedOnChain: number };
  rewardEvents: Map<string, number>;
  distributions: number;
  client: { accepted: number; duplicates: number; refused: number; errors: number; requests: number; p50: number; p99: number };
  memory: ProcessMemory[];
  invariants: InvariantResult[];
  load: { start: number[]; end: number[] };
  database: string;
}

/** Whole tokens the client's users hold at most, all together, per asset. */
const OPENING_TOKENS = 50n;
const MAX_TOKENS = 100n;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `adapters/<kind>/devnet.ts`, or the `devnet.ts` beside a plugin adapter module (as `softstake devnet` finds it). */
async function loadDevnetModule(kind: string, module: string | null): Promise<DevnetModule> {
  const file = module !== null ? path.join(path.dirname(module), `devnet${path.extname(module)}`) : new URL(`../../adapters/${kind}/devnet.ts`, import.meta.url).pathname;
  const loaded = (await import(pathToFileURL(file).href)) as { devnet?: DevnetModule };
  if (loaded.devnet === undefined) throw new Error(`soak: ${file} exports no devnet for kind ${kind}`);
  return loaded.devnet;
}

interface SoakChain {
  name: string;
  asset: string;
  unit: bigint;
  local: LocalDevnet;
  custody: string;
  validators: string[];
  /** Every distinct transaction hash the chain included. */
  included: Set<string>;
  failedOnChain: number;
}

/** Hashes as tx_intents stores them and as the devnet reports them, compared alike. */
export function normalHash(hash: string): string {
  return hash.replace(/^0x/i, '').toLowerCase();
}

function includedHash(tx: unknown): string | undefined {
  const t = tx as { hash?: unknown; txid?: unknown };
  const hash = typeof t.hash === 'string' ? t.hash : typeof t.txid === 'string' ? t.txid : undefined;
  return hash === undefined ? undefined : normalHash(hash);
}

function includedFailed(tx: unknown): boolean {
  const t = tx as { code?: unknown; success?: unknown; outcome?: { status?: unknown } };
  if (typeof t.code === 'number') return t.code !== 0;
  if (typeof t.success === 'boolean') return !t.success;
  const status = t.outcome?.status;
  return typeof status === 'object' && status !== null && 'Failure' in status;
}

/** An environment without the variables that would point the daemon elsewhere. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.SOFTSTAKE_DATABASE_URL;
  delete env.SOFTSTAKE_REDIS_URL;
  delete env.SOFTSTAKE_CONFIG;
  return env;
}

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const log = o.log ?? (() => undefined);
  const workerCount = o.workers ?? 2;
  const speedup = o.speedup ?? 20_000;
  const env = cleanEnv();
  for (const key of ['SOFTSTAKE_DATABASE_URL', 'SOFTSTAKE_REDIS_URL', 'SOFTSTAKE_CONFIG']) delete process.env[key];
  const base = await loadConfig(o.configFile, env);
  if (Object.keys(base.chains).length === 0) throw new Error(`soak: ${o.configFile} has no chains`);
  const raw = parseYaml(await readFile(o.configFile, 'utf8')) as Record<string, unknown>;
  const dir = await mkdtemp(path.join(tmpdir(), 'softstake-soak-'));
  const probeDir = path.join(dir, 'memory');
  await import('node:fs/promises').then((fs) => fs.mkdir(probeDir));

  // The soak's own database on the configured server, made afresh.
  const database = `softstake_soak_${o.seed}_${randomBytes(3).toString('hex')}`;
  const serverUrl = new URL(base.database.url);
  const adminUrl = new URL(base.database.url);
  adminUrl.pathname = '/postgres';
  serverUrl.pathname = `/${database}`;
  const admin = new pg.Client({ connectionString: adminUrl.href, application_name: 'softstake-soak-admin' });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();

  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (error) {
        log(`cleanup: ${(error as Error).message}`);
      }
    }
  };
  let keepDatabase = o.keepDatabase ?? false;
  cleanups.push(async () => {
    if (keepDatabase) return;
    const c = new pg.Client({ connectionString: adminUrl.href, application_name: 'softstake-soak-admin' });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await c.end();
  });
  cleanups.push(() => rm(dir, { recursive: true, force: true }));

  try {
    const redis = await SoakRedis.start(o.redisPort ?? 6390);
    cleanups.push(() => redis.remove());
    log(`redis-server on port ${redis.port}, database ${database}`);

    // Every chain on its devnet, a custody account funded to cover every deposit the client can make.
    const chains: SoakChain[] = [];
    cleanups.push(async () => {
      await Promise.all(chains.map((c) => c.local.close()));
    });
    const rawChains = raw.chains as Record<string, Record<string, unknown>>;
    const rawAssets = raw.assets as Record<string, Record<string, unknown>>;
    const users = o.users ?? 20;
    for (const [name, block] of Object.entries(base.chains)) {
      const module = await loadDevnetModule(block.kind, block.module);
      const local = await module.start({ speedup });
      if (local.controls === undefined) {
        await local.close();
        throw new Error(`soak: the ${block.kind} devnet offers no kit controls (LocalDevnet.controls)`);
      }
      const unit = 10n ** BigInt(base.assets[block.asset]!.decimals);
      const funds = BigInt(users) * MAX_TOKENS * unit;
      const custody = await local.createFundedAccount(funds + funds / 10n, 'custody');
      const chain: SoakChain = { name, asset: block.asset, unit, local, custody: custody.address, validators: [...local.validators], included: new Set(), failedOnChain: 0 };
      chains.push(chain);
      local.controls.onIncluded((tx) => {
        const hash = includedHash(tx);
        if (hash !== undefined && !chain.included.has(hash)) {
          chain.included.add(hash);
          if (includedFailed(tx)) chain.failedOnChain += 1;
        }
      });
      const keyFile = path.join(dir, `${name}.key`);
      await writeFile(keyFile, `${custody.secret}\n`, { mode: 0o600 });
      const rawChain = rawChains[name]!;
      rawChains[name] = {
        ...rawChain,
        ...(block.module !== null ? { module: block.module } : {}),
        endpoints: local.endpoints,
        signer: { file: keyFile },
        address: custody.address,
        validators: local.validators.map((address, i) => ({ address, weight: local.validators.length - i })),
        requestTimeout: '2s',
        stake: { ...(rawChain.stake as object), minMove: '1' },
        intervals: { poll: '2s', harvest: '3s', rebalance: '5s' },
      };
      log(`devnet ${name} (${block.kind}, ${block.asset}) on ${local.endpoints.join(', ')}`);
    }

    // The daemon's config: the operator's, pointed at the devnets, the soak's database and Redis, time sped up.
    const token = randomBytes(16).toString('hex');
    await writeFile(path.join(dir, 'api-token'), `${token}\n`, { mode: 0o600 });
    await writeFile(path.join(dir, 'dashboard-password'), `${randomBytes(12).toString('hex')}\n`, { mode: 0o600 });
    const apiPort = await freePort();
    for (const asset of Object.values(rawAssets)) asset.distribution = { schedule: '*/10 * * * * *', timezone: 'UTC' };
    const soakConfig = {
      ...raw,
      database: { url: serverUrl.href },
      redis: { url: redis.url, prefix: 'soak' },
      api: { listen: `127.0.0.1:${apiPort}`, tokenFile: './api-token', dashboard: { user: 'operator', passwordFile: './dashboard-password' } },
      worker: { lockDuration: '5s', attempts: 8, backoff: '1s', shutdownTimeout: '15s' },
    };
    const configFile = path.join(dir, 'softstake.yaml');
    await writeFile(configFile, stringifyYaml(soakConfig));
    const config: SoftstakeConfig = await loadConfig(configFile, env);

    const pool = createPool({ url: config.database.url, applicationName: 'softstake-soak', max: 4 });
    cleanups.push(() => pool.end());
    await migrate(pool);
    await syncAssets(pool, config.assets);

    // The daemon: API, scheduler and workers, each its own process.
    const attempts = config.worker.attempts;
    const api = new RoleProcess('api', configFile, ['api'], probeDir, attempts);
    const scheduler = new RoleProcess('scheduler', configFile, ['scheduler'], probeDir, attempts);
    const workers = Array.from({ length: workerCount }, (_, i) => new RoleProcess(`worker-${i + 1}`, configFile, ['worker'], probeDir, attempts));
    const processes = [api, scheduler, ...workers];
    cleanups.push(async () => {
      await Promise.all(processes.map((p) => p.kill()));
    });
    await Promise.all(processes.map((p) => p.start()));
    log(`daemon up: ${processes.map((p) => `${p.label} (pid ${p.pid})`).join(', ')}`);

    const client = new BalanceClient({
      baseUrl: `http://127.0.0.1:${apiPort}`,
      token,
      assets: chains.map((c) => ({ symbol: c.asset, unit: c.unit })),
      users,
      seed: o.seed,
      openingTokens: OPENING_TOKENS,
      maxTokens: MAX_TOKENS,
    });
    await client.open();
    client.start();
    cleanups.push(() => client.stop());

    // Warm-up: every chain has staked once.
    const warmupEnd = Date.now() + 90_000;
    while (Date.now() < warmupEnd) {
      const { rows } = await pool.query<{ n: number }>(`SELECT count(DISTINCT chain)::int AS n FROM tx_intents WHERE kind = 'delegate' AND status = 'confirmed'`);
      if (rows[0]!.n >= chains.length) break;
      await sleep(500);
    }
    // …and the daemon has had time to run every kind of job once, so the first memory reading is not its start-up.
    await sleep(10_000);
    log('warm-up done: every chain has delegated; steady part starts');

    // The steady part: traffic and the seed's faults.
    const capabilities: ChainCapabilities[] = chains.map((c) => ({
      name: c.name,
      validators: c.validators,
      listeners: c.local.endpoints.length,
      slash: c.local.validatorFaults?.slash !== undefined,
      jail: c.local.validatorFaults?.jail !== undefined && c.local.validatorFaults.unjail !== undefined,
      leave: c.local.validatorFaults?.leave !== undefined,
    }));
    const schedule = faultSchedule({ seed: o.seed, steadyMs: o.durationMs, chains: capabilities, workers: workerCount, ...(o.meanGapMs === undefined ? {} : { meanGapMs: o.meanGapMs }), ...(o.only === undefined ? {} : { only: o.only }) });
    const digest = scheduleDigest(schedule);
    log(`fault schedule ${digest}: ${schedule.length} faults over ${Math.round(o.durationMs / 1000)} s`);
    const loadStart = loadavg();
    const memoryStart = new Map<RoleProcess, Memory | undefined>();
    for (const p of processes) memoryStart.set(p, await p.memory());
    const soakMemoryStart = process.memoryUsage();

    const faults = new Map<FaultKind, number>();
    const notes: string[] = [];
    const pending: Promise<void>[] = [];
    const jailed = new Set<string>();
    const steadyStart = Date.now();
    const chainOf = (name: string | undefined) => chains.find((c) => c.name === name)!;

    // A killed worker comes back after a while; if it is killed again while starting, the later kill's restart brings it back.
    const generation = new Map<RoleProcess, number>();
    const restartLater = async (worker: RoleProcess, afterMs: number): Promise<void> => {
      const mine = (generation.get(worker) ?? 0) + 1;
      generation.set(worker, mine);
      await sleep(afterMs);
      for (let attempt = 0; attempt < 3 && generation.get(worker) === mine && !worker.running; attempt += 1) {
        try {
          await worker.start();
        } catch (error) {
          if (generation.get(worker) === mine) notes.push(`${worker.label} did not start (attempt ${attempt + 1}): ${(error as Error).message.split('\n')[0]}`);
        }
      }
    };

    const inject = async (f: ScheduledFault): Promise<void> => {
      switch (f.kind) {
        case 'worker-sigkill': {
          // The worker that is in a job right now, if one is within 3 s; else the scheduled one.
          let victim: RoleProcess | undefined;
          const until = Date.now() + 3_000;
          while (victim === undefined && Date.now() < until) {
            victim = await workerMidJob(pool, database, workers);
            if (victim === undefined) await sleep(25);
          }
          if (victim === undefined) {
            victim = workers[f.worker ?? 0]!;
            notes.push(`${Math.round(f.at / 1000)}s worker-sigkill: no worker was in a job; killed ${victim.label} between jobs`);
          }
          await victim.kill();
          victim.restarts += 1;
          pending.push(restartLater(victim, f.restartAfter ?? 1_000));
          break;
        }
        case 'redis-restart':
          await redis.restart();
          break;
        case 'redis-flush':
          await redis.flush();
          break;
        case 'pg-terminate':
          await terminateBackends(pool, database);
          break;
        case 'rpc-5xx':
        case 'rpc-429':
        case 'rpc-timeout': {
          const fault = f.kind === 'rpc-5xx' ? 'http503' : f.kind === 'rpc-429' ? 'http429' : 'timeout';
          chainOf(f.chain).local.controls!.faults.inject({ listener: f.listener ?? 0 }, fault, f.times ?? 1);
          break;
        }
        case 'tx-lost-response':
          chainOf(f.chain).local.controls!.loseNextResponse();
          break;
        case 'tx-dropped':
          chainOf(f.chain).local.controls!.dropNextTx();
          break;
        case 'tx-failed':
          chainOf(f.chain).local.controls!.failNextTx();
          break;
        case 'validator-slash':
          chainOf(f.chain).local.validatorFaults!.slash!(f.validator!, f.bps ?? 10);
          break;
        case 'validator-jail': {
          const c = chainOf(f.chain);
          const key = `${c.name}/${f.validator}`;
          if (jailed.has(key)) return;
          c.local.validatorFaults!.jail!(f.validator!);
          jailed.add(key);
          pending.push(
            sleep(f.releaseAfter ?? 5_000).then(() => {
              if (jailed.delete(key)) c.local.validatorFaults!.unjail!(f.validator!);
            }),
          );
          break;
        }
        case 'validator-leave':
          chainOf(f.chain).local.validatorFaults!.leave!(f.validator!);
          break;
      }
      faults.set(f.kind, (faults.get(f.kind) ?? 0) + 1);
    };

    for (const f of schedule) {
      const wait = steadyStart + f.at - Date.now();
      if (wait > 0) await sleep(wait);
      try {
        await inject(f);
      } catch (error) {
        notes.push(`${Math.round(f.at / 1000)}s ${f.kind}: ${(error as Error).message.split('\n')[0]}`);
      }
    }
    const rest = steadyStart + o.durationMs - Date.now();
    if (rest > 0) await sleep(rest);

    const memoryEnd = new Map<RoleProcess, Memory | undefined>();
    for (const p of processes) memoryEnd.set(p, await p.memory());
    const soakMemoryEnd = process.memoryUsage();
    const loadEnd = loadavg();
    log('steady part over: no more faults; settling');

    // Settle: traffic stops, every fault heals, every worker runs again.
    await client.stop();
    await Promise.all(pending);
    for (const key of jailed) {
      const [name, validator] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
      chainOf(name).local.validatorFaults!.unjail!(validator);
    }
    jailed.clear();
    for (const c of chains) c.local.controls!.faults.clear();
    for (const w of workers) if (!w.running) await w.start();

    // Until no intent is open, each chain has harvested (and each asset distributed) since, and each
    // chain's devnet has paid the custody something: a chain that pays per era or epoch pays only once
    // the custody's stake has been in one for a whole era (Polkadot: nominated, elected, the era over,
    // the payout claimed), which a short steady part may not cover.
    const doneBefore = (name: string) => workers.reduce((s, w) => s + (w.counts.done.get(name) ?? 0), 0);
    const harvestsBefore = doneBefore('harvest');
    const distributesBefore = doneBefore('distribute');
    const unpaid = () => chains.filter((c) => c.local.controls!.truth.of(c.custody).paid === 0n).map((c) => c.name);
    if (unpaid().length > 0) log(`settling; no devnet payment yet on ${unpaid().join(', ')}`);
    const settleEnd = Date.now() + 180_000;
    let settled = false;
    while (Date.now() < settleEnd) {
      const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM tx_intents WHERE status = 'signed'`);
      if (
        rows[0]!.n === 0 &&
        doneBefore('harvest') >= harvestsBefore + chains.length &&
        doneBefore('distribute') >= distributesBefore + Object.keys(config.assets).length &&
        unpaid().length === 0
      ) {
        settled = true;
        break;
      }
      await sleep(1_000);
    }
    log(settled ? `settled in ${Math.round((Date.now() - settleEnd + 180_000) / 1000)} s` : 'not settled');
    if (!settled) notes.push(`the pipeline did not settle within 180 s${unpaid().length > 0 ? ` (no devnet payment yet: ${unpaid().join(', ')})` : ''}`);
    // The scheduler finds its schedulers again within its check interval (10 s) after the flush.
    const queues = openQueues(config);
    let schedulerIds: string[] = [];
    let failedInRedis = 0;
    try {
      const expected = Object.keys(config.assets).length + 3 * chains.length;
      const until = Date.now() + 15_000;
      do {
        schedulerIds = [];
        for (const q of [queues.distribute, ...queues.chains.values()]) schedulerIds.push(...(await q.getJobSchedulers()).map((s) => s.key));
        if (schedulerIds.length >= expected) break;
        await sleep(1_000);
      } while (Date.now() < until);
      for (const q of [queues.distribute, ...queues.chains.values()]) failedInRedis += (await q.getJobCounts('failed')).failed ?? 0;
    } finally {
      await queues.close();
    }

    // The daemon stops as an operator stops it; then one last harvest per chain, so the ledger has read
    // everything the chain paid up to now. A chain may go on paying by itself (Aptos, NEAR: each epoch
    // change compounds the stake), so the ground truth compared is the one read before and after that
    // chain's last harvest, unchanged in between: a harvest the chain paid during is done again.
    log('stopping the daemon; final harvest');
    await scheduler.stop();
    await Promise.all(workers.map((w) => w.stop()));
    await api.stop();
    const adapters = await createAdapters(config);
    const truths = new Map<string, { net: bigint; entries: GroundTruthEntry[] }>();
    try {
      const ctx = { config, pool, adapters, logger: pino({ level: 'silent' }), now: Date.now };
      for (const c of chains) {
        const read = () => ({ net: c.local.controls!.truth.of(c.custody).net, entries: [...c.local.controls!.truth.entries(c.custody)] });
        const same = (a: ReturnType<typeof read>, b: ReturnType<typeof read>) => a.net === b.net && a.entries.length === b.entries.length;
        for (let attempt = 1; ; attempt += 1) {
          const before = read();
          await harvest(ctx, c.name, `soak-final-harvest:${c.name}:${attempt}`);
          const after = read();
          if (same(before, after) || attempt === 10) {
            if (attempt > 1) log(`${c.name}: final harvest ${attempt} times (the devnet paid during the harvest)`);
            if (!same(before, after)) notes.push(`${c.name}: the devnet paid during each of 10 final harvests`);
            truths.set(c.name, after);
            break;
          }
        }
      }
    } finally {
      await Promise.all([...adapters.values()].map((a) => a.close()));
    }

    const invariants = await checkInvariants({
      pool,
      config,
      configFile,
      env,
      chains: chains.map((c) => ({ name: c.name, asset: c.asset, truth: truths.get(c.name)!.net, entries: truths.get(c.name)!.entries, included: c.included })),
      schedulerIds,
      failedInRedis,
      failedForGood: workers.flatMap((w) => w.counts.failedForGood),
    });

    if (invariants.some((i) => !i.ok)) keepDatabase = true;
    const counts = await pool.query<{ intents: number; distributions: number }>(
      `SELECT (SELECT count(*)::int FROM tx_intents) AS intents, (SELECT count(*)::int FROM distributions WHERE gross <> 0) AS distributions`,
    );
    const events = await pool.query<{ source: string; n: number }>('SELECT source, count(*)::int AS n FROM reward_events GROUP BY source');
    const jobsByName = new Map<string, number>();
    for (const w of workers) for (const [name, n] of w.counts.done) jobsByName.set(name, (jobsByName.get(name) ?? 0) + n);
    const latencies = client.stats.latencies;
    const { percentile } = await import('./client.js');
    const memory: ProcessMemory[] = processes.map((p) => ({ label: p.label, restarts: p.restarts, start: memoryStart.get(p), end: memoryEnd.get(p) }));
    memory.push({
      label: 'soak (devnets, client)',
      restarts: 0,
      start: { rss: soakMemoryStart.rss, heapUsed: soakMemoryStart.heapUsed },
      end: { rss: soakMemoryEnd.rss, heapUsed: soakMemoryEnd.heapUsed },
    });
    return {
      seed: o.seed,
      scheduleDigest: digest,
      steadyMs: o.durationMs,
      chains: chains.map((c) => c.name),
      faults,
      notes,
      jobsRun: workers.reduce((s, w) => s + w.counts.jobsDone, 0),
      jobsRetried: workers.reduce((s, w) => s + w.counts.jobsRetried, 0),
      jobsByName,
      txs: { included: chains.reduce((s, c) => s + c.included.size, 0), intents: counts.rows[0]!.intents, failedOnChain: chains.reduce((s, c) => s + c.failedOnChain, 0) },
      rewardEvents: new Map(events.rows.map((r) => [r.source, r.n])),
      distributions: counts.rows[0]!.distributions,
      client: {
        accepted: client.stats.accepted,
        duplicates: client.stats.duplicates,
        refused: client.stats.refused,
        errors: client.stats.errors,
        requests: client.stats.requests,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
      },
      memory,
      invariants,
      load: { start: loadStart, end: loadEnd },
      database: keepDatabase ? `${database} (kept)` : database,
    };
  } finally {
    await cleanup();
  }
}
