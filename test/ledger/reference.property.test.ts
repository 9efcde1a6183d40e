import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';

import {
  balanceIntegrals,
  compareIds,
  referenceAllocate,
  type ReferenceChange,
  type ReferenceInput,
  type ReferenceResult,
} from '../../src/ledger/reference.js';
import { propertyRuns } from '../helpers/runs.js';

// The reference allocator is the oracle the SQL is compared with, so it gets
// an oracle of its own here: integrals by brute force over every millisecond,
// byte order by walking UTF-8 bytes, and the DESIGN.md rules stated as checks
// rather than re-implemented.

const utf8 = new TextEncoder();

/** Byte order of the UTF-8 encodings, written out without Buffer. */
function byteOrder(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i += 1) {
    if (x[i] !== y[i]) return x[i]! - y[i]!;
  }
  return x.length - y.length;
}

/** I_u by summing the balance over each millisecond of (s, e]. */
function bruteIntegral(changes: readonly ReferenceChange[], user: string, s: number, e: number): bigint {
  let total = 0n;
  for (let t = s; t < e; t += 1) {
    // The balance on [t, t + 1): every change stamped at or before t.
    for (const c of changes) if (c.user === user && c.at <= t) total += c.delta;
  }
  return total;
}

interface Expected {
  T: bigint;
  integrals: Map<string, bigint>;
  /** Eligible users and their weights. */
  weights: Map<string, bigint>;
  W: bigint;
}

function expectedWeights(input: ReferenceInput): Expected {
  const s = input.periodStart;
  const e = input.periodEnd;
  const T = BigInt(e - s);
  const integrals = balanceIntegrals(input.changes, s, e);
  const weights = new Map<string, bigint>();
  for (const [user, I] of integrals) {
    if (I > 0n && I >= input.minHolding * T) {
      weights.set(user, input.cap !== null && I > input.cap * T ? input.cap * T : I);
    }
  }
  let W = 0n;
  for (const w of weights.values()) W += w;
  return { T, integrals, weights, W };
}

// Ids whose byte order differs from locale order ("B" < "Z" < "a") and from
// UTF-16 code-unit order ("ｚ" U+FF5A < "😀" U+1F600 in UTF-8, not in UTF-16).
const PICKED_IDS = ['a', 'A', 'b', 'B', 'Z', 'z', 'é', 'É', 'e\u0301', 'ß', 'ｚ', '😀', '\uFFFD', '日本', 'alice', 'Alice'];
const userId = fc.oneof(fc.constantFrom(...PICKED_IDS), fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }));
const amount = fc.oneof(fc.bigInt({ min: 0n, max: 1000n }), fc.bigInt({ min: 0n, max: 10n ** 30n }));

/** One user's history: deposits, and withdrawals of a fraction of the balance, so it never goes below 0. */
function history(user: string): fc.Arbitrary<ReferenceChange[]> {
  return fc
    .array(fc.record({ at: fc.integer({ min: 0, max: 1200 }), amount, withdraw: fc.boolean(), percent: fc.integer({ min: 0, max: 100 }) }), {
      maxLength: 6,
    })
    .map((steps) => {
      let balance = 0n;
      return [...steps]
        .sort((x, y) => x.at - y.at)
        .map((step) => {
          const delta = step.withdraw ? -((balance * BigInt(step.percent)) / 100n) : step.amount;
          balance += delta;
          return { user, delta, at: step.at };
        });
    });
}

const freeInputArb: fc.Arbitrary<ReferenceInput> = fc
  .record({
    users: fc.uniqueArray(userId, { minLength: 1, maxLength: 7 }),
    periodStart: fc.integer({ min: 0, max: 800 }),
    length: fc.integer({ min: 1, max: 400 }),
    reward: fc.oneof(
      fc.bigInt({ min: -1000n, max: 0n }),
      fc.bigInt({ min: 1n, max: 20n }),
      fc.bigInt({ min: 1n, max: 100_000n }),
      fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }),
    ),
    minHolding: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 1000n }), fc.bigInt({ min: 0n, max: 10n ** 30n })),
    capExtra: fc.option(fc.oneof(fc.bigInt({ min: 1n, max: 1000n }), fc.bigInt({ min: 1n, max: 10n ** 30n }))),
    commissionBps: fc.oneof(fc.constantFrom(0, 10000), fc.integer({ min: 0, max: 10000 })),
  })
  .chain((p) =>
    fc.tuple(...p.users.map(history)).map(
      (histories): ReferenceInput => ({
        periodStart: p.periodStart,
        periodEnd: p.periodStart + p.length,
        changes: histories.flat(),
        reward: p.reward,
        minHolding: p.minHolding,
        // A valid config: cap > 0 and cap >= minHolding.
        cap: p.capExtra === null ? null : p.minHolding + p.capExtra,
        commissionBps: p.commissionBps,
      }),
    ),
  );

/**
 * Inputs whose minHolding or cap sits exactly on some user's average, so the
 * inclusive boundaries (I ≥ minHolding·T, min(I, cap·T)) are hit, not just approached.
 */
const inputArb: fc.Arbitrary<ReferenceInput> = freeInputArb.chain((input) => {
  const T = BigInt(input.periodEnd - input.periodStart);
  const exact = [...balanceIntegrals(input.changes, input.periodStart, input.periodEnd).values()].filter((I) => I > 0n && I % T === 0n).map((I) => I / T);
  if (exact.length === 0) return fc.constant(input);
  return fc
    .record({ average: fc.constantFrom(...exact), on: fc.constantFrom('none', 'minHolding', 'cap', 'both') })
    .map(({ average, on }): ReferenceInput => {
      if (on === 'minHolding') return { ...input, minHolding: average, cap: input.cap !== null && input.cap < average ? average : input.cap };
      if (on === 'cap') return { ...input, minHolding: input.minHolding > average ? average : input.minHolding, cap: average };
      if (on === 'both') return { ...input, minHolding: average, cap: average };
      return input;
    });
});

function sumAllocations(result: ReferenceResult): bigint {
  let total = 0n;
  for (const a of result.allocations.values()) total += a.amount;
  return total;
}

describe('referenceAllocate properties', () => {
  const runs = propertyRuns();

  test.prop([inputArb], { numRuns: 300 })('balanceIntegrals is the integral of the balance step function over (s, e]', runs.count(300, (input) => {
    const integrals = balanceIntegrals(input.changes, input.periodStart, input.periodEnd);
    for (const user of new Set(input.changes.map((c) => c.user))) {
      expect(integrals.get(user) ?? 0n).toBe(bruteIntegral(input.changes, user, input.periodStart, input.periodEnd));
    }
  }));

  test.prop([inputArb], { numRuns: 500 })('allocates R exactly, each share within one unit of D·w/W, leftovers by largest remainder then id bytes', runs.count(500, (input) => {
    const result = referenceAllocate(input);
    const { T, integrals, weights, W } = expectedWeights(input);
    const R = input.reward;

    expect(result.eligibleUsers).toBe(weights.size);
    expect(result.totalWeight).toBe(W);

    if (R <= 0n || W === 0n) {
      expect(result).toMatchObject({ allocated: false, gross: 0n, commission: 0n, distributed: 0n, carried: R });
      expect(result.allocations.size).toBe(0);
      return;
    }

    const C = (R * BigInt(input.commissionBps)) / 10000n;
    expect(result).toMatchObject({ allocated: true, gross: R, commission: C, distributed: R - C, carried: 0n });
    expect(sumAllocations(result) + result.commission).toBe(R);
    const D = R - C;

    // Only eligible users are credited, only positive amounts, ids in byte order.
    const credited = [...result.allocations.keys()];
    for (const user of credited) expect(weights.has(user)).toBe(true);
    expect(credited).toEqual([...credited].sort(byteOrder));

    let floorSum = 0n;
    const bonus = new Map<string, boolean>();
    for (const [user, w] of weights) {
      const floor = (D * w) / W;
      floorSum += floor;
      const got = result.allocations.get(user);
      const amount = got?.amount ?? 0n;
      expect(amount >= floor && amount <= floor + 1n, `${JSON.stringify(user)} got ${amount}, exact share ${D}·${w}/${W}`).toBe(true);
      if (got) {
        expect(got.amount).toBeGreaterThan(0n);
        expect(got.avgBalance).toBe(integrals.get(user)! / T);
      }
      bonus.set(user, amount === floor + 1n);
    }
    // Exactly L = D − Σ floor users got a leftover unit ...
    expect(BigInt([...bonus.values()].filter(Boolean).length)).toBe(D - floorSum);
    // ... and each of them ranks above every user who did not.
    for (const [u, wu] of weights) {
      if (!bonus.get(u)) continue;
      for (const [v, wv] of weights) {
        if (bonus.get(v)) continue;
        const ru = (D * wu) % W;
        const rv = (D * wv) % W;
        expect(ru > rv || (ru === rv && byteOrder(u, v) < 0), `leftover went to ${JSON.stringify(u)} (rem ${ru}) over ${JSON.stringify(v)} (rem ${rv})`).toBe(
          true,
        );
      }
    }
  }));

  test.prop([inputArb], { numRuns: 300 })('users below minHolding get nothing; users above the cap get equal shares (within 1)', runs.count(300, (input) => {
    const result = referenceAllocate(input);
    const { T, integrals } = expectedWeights(input);
    for (const [user, I] of integrals) {
      if (I < input.minHolding * T || I <= 0n) expect(result.allocations.has(user), JSON.stringify(user)).toBe(false);
    }
    if (input.cap === null || !result.allocated) return;
    const capped = [...integrals].filter(([, I]) => I >= input.cap! * T && I >= input.minHolding * T && I > 0n).map(([u]) => u);
    const shares = capped.map((u) => result.allocations.get(u)?.amount ?? 0n);
    for (const a of shares) for (const b of shares) expect(a - b <= 1n && b - a <= 1n, `capped shares ${shares.join(', ')}`).toBe(true);
  }));

  test.prop([inputArb.chain((input) => fc.tuple(fc.constant(input), fc.shuffledSubarray([...input.changes], { minLength: input.changes.length })))], {
    numRuns: 200,
  })('does not depend on the order of the changes, and is deterministic', runs.count(200, ([input, shuffled]) => {
    const first = referenceAllocate(input);
    const again = referenceAllocate(input);
    const reordered = referenceAllocate({ ...input, changes: shuffled });
    expect(again).toEqual(first);
    expect(reordered).toEqual(first);
    // Map equality ignores order; the documented order is byte order, so compare entries too.
    expect([...reordered.allocations]).toEqual([...first.allocations]);
  }));

  test.prop([fc.uniqueArray(userId, { minLength: 2, maxLength: 2 })])('compareIds is UTF-8 byte order, which is code point order', runs.count(100, ([a, b]) => {
    const codePoints = (x: string) => [...x].map((ch) => ch.codePointAt(0)!);
    const ca = codePoints(a!);
    const cb = codePoints(b!);
    let cp = 0;
    for (let i = 0; i < Math.min(ca.length, cb.length) && cp === 0; i += 1) cp = ca[i]! - cb[i]!;
    if (cp === 0) cp = ca.length - cb.length;
    expect(Math.sign(compareIds(a!, b!))).toBe(Math.sign(byteOrder(a!, b!)));
    expect(Math.sign(compareIds(a!, b!))).toBe(Math.sign(cp));
  }));

  test.prop([inputArb.filter((i) => i.reward > 0n), fc.constantFrom(-5n, 0n)])('R <= 0 carries R and allocates nothing; so does a period where nobody is eligible', runs.count(100, (input, nonPositive) => {
    const none = referenceAllocate({ ...input, reward: nonPositive });
    expect(none).toMatchObject({ allocated: false, gross: 0n, commission: 0n, distributed: 0n, carried: nonPositive });
    expect(none.allocations.size).toBe(0);

    const I = balanceIntegrals(input.changes, input.periodStart, input.periodEnd);
    const T = BigInt(input.periodEnd - input.periodStart);
    const above = [...I.values()].reduce((m, x) => (x > m ? x : m), 0n) / T + 1n;
    const nobody = referenceAllocate({ ...input, minHolding: above, cap: null });
    expect(nobody).toMatchObject({ allocated: false, gross: 0n, carried: input.reward, eligibleUsers: 0, totalWeight: 0n });
    expect(nobody.allocations.size).toBe(0);
  }));
});

describe('referenceAllocate examples', () => {
  const base = { periodStart: 0, periodEnd: 100, minHolding: 0n, cap: null, commissionBps: 0 };
  const holders = (...rows: [user: string, balance: bigint][]): ReferenceChange[] => rows.map(([user, delta]) => ({ user, delta, at: 0 }));
  const amounts = (r: ReferenceResult) => Object.fromEntries([...r.allocations].map(([u, a]) => [u, a.amount]));

  it('breaks remainder ties by id byte order, not locale order', () => {
    // Equal thirds of D = 2: each exact share is 2/3, every remainder equal.
    const r = referenceAllocate({ ...base, changes: holders(['a', 10n], ['B', 10n], ['Z', 10n]), reward: 2n });
    expect(amounts(r)).toEqual({ B: 1n, Z: 1n });
    expect([...r.allocations.keys()]).toEqual(['B', 'Z']);
    // The locale would have picked "a" and "B".
    expect(['B', 'a', 'Z'].sort((x, y) => x.localeCompare(y, 'en'))).toEqual(['a', 'B', 'Z']);
  });

  it('breaks ties by UTF-8 bytes, not UTF-16 code units', () => {
    const r = referenceAllocate({ ...base, changes: holders(['😀', 7n], ['ｚ', 7n]), reward: 1n });
    expect(amounts(r)).toEqual({ ｚ: 1n });
    expect(['ｚ', '😀'].sort()).toEqual(['😀', 'ｚ']); // JS string order differs
  });

  it('gives the leftover to the largest remainder before looking at ids', () => {
    // a: 2·2/3 = 1 r 1; b: 2·1/3 = 0 r 2 → b's remainder wins the leftover unit.
    const r = referenceAllocate({ ...base, changes: holders(['a', 20n], ['b', 10n]), reward: 2n });
    expect(amounts(r)).toEqual({ a: 1n, b: 1n });
  });

  it('takes commission by floor and splits the rest, time-weighted', () => {
    // x holds 100 all period; y deposits 300 halfway: I_x = 100·100, I_y = 300·50.
    const changes: ReferenceChange[] = [
      { user: 'x', delta: 100n, at: 0 },
      { user: 'y', delta: 300n, at: 50 },
      { user: 'y', delta: 5000n, at: 101 }, // after e: does not count
    ];
    const r = referenceAllocate({ ...base, changes, reward: 999n, commissionBps: 333 });
    // C = floor(999·333/10000) = 33; D = 966: x 966·10000/25000 = 386.4, y 579.6 → y gets the leftover.
    expect(r).toMatchObject({ allocated: true, gross: 999n, commission: 33n, distributed: 966n, carried: 0n, eligibleUsers: 2 });
    expect(amounts(r)).toEqual({ x: 386n, y: 580n });
    expect(r.allocations.get('y')!.avgBalance).toBe(150n);
  });

  it('includes both boundaries: an average of exactly minHolding is eligible, a weight above cap·T is capped', () => {
    // T = 100. "at" holds exactly minHolding (50); "below" is 1 unit·ms short of it;
    // "over" holds cap (80) plus 1 for the last millisecond: I = 80·T + 1, capped to 80·T.
    const changes: ReferenceChange[] = [
      { user: 'at', delta: 50n, at: 0 },
      { user: 'below', delta: 49n, at: 0 },
      { user: 'below', delta: 1n, at: 1 },
      { user: 'capped', delta: 80n, at: 0 },
      { user: 'over', delta: 80n, at: 0 },
      { user: 'over', delta: 1n, at: 99 },
    ];
    const I = balanceIntegrals(changes, 0, 100);
    expect(I.get('below')).toBe(4999n); // 49 + 50·99
    expect(I.get('over')).toBe(8001n);
    const r = referenceAllocate({ ...base, changes, reward: 210n, minHolding: 50n, cap: 80n });
    // Weights 50, 80, 80 (×T): 210 splits 50 / 80 / 80.
    expect(amounts(r)).toEqual({ at: 50n, capped: 80n, over: 80n });
    expect(r.eligibleUsers).toBe(3);
    expect(r.totalWeight).toBe((50n + 80n + 80n) * 100n);
  });

  it('caps whales to equal weight and leaves users below minHolding out', () => {
    const r = referenceAllocate({
      ...base,
      changes: holders(['whale', 10n ** 20n], ['big', 500n], ['mid', 50n], ['tiny', 9n]),
      reward: 1000n,
      minHolding: 10n,
      cap: 100n,
    });
    // Weights 100, 100, 50 (×T); tiny is below minHolding.
    expect(amounts(r)).toEqual({ whale: 400n, big: 400n, mid: 200n });
    expect(r.eligibleUsers).toBe(3);
  });

  it('carries a slash or an unclaimed reward forward', () => {
    expect(referenceAllocate({ ...base, changes: holders(['a', 1n]), reward: -7n })).toMatchObject({ allocated: false, carried: -7n });
    expect(referenceAllocate({ ...base, changes: holders(['a', 0n]), reward: 7n })).toMatchObject({ allocated: false, carried: 7n, eligibleUsers: 0 });
  });
});
