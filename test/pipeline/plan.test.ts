import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';

import { targetsOf } from '../../adapters/types.js';
import { DEFAULT_MIN_MOVE_FEES, minMoveOf, planRebalance, splitByWeight, takeByWeight } from '../../src/pipeline/plan.js';
import { propertyRuns } from '../helpers/runs.js';

const policy = { targetRatioBps: 9000, minBuffer: 0n, minMove: 0n };
const vals = (ws: number[]) => ws.map((weight, i) => ({ address: `v${i}`, weight }));
const validators = [
  { address: 'val-a', weight: 2 },
  { address: 'val-b', weight: 1 },
];

const runs = propertyRuns();

describe('planRebalance', () => {
  it('stakes what exceeds the 10% buffer, split 2:1 by weight', () => {
    const plan = planRebalance({ position: { liquid: 1_000_000n, delegations: [], unbonding: [] }, usersTotal: 1_000_000n, policy, validators });
    expect(plan.buffer).toBe(100_000n);
    expect(plan.actions).toEqual([
      { kind: 'delegate', validator: 'val-a', amount: 600_000n },
      { kind: 'delegate', validator: 'val-b', amount: 300_000n },
    ]);
  });

  it('keeps minBuffer when it is larger than the ratio asks', () => {
    const plan = planRebalance({ position: { liquid: 1_000n, delegations: [], unbonding: [] }, usersTotal: 1_000n, policy: { ...policy, minBuffer: 400n }, validators });
    expect(plan.buffer).toBe(400n);
    expect(plan.actions.reduce((s, a) => s + a.amount, 0n)).toBe(600n);
  });

  it('unbonds the shortfall, counting what is already unbonding, and skips moves below minMove', () => {
    const delegations = [
      { validator: 'val-a', amount: 600n },
      { validator: 'val-b', amount: 300n },
    ];
    const short = planRebalance({
      position: { liquid: 10n, delegations, unbonding: [{ validator: 'val-a', amount: 30n, completesAt: 0 }] },
      usersTotal: 1_000n,
      policy,
      validators,
    });
    expect(short.actions).toEqual([
      { kind: 'undelegate', validator: 'val-a', amount: 40n },
      { kind: 'undelegate', validator: 'val-b', amount: 20n },
    ]);
    const skipped = planRebalance({ position: { liquid: 95n, delegations, unbonding: [] }, usersTotal: 1_000n, policy: { ...policy, minMove: 10n }, validators });
    expect(skipped.actions).toEqual([]);
  });

  it('takes stake from a validator removed from the config first', () => {
    expect(takeByWeight(50n, [{ validator: 'old', amount: 30n }, { validator: 'val-a', amount: 100n }], validators)).toEqual([
      ['old', 30n],
      ['val-a', 20n],
    ]);
  });
});

describe('rebalance arithmetic, for any input', () => {
  const weights = fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 6 });

  fcTest.prop([fc.bigInt({ min: 0n, max: 10n ** 30n }), weights])('a split sums to the amount and never goes negative', runs.count(100, (amount, ws) => {
    const parts = splitByWeight(amount, vals(ws));
    expect(parts.reduce((s, [, a]) => s + a, 0n)).toBe(amount);
    for (const [, a] of parts) expect(a > 0n).toBe(true);
  }));

  fcTest.prop([fc.bigInt({ min: 0n, max: 10n ** 24n }), fc.array(fc.bigInt({ min: 0n, max: 10n ** 24n }), { minLength: 1, maxLength: 6 }), weights])(
    'taking stake never takes more than a validator has, nor more than asked',
    runs.count(100, (amount, stakes, ws) => {
      const delegations = stakes.map((s, i) => ({ validator: `v${i}`, amount: s }));
      const taken = takeByWeight(amount, delegations, vals(ws));
      const total = stakes.reduce((s, a) => s + a, 0n);
      const sum = taken.reduce((s, [, a]) => s + a, 0n);
      expect(sum).toBe(amount < total ? amount : total);
      for (const [validator, a] of taken) expect(a <= delegations.find((d) => d.validator === validator)!.amount).toBe(true);
    }));

  fcTest.prop([fc.bigInt({ min: 0n, max: 10n ** 24n }), fc.bigInt({ min: 0n, max: 10n ** 24n }), fc.integer({ min: 0, max: 10_000 })])(
    'after the plan, liquid equals the buffer (or the plan moves less than minMove)',
    runs.count(100, (liquid, usersTotal, ratio) => {
      const plan = planRebalance({ position: { liquid, delegations: [{ validator: 'v0', amount: 10n ** 25n }], unbonding: [] }, usersTotal, policy: { ...policy, targetRatioBps: ratio }, validators: vals([1]) });
      const delta = plan.actions.reduce((s, a) => s + (a.kind === 'delegate' ? -a.amount : a.amount), 0n);
      expect(liquid + delta).toBe(plan.buffer);
    }));
});

describe('the planner never plans what the chain refuses', () => {
  const stake = (n: number, amount: bigint) => Array.from({ length: n }, (_, i) => ({ validator: `v${i}`, amount }));
  const limitsArb = fc.record({
    minStake: fc.bigInt({ min: 1n, max: 10n ** 6n }),
    step: fc.bigInt({ min: 1n, max: 10n ** 4n }),
    reserve: fc.bigInt({ min: 0n, max: 10n ** 6n }),
    entries: fc.option(fc.record({ count: fc.integer({ min: 1, max: 32 }), per: fc.constantFrom<'target' | 'account'>('target', 'account') }), { nil: undefined }),
  });

  it('Aptos-like: a delegation below the minimum stake is not planned; the remainder goes to the heaviest validator', () => {
    const plan = planRebalance({
      position: { liquid: 1_000n, delegations: [], unbonding: [] },
      usersTotal: 0n,
      policy,
      validators: [
        { address: 'val-a', weight: 9 },
        { address: 'val-b', weight: 1 },
      ],
      limits: { minStake: 200n, step: 1n, reserve: 0n, typicalFee: 1n },
    });
    expect(plan.actions).toEqual([{ kind: 'delegate', validator: 'val-a', amount: 1_000n }]);
  });

  it('without a configured minMove, moves below 100 typical fees are skipped; minMove 0 moves anything', () => {
    const limits = { minStake: 1n, step: 1n, reserve: 0n, typicalFee: 1_000n };
    const noMinMove = { targetRatioBps: 9_000, minBuffer: 0n };
    const plan = (liquid: bigint, p: typeof noMinMove & { minMove?: bigint }) =>
      planRebalance({ position: { liquid, delegations: [], unbonding: [] }, usersTotal: 1_000_000n, policy: p, validators: [{ address: 'val-a', weight: 1 }], limits });
    // The buffer is 100,000: 99,999 beyond it is dust next to a 1,000 fee; 100,000 is not.
    expect(plan(199_999n, noMinMove).actions).toEqual([]);
    expect(plan(200_000n, noMinMove).actions).toEqual([{ kind: 'delegate', validator: 'val-a', amount: 100_000n }]);
    expect(minMoveOf({}, limits)).toBe(DEFAULT_MIN_MOVE_FEES * 1_000n);
    expect(plan(100_001n, { ...noMinMove, minMove: 0n }).actions).toEqual([{ kind: 'delegate', validator: 'val-a', amount: 1n }]);
  });

  it('TRON-like: whole steps only, and the reserve stays liquid', () => {
    const plan = planRebalance({
      position: { liquid: 10_500_000n, delegations: [], unbonding: [] },
      usersTotal: 0n,
      policy,
      validators: [{ address: 'sr-1', weight: 1 }],
      limits: { minStake: 1_000_000n, step: 1_000_000n, reserve: 1_100_000n, typicalFee: 1n },
    });
    expect(plan.actions).toEqual([{ kind: 'delegate', validator: 'sr-1', amount: 9_000_000n }]);
  });

  it('TRON-like idle Tron Power: voted without a new freeze, with the excess or alone once worth a move; unfrozen first when the buffer lacks', () => {
    const TRX = 1_000_000n;
    const limits = { minStake: TRX, step: TRX, reserve: 0n, typicalFee: 1n, maxUnbondingEntries: { count: 32, per: 'account' as const } };
    const srs = [
      { address: 'sr-a', weight: 2 },
      { address: 'sr-b', weight: 1 },
    ];
    const delegations = [
      { validator: 'sr-a', amount: 200n * TRX },
      { validator: 'sr-b', amount: 100n * TRX },
    ];
    const plan = (liquid: bigint, idle: bigint, usersTotal: bigint, minMove = 5n * TRX) =>
      planRebalance({ position: { liquid, delegations, unbonding: [], idle }, usersTotal, policy: { ...policy, minMove }, validators: srs, limits }).actions;
    // Buffer met exactly (users 1000, buffer 100): the 30 idle TRX are voted 2:1, nothing frozen.
    expect(plan(100n * TRX, 30n * TRX + 400_000n, 1_000n * TRX)).toEqual([
      { kind: 'delegate', validator: 'sr-a', amount: 20n * TRX, fromIdle: 20n * TRX },
      { kind: 'delegate', validator: 'sr-b', amount: 10n * TRX, fromIdle: 10n * TRX },
    ]);
    // Idle below minMove alone is left; with liquid to stake it rides along, and only the excess is bonded anew.
    expect(plan(100n * TRX, 3n * TRX, 1_000n * TRX)).toEqual([]);
    expect(plan(160n * TRX, 3n * TRX, 1_000n * TRX)).toEqual([
      { kind: 'delegate', validator: 'sr-a', amount: 42n * TRX, fromIdle: 3n * TRX },
      { kind: 'delegate', validator: 'sr-b', amount: 21n * TRX },
    ]);
    // The buffer lacks 50 TRX: 30 idle TRX are unfrozen (no vote lowered for them), 20 taken from the votes by
    // weight (each share rounded down to whole TRX, as without idle stake: 13 + 6).
    const lacking = plan(50n * TRX, 30n * TRX, 1_000n * TRX);
    expect(lacking).toEqual([
      { kind: 'undelegate', validator: 'sr-a', amount: 43n * TRX, fromIdle: 30n * TRX },
      { kind: 'undelegate', validator: 'sr-b', amount: 6n * TRX },
    ]);
    // Idle covers more than the shortfall: one unfreeze of idle only, the rest voted.
    expect(plan(90n * TRX, 30n * TRX, 1_000n * TRX)).toEqual([
      { kind: 'undelegate', validator: 'sr-a', amount: 10n * TRX, fromIdle: 10n * TRX },
      { kind: 'delegate', validator: 'sr-a', amount: 14n * TRX, fromIdle: 14n * TRX },
      { kind: 'delegate', validator: 'sr-b', amount: 6n * TRX, fromIdle: 6n * TRX },
    ]);
  });

  it('batchTargets (TRON): one delegate and one undelegate carry every target, and one undelegation needs one free entry', () => {
    const TRX = 1_000_000n;
    const limits = { minStake: TRX, step: TRX, reserve: 0n, typicalFee: 1n, batchTargets: true as const, maxUnbondingEntries: { count: 32, per: 'account' as const } };
    const srs = [
      { address: 'sr-a', weight: 2 },
      { address: 'sr-b', weight: 1 },
      { address: 'sr-c', weight: 1 },
    ];
    const stakeIn = srs.map((v) => ({ validator: v.address, amount: 100n * TRX }));
    const plan = (liquid: bigint, idle: bigint, unbonding: number) =>
      planRebalance({ position: { liquid, delegations: stakeIn, unbonding: Array.from({ length: unbonding }, () => ({ amount: TRX, completesAt: 0 })), idle }, usersTotal: 1_000n * TRX, policy, validators: srs, limits }).actions;
    expect(plan(140n * TRX, 4n * TRX, 0)).toEqual([
      { kind: 'delegate', validator: 'sr-a', amount: 22n * TRX, fromIdle: 4n * TRX, also: [{ validator: 'sr-b', amount: 11n * TRX }, { validator: 'sr-c', amount: 11n * TRX }] },
    ]);
    // 31 entries open: a single free one still takes the undelegation from every SR.
    expect(plan(60n * TRX, 0n, 31)).toEqual([
      { kind: 'undelegate', validator: 'sr-a', amount: 4n * TRX, also: [{ validator: 'sr-b', amount: 2n * TRX }, { validator: 'sr-c', amount: 2n * TRX }] },
    ]);
  });

  it('Cosmos: a validator with max_entries open unbondings is passed over; with every one full, nothing is planned', () => {
    const entries = (validator: string, n: number) => Array.from({ length: n }, () => ({ validator, amount: 1n, completesAt: 0 }));
    const delegations = [
      { validator: 'val-a', amount: 600n },
      { validator: 'val-b', amount: 300n },
    ];
    const limits = { minStake: 1n, step: 1n, reserve: 0n, typicalFee: 1n, maxUnbondingEntries: { count: 7, per: 'target' as const } };
    const one = planRebalance({ position: { liquid: 0n, delegations, unbonding: entries('val-a', 7) }, usersTotal: 1_000n, policy, validators, limits });
    expect(one.actions).toEqual([{ kind: 'undelegate', validator: 'val-b', amount: 93n }]);
    expect(one.held).toMatch(/7 open unbonding entries/);
    const none = planRebalance({ position: { liquid: 0n, delegations, unbonding: [...entries('val-a', 7), ...entries('val-b', 7)] }, usersTotal: 1_000n, policy, validators, limits });
    expect(none.actions).toEqual([]);
  });

  it('NEAR: a new unstake re-locks what the pool already unbonds, so pools with nothing unbonding go first; re-locks only as far as needed, latest-completing first', () => {
    const delegations = [
      { validator: 'val-a', amount: 600n },
      { validator: 'val-b', amount: 300n },
      { validator: 'val-c', amount: 300n },
    ];
    const three = [...validators, { address: 'val-c', weight: 1 }];
    const limits = { minStake: 1n, step: 1n, reserve: 0n, typicalFee: 1n, unbondingRestarts: 'target' as const };
    const unbonding = [{ validator: 'val-a', amount: 10n, completesAt: 1_000 }];
    const spared = planRebalance({ position: { liquid: 0n, delegations, unbonding }, usersTotal: 1_300n, policy, validators: three, limits });
    expect(spared.actions.map((a) => a.validator)).not.toContain('val-a');
    expect(spared.actions.reduce((sum, a) => sum + (a.kind === 'undelegate' ? a.amount : 0n), 0n)).toBe(120n);
    // Both others unbond too: only the one whose lock ends last is re-locked, as far as it covers.
    const all = [...unbonding, { validator: 'val-b', amount: 10n, completesAt: 3_000 }, { validator: 'val-c', amount: 10n, completesAt: 2_000 }];
    const relock = planRebalance({ position: { liquid: 0n, delegations, unbonding: all }, usersTotal: 3_000n, policy, validators: three, limits });
    expect(relock.actions).toEqual([{ kind: 'undelegate', validator: 'val-b', amount: 270n }]);
    // Without the limit the same shortfall is spread by weight over all three.
    const spread = planRebalance({ position: { liquid: 0n, delegations, unbonding }, usersTotal: 1_300n, policy, validators: three, limits: { ...limits, unbondingRestarts: undefined } });
    expect(spread.actions.map((a) => a.validator)).toContain('val-a');
  });

  fcTest.prop([
    fc.bigInt({ min: 0n, max: 10n ** 9n }),
    fc.bigInt({ min: 0n, max: 10n ** 9n }),
    fc.integer({ min: 1, max: 5 }),
    fc.bigInt({ min: 0n, max: 10n ** 8n }),
    fc.array(fc.record({ target: fc.integer({ min: 0, max: 5 }), amount: fc.bigInt({ min: 1n, max: 10n ** 6n }) }), { maxLength: 40 }),
    fc.integer({ min: 0, max: 10_000 }),
    limitsArb,
  ])('amounts are whole steps, delegations at least the minimum, the reserve untouched, entries within the limit', runs.count(100, (liquid, usersTotal, n, each, open, ratio, l) => {
    const limits = { minStake: l.minStake, step: l.step, reserve: l.reserve, typicalFee: 1n, ...(l.entries === undefined ? {} : { maxUnbondingEntries: l.entries }) };
    const unbonding = open.map((u) => ({ validator: `v${u.target}`, amount: u.amount, completesAt: 0 }));
    const delegations = stake(n, each);
    const plan = planRebalance({ position: { liquid, delegations, unbonding }, usersTotal, policy: { ...policy, targetRatioBps: ratio }, validators: vals(Array.from({ length: n }, () => 1)), limits });
    const delegated = plan.actions.filter((a) => a.kind === 'delegate').reduce((s, a) => s + a.amount, 0n);
    expect(delegated === 0n || liquid - delegated >= limits.reserve).toBe(true);
    const undelegated = new Set<string>();
    for (const action of plan.actions) {
      expect(action.amount % limits.step).toBe(0n);
      expect(action.amount > 0n).toBe(true);
      if (action.kind === 'delegate') expect(action.amount >= limits.minStake).toBe(true);
      else {
        expect(action.amount <= each).toBe(true);
        expect(undelegated.has(action.validator)).toBe(false);
        undelegated.add(action.validator);
        if (l.entries?.per === 'target') expect(unbonding.filter((u) => u.validator === action.validator).length < l.entries.count).toBe(true);
      }
    }
    if (l.entries?.per === 'account') expect(undelegated.size <= Math.max(0, l.entries.count - unbonding.length)).toBe(true);
  }));

  fcTest.prop([
    fc.bigInt({ min: 0n, max: 10n ** 9n }),
    fc.bigInt({ min: 0n, max: 10n ** 9n }),
    fc.bigInt({ min: 0n, max: 10n ** 9n }),
    fc.integer({ min: 1, max: 5 }),
    fc.bigInt({ min: 0n, max: 10n ** 8n }),
    fc.integer({ min: 0, max: 10_000 }),
    fc.bigInt({ min: 0n, max: 10n ** 7n }),
    limitsArb,
    fc.boolean(),
  ])('idle stake: delegations bond no more than the excess liquid, assign no more than is idle, and count nothing twice (batched or not)', runs.count(100, (liquid, idle, usersTotal, n, each, ratio, minMove, l, batch) => {
    const limits = { minStake: l.minStake, step: l.step, reserve: l.reserve, typicalFee: 1n, maxUnbondingEntries: { count: 32, per: 'account' as const }, ...(batch ? { batchTargets: true as const } : {}) };
    const plan = planRebalance({ position: { liquid, delegations: stake(n, each), unbonding: [], idle }, usersTotal, policy: { ...policy, targetRatioBps: ratio, minMove }, validators: vals(Array.from({ length: n }, () => 1)), limits });
    let bonded = 0n;
    let assigned = 0n;
    let unbondedIdle = 0n;
    if (batch) expect(plan.actions.filter((a) => a.kind === 'delegate').length <= 1 && plan.actions.filter((a) => a.kind === 'undelegate').length <= 1).toBe(true);
    for (const action of plan.actions) {
      const seen = new Set<string>();
      for (const target of targetsOf(action)) {
        expect(seen.has(target.validator)).toBe(false);
        seen.add(target.validator);
        const fromIdle = target.fromIdle ?? 0n;
        expect(fromIdle >= 0n && fromIdle <= target.amount).toBe(true);
        expect(fromIdle % limits.step).toBe(0n);
        if (action.kind === 'delegate') {
          bonded += target.amount - fromIdle;
          assigned += fromIdle;
        } else {
          unbondedIdle += fromIdle;
          expect(target.amount - fromIdle <= each).toBe(true);
        }
      }
    }
    expect(assigned + unbondedIdle <= idle).toBe(true);
    const spendable = liquid > limits.reserve ? liquid - limits.reserve : 0n;
    // New bonds come from liquid only, and only from what exceeds the buffer.
    expect(bonded === 0n || spendable - bonded >= plan.buffer).toBe(true);
    // Idle stake is never both unbonded and bonded anew in one plan.
    expect(unbondedIdle === 0n || bonded === 0n).toBe(true);
  }));
});
