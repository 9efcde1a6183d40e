/**
 * What must hold after a soak has settled, each with its first difference
 * when it does not:
 *
 * - per chain, Σ reward events in the ledger = what the devnet says it paid
 *   minus what it slashed (its ground truth): none missing, none twice;
 * - each intent reached the chain at most once (the devnet's included
 *   transactions against every hash the intent was ever signed under), no
 *   transaction reached the chain without an intent, and no intent is open;
 * - per asset, the postings sum to 0; per distribution, users' credits +
 *   commission = the rewards it distributed (its gross); every balance =
 *   its changes + its credits;
 * - `softstake reconcile` finds no shortfall and no ledger mismatch;
 * - no job failed for good; every job scheduler exists again after the flush.
 */
import type pg from 'pg';

import type { GroundTruthEntry } from '../../adapters/devnet/groundTruth.js';
import type { SoftstakeConfig } from '../../src/config/index.js';
import { schedulerId } from '../../src/pipeline/schedulers.js';
import { CHAIN_JOBS } from '../../src/pipeline/queues.js';
import { runCli } from '../../test/helpers/cli.js';

export interface InvariantResult {
  name: string;
  ok: boolean;
  /** The first difference, when not ok; a short figure when ok. */
  detail: string;
}

export interface InvariantInput {
  pool: pg.Pool;
  config: SoftstakeConfig;
  configFile: string;
  env: NodeJS.ProcessEnv;
  chains: { name: string; asset: string; truth: bigint; entries: readonly GroundTruthEntry[]; included: ReadonlySet<string> }[];
  schedulerIds: string[];
  failedInRedis: number;
  failedForGood: { queue: string; name: string; err: string }[];
}

const normal = (hash: string) => hash.replace(/^0x/i, '').toLowerCase();

export async function checkInvariants(i: InvariantInput): Promise<InvariantResult[]> {
  const results: InvariantResult[] = [];
  const check = (name: string, ok: boolean, detail: string) => results.push({ name, ok, detail });

  for (const chain of i.chains) {
    const { rows } = await i.pool.query<{ n: number; sum: string }>('SELECT count(*)::int AS n, coalesce(sum(amount), 0)::text AS sum FROM reward_events WHERE source = $1', [chain.name]);
    const sum = BigInt(rows[0]!.sum);
    let detail = `${rows[0]!.n} events, Σ ${sum}`;
    if (sum !== chain.truth) {
      detail = `ledger Σ ${sum} (${rows[0]!.n} events), devnet paid − slashed ${chain.truth}, difference ${sum - chain.truth}`;
      const diffs = await differencesByRef(i.pool, chain.name, chain.entries, chain.truth);
      if (diffs.length > 0) detail += `; first by cause: ${diffs.slice(0, 3).join('; ')}`;
    }
    check(`${chain.name}: reward events = devnet ground truth`, sum === chain.truth && rows[0]!.n > 0, detail);
  }

  const intents = await i.pool.query<{ id: string; chain: string; status: string; tx_hash: string; superseded: string[] }>('SELECT id, chain, status, tx_hash, superseded FROM tx_intents ORDER BY created_at');
  const firstTwice: string[] = [];
  const known = new Map<string, Set<string>>();
  for (const intent of intents.rows) {
    const chain = i.chains.find((c) => c.name === intent.chain);
    if (chain === undefined) continue;
    const hashes = [intent.tx_hash, ...intent.superseded].map(normal);
    const set = known.get(chain.name) ?? new Set<string>();
    for (const h of hashes) set.add(h);
    known.set(chain.name, set);
    const onChain = hashes.filter((h) => chain.included.has(h));
    if (onChain.length > 1) firstTwice.push(`${intent.id} reached ${intent.chain} ${onChain.length} times (${onChain.join(', ')})`);
  }
  check('each intent at most one transaction on chain', firstTwice.length === 0, firstTwice[0] ?? `${intents.rows.length} intents`);
  const orphans: string[] = [];
  for (const chain of i.chains) for (const h of chain.included) if (!known.get(chain.name)?.has(h)) orphans.push(`${chain.name} included ${h}, signed under no intent`);
  check('every transaction on chain is an intent', orphans.length === 0, orphans[0] ?? `${i.chains.reduce((s, c) => s + c.included.size, 0)} transactions`);
  const open = intents.rows.filter((r) => r.status === 'signed');
  check('no intent left open', open.length === 0, open[0] ? `${open.length} open, first ${open[0].id} (${open[0].chain})` : 'none open');

  const unbalanced = await i.pool.query<{ asset: string; s: string }>('SELECT asset, sum(amount)::text AS s FROM postings GROUP BY asset HAVING sum(amount) <> 0');
  check('postings sum to 0 per asset', unbalanced.rows.length === 0, unbalanced.rows[0] ? `${unbalanced.rows[0].asset}: Σ ${unbalanced.rows[0].s}` : `${Object.keys(i.config.assets).length} assets`);

  const split = await i.pool.query<{ id: string; gross: string; credited: string; commission: string }>(
    `SELECT d.id, d.gross::text, coalesce(sum(a.amount), 0)::text AS credited, d.commission::text
       FROM distributions d LEFT JOIN allocations a ON a.distribution_id = d.id
      GROUP BY d.id HAVING coalesce(sum(a.amount), 0) + d.commission <> d.gross
         OR d.gross <> (SELECT coalesce(sum(amount), 0) FROM reward_events r WHERE r.distribution_id = d.id)`,
  );
  const totals = await i.pool.query<{ credited: string; commission: string; gross: string }>(
    `SELECT (SELECT coalesce(sum(amount), 0) FROM allocations)::text AS credited,
            (SELECT coalesce(sum(commission), 0) FROM distributions)::text AS commission,
            (SELECT coalesce(sum(gross), 0) FROM distributions)::text AS gross`,
  );
  const t = totals.rows[0]!;
  const sumsOk = BigInt(t.credited) + BigInt(t.commission) === BigInt(t.gross);
  check(
    "users' credits + commission = rewards distributed",
    split.rows.length === 0 && sumsOk,
    split.rows[0]
      ? `${split.rows[0].id}: credited ${split.rows[0].credited} + commission ${split.rows[0].commission} ≠ gross ${split.rows[0].gross}`
      : sumsOk
        ? `Σ credited ${t.credited} + Σ commission ${t.commission} = Σ gross ${t.gross}`
        : `Σ credited ${t.credited} + Σ commission ${t.commission} ≠ Σ gross ${t.gross}`,
  );

  const balances = await i.pool.query<{ user_id: string; asset: string; amount: string; expected: string }>(
    `SELECT b.user_id, b.asset, b.amount::text, (coalesce(c.s, 0) + coalesce(a.s, 0))::text AS expected
       FROM balances b
       LEFT JOIN (SELECT user_id, asset, sum(delta) s FROM balance_changes GROUP BY user_id, asset) c USING (user_id, asset)
       LEFT JOIN (SELECT a.user_id, d.asset, sum(a.amount) s FROM allocations a JOIN distributions d ON d.id = a.distribution_id GROUP BY a.user_id, d.asset) a USING (user_id, asset)
      WHERE b.amount <> coalesce(c.s, 0) + coalesce(a.s, 0)`,
  );
  check(
    'each balance = its changes + its credits',
    balances.rows.length === 0,
    balances.rows[0] ? `${balances.rows[0].user_id} ${balances.rows[0].asset}: ${balances.rows[0].amount}, expected ${balances.rows[0].expected}` : 'all balances',
  );

  const reconcile = await runCli(['-c', i.configFile, '--json', 'reconcile'], i.env);
  let reconcileDetail = reconcile.stdout.trim().slice(0, 300);
  if (reconcile.code === 0) {
    try {
      const rows = (JSON.parse(reconcile.stdout) as { assets?: { asset: string; surplus: string }[] }).assets ?? [];
      reconcileDetail = rows.map((r) => `${r.asset} surplus ${r.surplus}`).join(', ') || reconcileDetail;
    } catch {
      // keep the text
    }
  } else reconcileDetail = `exit ${reconcile.code}: ${(reconcile.stdout + reconcile.stderr).trim().slice(0, 400)}`;
  check('reconcile finds no difference', reconcile.code === 0, reconcileDetail);

  check(
    'no job failed for good',
    i.failedForGood.length === 0 && i.failedInRedis === 0,
    i.failedForGood[0] ? `${i.failedForGood.length} jobs, first ${i.failedForGood[0].name} on ${i.failedForGood[0].queue}: ${i.failedForGood[0].err}` : i.failedInRedis > 0 ? `${i.failedInRedis} failed jobs in Redis` : 'none',
  );

  const wanted = [...Object.keys(i.config.assets).map((a) => schedulerId('distribute', a)), ...Object.keys(i.config.chains).flatMap((c) => CHAIN_JOBS.map((j) => schedulerId(j, c)))];
  const missing = wanted.filter((w) => !i.schedulerIds.includes(w));
  check('job schedulers exist after the flush', missing.length === 0, missing.length > 0 ? `missing ${missing.join(', ')}` : `${wanted.length} schedulers`);
  return results;
}

/**
 * Where the ledger and the devnet disagree, cause by cause: the devnet books
 * each entry under its cause (a transaction hash, `slash:<validator>`), the
 * adapter's event ids start with the same (`<chain>:<hash>:<index>`,
 * `<chain>:slash:<validator>:<height>`). Aptos books each epoch's growth as
 * `epoch:<n>:<pool>` while its events are `<pool>:<epoch>` for the epoch the
 * harvest saw, which can be a later one: those compare per pool. Chains whose
 * devnet books only part of the truth as entries (NEAR: slashes, its rewards
 * as totals) give nothing here, since every cause would look wrong.
 */
async function differencesByRef(pool: pg.Pool, chain: string, entries: readonly GroundTruthEntry[], net: bigint): Promise<string[]> {
  const signed = (e: GroundTruthEntry) => (e.kind === 'slash' ? -e.amount : e.amount);
  if (entries.length === 0 || entries.reduce((sum, e) => sum + signed(e), 0n) !== net) return [];
  const causeOf = (ref: string) => ref.toLowerCase().replace(/^epoch:\d+:/, '');
  const truth = new Map<string, bigint>();
  for (const e of entries) truth.set(causeOf(e.ref), (truth.get(causeOf(e.ref)) ?? 0n) + signed(e));
  const ledger = new Map<string, bigint>();
  const { rows } = await pool.query<{ id: string; amount: string }>('SELECT id, amount::text FROM reward_events WHERE source = $1 ORDER BY at, id', [chain]);
  for (const r of rows) {
    const parts = r.id.slice(chain.length + 1).split(':');
    const ref = (parts[0] === 'slash' ? `slash:${parts[1]}` : parts[0]!).toLowerCase();
    ledger.set(ref, (ledger.get(ref) ?? 0n) + BigInt(r.amount));
  }
  const out: string[] = [];
  for (const ref of new Set([...truth.keys(), ...ledger.keys()])) {
    const t = truth.get(ref) ?? 0n;
    const l = ledger.get(ref) ?? 0n;
    if (t !== l) out.push(`${ref}: ledger ${l}, devnet ${t}`);
  }
  return out;
}
