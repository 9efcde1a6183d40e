/** The soak's fault schedule is the seed's alone: a replay with the same seed injects the same faults at the same offsets. */
import { describe, expect, it } from 'vitest';

import { faultSchedule, scheduleDigest, type ChainCapabilities } from '../../bench/soak/schedule.js';

const chains: ChainCapabilities[] = [
  { name: 'cosmoshub-devnet', validators: ['v1', 'v2'], listeners: 2, slash: true, jail: true, leave: false },
  { name: 'near-devnet', validators: ['p1', 'p2'], listeners: 2, slash: true, jail: false, leave: false },
];
const schedule = (seed: number) => faultSchedule({ seed, steadyMs: 600_000, chains, workers: 2 });

describe('fault schedule', () => {
  it('is the same for the same seed and differs for another', () => {
    expect(schedule(42)).toEqual(schedule(42));
    expect(scheduleDigest(schedule(42))).toBe(scheduleDigest(schedule(42)));
    expect(scheduleDigest(schedule(43))).not.toBe(scheduleDigest(schedule(42)));
  });

  it('flushes Redis exactly once, fires only what the devnets offer, and stops before the end', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const faults = schedule(seed);
      expect(faults.filter((f) => f.kind === 'redis-flush')).toHaveLength(1);
      expect(faults.filter((f) => f.kind === 'validator-leave')).toEqual([]);
      expect(faults.filter((f) => f.kind === 'validator-jail' && f.chain !== 'cosmoshub-devnet')).toEqual([]);
      expect(Math.max(...faults.map((f) => f.at))).toBeLessThan(600_000 * 0.85);
      expect(faults.length).toBeGreaterThan(80);
    }
  });
});
