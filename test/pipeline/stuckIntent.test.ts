/**
 * A stuck intent does not stop a chain forever. An open intent whose
 * resumption fails with an error no retry fixes (here: a node that answers
 * broadcasts with nonsense) stops the planning, and the operator sees it: an
 * error log line, `/v1/intents`, the `softstake_intents_stuck` metric and
 * `softstake intents list`. `softstake intents abandon` refuses while the
 * chain may still include the bytes, and succeeds once their nonce was
 * used by another transaction, recording who, when and why; the next
 * rebalance plans again. Real PostgreSQL, the Cosmos devnet through cosmjs,
 * the CLI as a child process.
 */
import { Writable } from 'node:stream';
import { join } from 'node:path';

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ChainProtocolError } from '../../adapters/errors.js';
import type { ChainAdapter, SignedTx } from '../../adapters/types.js';
import { loadConfig, type SoftstakeConfig } from '../../src/config/index.js';
import { applyBalanceChanges } from '../../src/ledger/balanceChanges.js';
import type { PipelineContext } from '../../src/pipeline/context.js';
import { listIntents, runAction, unfinishedActions } from '../../src/pipeline/intents.js';
import { rebalance } from '../../src/pipeline/jobs/rebalance.js';
import { withSignerLock } from '../../src/pipeline/signerLock.js';
import { chainConfig, get, startApi, type Api } from '../api/harness.js';
import { adapter as cosmos } from '../../adapters/cosmos/adapter.js';
import { startDaemonChain, type DaemonChain } from '../helpers/chains.js';
import { runCli } from '../helpers/cli.js';
import { freePort, writeDaemonConfig } from '../helpers/daemon.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';

const ATOM = 1_000_000n;

let db: TestDatabase;
let chain: DaemonChain;
let CHAIN: string;
let validator: string;
let configFile: string;
let config: SoftstakeConfig;
let adapter: ChainAdapter;
let api: Api;
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  db = await freshDatabase();
  // No inflation: no rewards move the liquid balance.
  chain = await startDaemonChain('cosmos', { funds: 1_000n, inflation: '0' });
  CHAIN = chain.name;
  validator = chain.validators[0]!;
  const written = await writeDaemonConfig({ databaseUrl: db.url, redisUrl: 'redis://127.0.0.1:6379', ...chain.daemonConfig(), port: await freePort() });
  configFile = written.file;
  config = await loadConfig(configFile);
  // The pipeline's own adapter, as the config builds it but quicker to give up on a lost transaction.
  const chainId = (config.chains[CHAIN]!.options as { chainId: string }).chainId;
  adapter = cosmos.create({
    name: CHAIN,
    asset: 'ATOM',
    decimals: 6,
    endpoints: config.chains[CHAIN]!.endpoints,
    signer: { file: join(written.dir, 'secrets/custody.key') },
    validators: [...chain.validators],
    requestTimeoutMs: 2_000,
    options: cosmos.optionsSchema.parse({ chainId, pollIntervalMs: 100, inclusionTimeoutMs: 1_500 }),
  });
  await applyBalanceChanges(db.pool, [{ line: 1, record: { id: 'dep-1', user: 'alice', asset: 'ATOM', delta: (1_000n * ATOM).toString(), at: new Date().toISOString() } }], {
    assets: new Set(['ATOM']),
  });
  api = await startApi(db, { chains: { [CHAIN]: chainConfig(CHAIN, 'ATOM') } });
});

afterAll(async () => {
  await api?.close({ obliterate: true });
  await adapter?.close();
  await chain?.close();
  await db?.drop();
});

/** The adapter, with a node that answers every broadcast with something it cannot read. */
function garbling(inner: ChainAdapter): ChainAdapter {
  return Object.assign(Object.create(inner) as ChainAdapter, {
    broadcast: (tx: SignedTx) => Promise.reject(new ChainProtocolError(inner.name, `broadcast of ${tx.hash} answered for another transaction`)),
  });
}

function context(chainAdapter: ChainAdapter): PipelineContext {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { config, pool: db.pool, adapters: new Map([[CHAIN, chainAdapter]]), logger: pino({ level: 'info' }, sink), now: Date.now };
}

function staked(): bigint {
  return [...chain.staked().values()].reduce((sum, amount) => sum + amount, 0n);
}

async function metric(name: string): Promise<string | undefined> {
  const res = await get(api, '/metrics');
  return res.body.split('\n').find((l) => l.startsWith(`${name}{chain="${CHAIN}"}`));
}

describe('a stuck intent', () => {
  let stuckId: string;

  it('stops the planning, and the operator sees it: an error log line, /v1/intents, the metric, the CLI', async () => {
    // A delegation the node accepted and lost: open, its outcome unknown.
    chain.devnet.dropNextTx();
    const lost = await withSignerLock(db.pool, CHAIN, (lock) =>
      runAction({ pool: db.pool, lock, now: Date.now }, adapter, 'lost-1', { kind: 'delegate', validator, amount: 100n * ATOM }),
    ).catch((e: unknown) => e);
    expect((lost as { retryable?: boolean }).retryable).toBe(true);

    // Resuming it now fails with an error no retry fixes, again and again.
    for (const job of ['job-1', 'job-2']) {
      const summary = await rebalance(context(garbling(adapter)), CHAIN, job);
      expect(summary).toMatchObject({ resumed: 0, actions: [], stuck: [{ id: 'lost-1' }] });
      expect(summary.buffer).toBeUndefined();
    }
    expect(staked()).toBe(0n);
    const logged = logs.filter((l) => l.level === 50 && String(l.msg).includes('stuck'));
    expect(logged).toHaveLength(2);
    expect(logged[0]).toMatchObject({ chain: CHAIN, intent: 'lost-1' });
    expect(String(logged[0]!.msg)).toContain('softstake intents abandon lost-1');

    const [stuck] = await listIntents(db.pool, { stuck: true });
    expect(stuck).toMatchObject({ id: 'lost-1', status: 'signed' });
    expect(stuck!.error).toMatch(/answered for another transaction/);
    stuckId = stuck!.id;

    const listed = await get(api, `/v1/intents?chain=${CHAIN}&status=signed`);
    expect(listed.statusCode).toBe(200);
    const body = listed.json<{ intents: { id: string; stuckSince: string | null; amount: string; error: string }[] }>();
    expect(body.intents).toHaveLength(1);
    expect(body.intents[0]).toMatchObject({ id: 'lost-1', amount: (100n * ATOM).toString() });
    expect(body.intents[0]!.stuckSince).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect((await get(api, '/v1/intents?status=pending')).statusCode).toBe(400);

    expect(await metric('softstake_intents_stuck')).toBe(`softstake_intents_stuck{chain="${CHAIN}"} 1`);
    expect(await metric('softstake_intents_open')).toBe(`softstake_intents_open{chain="${CHAIN}"} 1`);

    const cli = await runCli(['intents', 'list', '--stuck', '-c', configFile]);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(new RegExp(`lost-1\\s+${CHAIN}\\s+delegate\\s+${validator}\\s+100\\s+signed\\s.*STUCK since`));
  });

  it('abandon is refused while the chain may still include it; nothing changes', async () => {
    const refused = await runCli(['intents', 'abandon', stuckId, '--reason', 'node garbles answers', '-c', configFile]);
    expect(refused.code).toBe(65);
    expect(refused.stderr).toMatch(/may still include/);
    expect((await listIntents(db.pool, { status: 'signed' })).map((i) => i.id)).toEqual([stuckId]);
  });

  it('once its nonce is used by another transaction: abandoned with who, when and why, and the next rebalance plans', async () => {
    // Someone with the key sends another transaction: it takes the lost one's sequence.
    await adapter.delegate(validator, ATOM);
    const before = Date.now();
    const done = await runCli(['intents', 'abandon', stuckId, '--reason', 'INC-42: node lost it', '--by', 'carol', '--json', '-c', configFile]);
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    const shown = JSON.parse(done.stdout) as { status: string; abandoned: { by: string; at: string; reason: string } };
    expect(shown).toMatchObject({ status: 'abandoned', abandoned: { by: 'carol', reason: 'INC-42: node lost it' } });
    expect(Date.parse(shown.abandoned.at)).toBeGreaterThanOrEqual(before - 1_000);
    expect(await unfinishedActions(db.pool, CHAIN)).toEqual([]);
    expect(await metric('softstake_intents_stuck')).toBe(`softstake_intents_stuck{chain="${CHAIN}"} 0`);

    const again = await runCli(['intents', 'abandon', stuckId, '--reason', 'twice', '-c', configFile]);
    expect(again.code).toBe(65);
    expect(again.stderr).toMatch(/it is abandoned/);

    const summary = await rebalance(context(adapter), CHAIN, 'job-3');
    expect(summary.stuck).toBeUndefined();
    expect(summary.actions.length).toBeGreaterThan(0);
    expect(summary.actions.every((a) => a.kind === 'delegate' && a.status === 'confirmed')).toBe(true);
    // 90% of the users' 1,000 ATOM is staked: the lost 100 ATOM never landed.
    expect(staked()).toBeGreaterThan(890n * ATOM);
    expect(staked()).toBeLessThanOrEqual(900n * ATOM);
  });
});
