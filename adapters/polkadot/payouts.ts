/**
 * Nominate mode: the era payouts the custody is owed and nobody has
 * claimed yet. An era's rewards are paid only when someone calls
 * `payout_stakers_by_page(validator, era, page)` for every page the
 * custody was exposed in, and vanish once the era falls out of the history
 * depth (84 eras). So, for every era still in the window whose reward is
 * known (`ErasValidatorReward`), every validator the custody nominates or
 * is configured to nominate: the pages `ClaimedRewards` does not list, and
 * in them the custody's exposure (`ErasStakersPaged`); only the pages
 * that would pay the custody something.
 *
 * Two `state_queryStorageAt` calls at the finalized head whatever the
 * window: the overviews and claims, then only the unclaimed pages. The
 * amount each would pay follows `pallet-staking-async` `impls.rs
 * do_payout_stakers_by_page` (Perbill arithmetic of `per_things.rs`).
 */
import type { ApiPromise } from '@polkadot/api';
import type { ApiDecoration } from '@polkadot/api/types';
import type { Codec } from '@polkadot/types/types';

import type { PolkadotClient } from './client.js';
import { big, idHex, json, type Snapshot } from './state.js';

/** One unclaimed page the custody was exposed in. */
export interface UnclaimedPage {
  era: number;
  /** Validator stash, hex. */
  validator: string;
  page: number;
  /** What the payout would pay the custody, planck. */
  amount: bigint;
}

const BILLION = 1_000_000_000n;

/** `Perbill::from_rational(p, q)`, rounding down. */
function fromRational(p: bigint, q: bigint): bigint {
  if (q === 0n) return BILLION;
  return p >= q ? BILLION : (p * BILLION) / q;
}

/** `Perbill * balance`, rounding to nearest, halves down. */
function perbillOf(parts: bigint, value: bigint): bigint {
  const product = parts * value;
  const q = product / BILLION;
  return (product % BILLION) * 2n > BILLION ? q + 1n : q;
}

/** The history window's eras with a known reward: [currentEra − HistoryDepth, activeEra − 1]. */
function window(api: ApiPromise, snapshot: Snapshot): number[] {
  const depth = Number((api.consts.staking!.historyDepth as unknown as { toNumber(): number }).toNumber());
  const from = Math.max(0, snapshot.currentEra - depth);
  const eras: number[] = [];
  for (let era = from; era < snapshot.activeEra.index; era += 1) eras.push(era);
  return eras;
}

/** Every unclaimed page of `validators` (hex) in the history window that holds the custody and would pay it more than 0, oldest era first. */
export async function unclaimedPages(client: PolkadotClient, snapshot: Snapshot, validators: readonly string[], custody: string): Promise<UnclaimedPage[]> {
  if (validators.length === 0) return [];
  return client.call(async (api) => {
    const eras = window(api, snapshot);
    if (eras.length === 0) return [];
    const at: ApiDecoration<'promise'> = await client.atRecent(api, snapshot.head.hash);
    const q = at.query.staking!;
    const first: unknown[] = [];
    for (const era of eras) first.push([q.erasValidatorReward!, era]);
    for (const era of eras) for (const v of validators) first.push([q.erasStakersOverview!, [era, v]], [q.claimedRewards!, [era, v]]);
    const values = (await at.queryMulti(first as never)) as unknown as Codec[];
    const rewards = new Map<number, bigint>();
    eras.forEach((era, i) => {
      const reward = json<unknown>(values[i]!);
      if (reward !== undefined) rewards.set(era, big(reward));
    });
    const candidates: { era: number; validator: string; page: number; total: bigint; own: bigint }[] = [];
    let k = eras.length;
    for (const era of eras) {
      for (const validator of validators) {
        const overview = json<{ total: unknown; own: unknown; pageCount: number }>(values[k]!);
        const claimed = new Set(json<number[]>(values[k + 1]!) ?? []);
        k += 2;
        if (overview === undefined || !rewards.has(era)) continue;
        for (let page = 0; page < Math.max(overview.pageCount, 1); page += 1) {
          if (!claimed.has(page)) candidates.push({ era, validator, page, total: big(overview.total), own: big(overview.own) });
        }
      }
    }
    if (candidates.length === 0) return [];
    const second: unknown[] = [];
    for (const c of candidates) second.push([q.erasStakersPaged!, [c.era, c.validator, c.page]], [q.erasValidatorPrefs!, [c.era, c.validator]]);
    const pointEras = [...new Set(candidates.map((c) => c.era))];
    for (const era of pointEras) second.push([q.erasRewardPoints!, era]);
    const paged = (await at.queryMulti(second as never)) as unknown as Codec[];
    const points = new Map<number, { total: bigint; individual: Map<string, bigint> }>();
    pointEras.forEach((era, i) => {
      const raw = paged[2 * candidates.length + i] as unknown as { total: Codec; individual: Map<Codec, Codec> };
      const individual = new Map<string, bigint>();
      for (const [who, p] of raw.individual.entries()) individual.set(idHex(who), big(json(p) ?? 0));
      points.set(era, { total: big(json(raw.total) ?? 0), individual });
    });
    const found: UnclaimedPage[] = [];
    candidates.forEach((c, i) => {
      const page = paged[2 * i]!;
      if (page.isEmpty) return;
      const others = (page as unknown as { unwrap(): { others: { who: Codec; value: Codec }[] } }).unwrap().others;
      const mine = others.find((o) => idHex(o.who) === custody);
      if (mine === undefined) return;
      const prefs = json<{ commission: number }>(paged[2 * i + 1]!);
      const era = points.get(c.era)!;
      const validatorPoints = era.individual.get(c.validator) ?? 0n;
      const totalV = perbillOf(fromRational(validatorPoints, era.total), rewards.get(c.era)!);
      const leftover = totalV - perbillOf(BigInt(prefs?.commission ?? 0), totalV);
      const amount = perbillOf(fromRational(big(json(mine.value) ?? 0), c.total), leftover);
      // A page that pays the custody nothing (a validator taking 100 % commission, no era points, a tiny exposure) is
      // left unclaimed: its payout would cost a fee for nothing (do_payout_stakers_by_page pays no `Rewarded` of 0).
      if (amount > 0n) found.push({ era: c.era, validator: c.validator, page: c.page, amount });
    });
    return found;
  });
}
