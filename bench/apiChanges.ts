const HOUR = 3_600_000;

/** 2025-03-01T00:00:00Z: the first day the API bench's changes fall in. */
export const API_DAY = Date.UTC(2025, 2, 1);

/** A balance change as an exchange sends it in `POST /v1/balance-changes`. */
export interface ChangeBody {
  id: string;
  user: string;
  asset: string;
  delta: string;
  at: string;
}

export interface ApiChanges {
  /** Per client, its batches in the order it must send them. */
  clients: ChangeBody[][][];
  changes: number;
  /** Users with at least one change. */
  users: number;
  /** Sum of every delta. */
  total: bigint;
}

/**
 * `changes` valid changes over `users` users, about the same number each:
 * a deposit first, then withdrawals (25 to 100% of the balance, so it never
 * goes below 0) alternating with top-ups, one hour apart per user.
 *
 * Users are split across `clients` by `user % clients`, and each client's
 * changes are cut into batches in time order: a user's changes all go through
 * one client, in order, whatever the other clients do meanwhile.
 */
export function apiChanges(changes: number, users: number, clients: number, batchSize: number): ApiChanges {
  const perUser = Math.floor(changes / users);
  const extra = changes % users;
  const rounds = perUser + (extra > 0 ? 1 : 0);
  const balance = new Float64Array(users);
  const streams: ChangeBody[][] = Array.from({ length: clients }, () => []);
  let total = 0n;
  let made = 0;
  for (let k = 0; k < rounds; k += 1) {
    for (let u = 0; u < users; u += 1) {
      if (k >= perUser + (u < extra ? 1 : 0)) continue;
      let delta: number;
      const withdrawal = Math.floor((balance[u]! * (1 + ((u + k) % 4))) / 4);
      if (k % 2 === 1 && withdrawal > 0) delta = -withdrawal;
      else if (k === 0) delta = 1_000_000 + ((u * 7919) % 9_999_000_000);
      else delta = 1 + ((u * 104_729 + k * 31) % 5_000_000_000);
      balance[u]! += delta;
      total += BigInt(delta);
      const tag = String(u).padStart(7, '0');
      streams[u % clients]!.push({
        id: `api-${tag}-${k}`,
        user: `user-${tag}`,
        asset: 'ATOM',
        delta: String(delta),
        at: new Date(API_DAY + k * HOUR + ((u * 7907) % HOUR)).toISOString(),
      });
      made += 1;
    }
  }
  const batched = streams.map((stream) => {
    const batches: ChangeBody[][] = [];
    for (let i = 0; i < stream.length; i += batchSize) batches.push(stream.slice(i, i + batchSize));
    return batches;
  });
  return { clients: batched, changes: made, users: Math.min(users, changes), total };
}

/** Every batch once, round-robin over the clients: an order that keeps each client's (so each user's) order. */
export function interleave<T>(clients: readonly (readonly T[])[]): T[] {
  const out: T[] = [];
  const longest = Math.max(0, ...clients.map((c) => c.length));
  for (let i = 0; i < longest; i += 1) {
    for (const batches of clients) if (i < batches.length) out.push(batches[i]!);
  }
  return out;
}
