/**
 * A small, pure allocator that states DESIGN.md "Ledger semantics" in the
 * plainest code possible. The SQL in distribute.ts is what runs; this is what
 * the property and model-based tests compare it with. Per-user loops are fine
 * here and nowhere else.
 */

export interface ReferenceChange {
  user: string;
  delta: bigint;
  /** Milliseconds; the change takes effect from this instant on. */
  at: number;
}

export interface ReferenceInput {
  /** s, exclusive. */
  periodStart: number;
  /** e, inclusive. */
  periodEnd: number;
  /** Every balance change of the asset (order does not matter), credits of earlier distributions included. */
  changes: readonly ReferenceChange[];
  /** R: the undistributed rewards observed at or before e. */
  reward: bigint;
  /** Minimum average balance, base units. */
  minHolding: bigint;
  /** Weight cap as an average balance in base units, or null. */
  cap: bigint | null;
  commissionBps: number;
}

export interface ReferenceAllocation {
  amount: bigint;
  /** floor(I_u / T). */
  avgBalance: bigint;
}

export interface ReferenceResult {
  /** False when R <= 0 or W = 0: nothing allocated, R carried forward. */
  allocated: boolean;
  gross: bigint;
  commission: bigint;
  distributed: bigint;
  carried: bigint;
  eligibleUsers: number;
  totalWeight: bigint;
  /** Users credited a positive amount, in user-id byte order. */
  allocations: Map<string, ReferenceAllocation>;
}

/** Byte-order comparison of ids (PostgreSQL's COLLATE "C" on UTF-8). */
export function compareIds(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** I_u for every user: the integral of the balance over (s, e], in base-unit milliseconds. */
export function balanceIntegrals(changes: readonly ReferenceChange[], s: number, e: number): Map<string, bigint> {
  const integrals = new Map<string, bigint>();
  for (const c of changes) {
    if (c.at > e) continue;
    const from = c.at > s ? c.at : s;
    integrals.set(c.user, (integrals.get(c.user) ?? 0n) + c.delta * BigInt(e - from));
  }
  return integrals;
}

export function referenceAllocate(input: ReferenceInput): ReferenceResult {
  const { periodStart: s, periodEnd: e, reward: R } = input;
  if (!(e > s)) throw new RangeError('period end must be after period start');
  const T = BigInt(e - s);

  const weights = new Map<string, bigint>();
  const integrals = balanceIntegrals(input.changes, s, e);
  for (const [user, I] of integrals) {
    if (I <= 0n || I < input.minHolding * T) continue;
    const capped = input.cap === null ? I : I < input.cap * T ? I : input.cap * T;
    weights.set(user, capped);
  }
  let W = 0n;
  for (const w of weights.values()) W += w;

  const none: ReferenceResult = {
    allocated: false,
    gross: 0n,
    commission: 0n,
    distributed: 0n,
    carried: R,
    eligibleUsers: weights.size,
    totalWeight: W,
    allocations: new Map(),
  };
  if (R <= 0n || W === 0n) return none;

  const C = (R * BigInt(input.commissionBps)) / 10000n;
  const D = R - C;
  const rows = [...weights].map(([user, w]) => ({ user, w, base: (D * w) / W, rem: (D * w) % W }));
  let leftover = D;
  for (const r of rows) leftover -= r.base;
  rows.sort((a, b) => (a.rem === b.rem ? compareIds(a.user, b.user) : a.rem > b.rem ? -1 : 1));
  const allocations = new Map<string, ReferenceAllocation>();
  rows.forEach((r, rank) => {
    const amount = r.base + (BigInt(rank) < leftover ? 1n : 0n);
    if (amount > 0n) allocations.set(r.user, { amount, avgBalance: integrals.get(r.user)! / T });
  });
  const sorted = new Map([...allocations].sort(([a], [b]) => compareIds(a, b)));
  return {
    allocated: true,
    gross: R,
    commission: C,
    distributed: D,
    carried: 0n,
    eligibleUsers: weights.size,
    totalWeight: W,
    allocations: sorted,
  };
}
