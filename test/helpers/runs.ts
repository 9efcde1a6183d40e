import { afterAll, expect } from 'vitest';

/**
 * Counts the runs of a file's property tests and, after the file, asserts
 * that each made at least as many as it claims: a time limit, a filter that
 * runs dry or a skipped run must not let a property test prove less than its
 * name says while still passing.
 *
 * ```ts
 * const runs = propertyRuns();
 * test.prop([arb], { numRuns: 300 })('…', runs.count(300, (input) => { … }));
 * ```
 */
export function propertyRuns(): {
  /** Wraps a property's body; `numRuns` is what its test asks fast-check for (fast-check's default is 100). */
  count<A extends unknown[], R>(numRuns: number, body: (...args: A) => R): (...args: A) => R;
} {
  const counts: { expected: number; runs: number }[] = [];
  afterAll(() => {
    for (const [index, { expected, runs }] of counts.entries()) {
      expect(runs, `runs of the file's property test #${index + 1} (in source order)`).toBeGreaterThanOrEqual(expected);
    }
  });
  return {
    count(numRuns, body) {
      const entry = { expected: numRuns, runs: 0 };
      counts.push(entry);
      return (...args) => {
        entry.runs += 1;
        return body(...args);
      };
    },
  };
}
