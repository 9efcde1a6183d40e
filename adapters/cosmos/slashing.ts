/**
 * Cosmos slash detection: stake below what the custody account's own
 * transactions explain. The harvest checkpoint carries the expected bonded
 * principal per validator; each harvest adds the account's own delegation
 * changes since then and compares the sum with the chain's delegations read
 * at the height the scan reached. A shortfall is a slash, reported once (the
 * chain's stake becomes the new baseline). So is a redelegation's slash
 * (cosmos-sdk x/staking/keeper/slash.go, SlashRedelegation: the source's
 * infraction unbonds and burns shares of the destination delegation).
 *
 * Two things are not bonded-stake shortfalls and are handled apart:
 *
 * - Share-to-token truncation. The chain values a delegation as
 *   `shares × tokens / total shares`, truncated; after any slash the rate is
 *   not 1:1 and a delegation change can leave one unit less than its
 *   messages say. Only a slash lowers a validator's tokens per share, so a
 *   shortfall of one unit where the rate did not fall is truncation, never
 *   booked as a slash.
 * - Unbonding entries. SlashUnbondingDelegation takes `fraction ×
 *   initial_balance` from each entry of the slashed validator still
 *   unbonding; what an entry lost is `initial_balance − balance`, and the
 *   checkpoint keeps what was already reported per entry, with its initial
 *   balance. An entry gone by the next harvest completed in between
 *   (slashed or not): its `complete_unbonding` block event says what it
 *   paid, and `initial − reported − cancelled since − paid` is what a slash
 *   took after the last harvest (see completions.ts). An entry therefore
 *   reconciles exactly once, whether the harvest sees its slash before its
 *   completion or not.
 */
import { ChainProtocolError } from '../errors.js';
import type { RewardEvent } from '../types.js';
import type { CosmosClient } from './client.js';
import { completionShortfalls, type GoneEntry } from './completions.js';
import { cancelledUnbondings, principalChanges, type IndexedTxLike } from './events.js';
import type { UnbondingEntry } from './position.js';

/** Tokens and delegator shares of a validator (its exchange rate). */
export interface Rate {
  tokens: bigint;
  shares: bigint;
}

/** What the chain holds at the height the delegations were read at. */
export interface ChainStake {
  stakes: Map<string, bigint>;
  height: bigint;
  rates: Map<string, Rate>;
  unbonding: UnbondingEntry[];
}

export interface SlashInput {
  /** The checkpoint's principal; `undefined` when it has none (from before slashing detection, or detection off). */
  principal: Map<string, bigint> | undefined;
  /** The checkpoint's validator rates. */
  rates: Map<string, Rate> | undefined;
  /** The checkpoint's reported unbonding slashes; `undefined`: take the chain's as the baseline. */
  unbonding: Map<string, bigint> | undefined;
  /** The checkpoint's initial balance per open unbonding entry; `undefined` (or an entry missing): its completion is not reconciled. */
  initial: Map<string, bigint> | undefined;
  /** The checkpoint's height: completions are searched above it. */
  from: bigint;
  /** The account's transactions since the checkpoint, through `through`. */
  txs: readonly IndexedTxLike[];
  /** The chain's stake; `undefined` with detection off. */
  current: ChainStake | undefined;
  /** The height the transaction scan is complete through. */
  through: bigint;
}

/** What the next checkpoint carries about slashing. */
export interface SlashBaseline {
  principal: Map<string, bigint> | undefined;
  rates: Map<string, Rate> | undefined;
  unbonding: Map<string, bigint> | undefined;
  initial: Map<string, bigint> | undefined;
}

/** The key of an unbonding entry in the checkpoint: the SDK merges entries of one height and completion time. */
export function entryKey(entry: UnbondingEntry): string {
  return `${entry.validator}/${entry.creationHeight}/${entry.completesAt}`;
}

/** Whether the validator's tokens per share fell from `before` to `now` (only a slash does that). */
function rateFell(before: Rate | undefined, now: Rate | undefined): boolean {
  if (before === undefined || now === undefined || before.shares === 0n || now.shares === 0n) return false;
  return now.tokens * before.shares < before.tokens * now.shares;
}

/** What each unbonding entry lost to slashes so far, and its initial balance. */
function slashedEntries(entries: readonly UnbondingEntry[]): Map<string, { validator: string; creationHeight: bigint; slashed: bigint; initial: bigint }> {
  const out = new Map<string, { validator: string; creationHeight: bigint; slashed: bigint; initial: bigint }>();
  for (const e of entries) {
    const key = entryKey(e);
    const slashed = e.initialBalance > e.amount ? e.initialBalance - e.amount : 0n;
    const seen = out.get(key);
    out.set(key, { validator: e.validator, creationHeight: e.creationHeight, slashed: (seen?.slashed ?? 0n) + slashed, initial: (seen?.initial ?? 0n) + e.initialBalance });
  }
  return out;
}

/** `map` without `keys`; `undefined` stays. */
function without(map: Map<string, bigint> | undefined, keys: ReadonlySet<string>): Map<string, bigint> | undefined {
  return map === undefined ? undefined : new Map([...map].filter(([key]) => !keys.has(key)));
}

/**
 * The checkpoint's entries with an initial balance that the chain no longer
 * lists, with what their completion should pay. A key is
 * `<validator>/<creation height>/<completion ms>`.
 */
function goneEntries(client: CosmosClient, address: string, input: SlashInput, now: ReadonlyMap<string, unknown>): { gone: GoneEntry[]; keys: Set<string> } {
  const keys = new Set<string>();
  const gone: GoneEntry[] = [];
  if (input.initial === undefined) return { gone, keys };
  let cancelled: Map<string, bigint> | undefined;
  for (const [key, initial] of input.initial) {
    if (now.has(key)) continue;
    const match = /^(.+)\/(0|[1-9][0-9]{0,19})\/(0|[1-9][0-9]{0,15})$/.exec(key);
    if (match === null) throw new ChainProtocolError(client.name, `harvest checkpoint: malformed unbonding entry ${JSON.stringify(key.slice(0, 200))}`);
    const [, validator, creationHeight, completesAt] = match;
    if (cancelled === undefined) {
      cancelled = new Map();
      for (const tx of input.txs) {
        for (const c of client.parse(`messages of ${tx.hash}`, () => cancelledUnbondings(tx, address, client.options.denom))) {
          const pair = `${c.validator}/${c.creationHeight}`;
          cancelled.set(pair, (cancelled.get(pair) ?? 0n) + c.amount);
        }
      }
    }
    const expected = initial - (input.unbonding?.get(key) ?? 0n) - (cancelled.get(`${validator}/${creationHeight}`) ?? 0n);
    keys.add(key);
    gone.push({ validator: validator!, completesAt: Number(completesAt), expected: expected > 0n ? expected : 0n });
  }
  return { gone, keys };
}

/** Slash events, and what the next checkpoint carries. */
export async function detectSlashes(
  client: CosmosClient,
  address: string,
  input: SlashInput,
  blockTime: (height: bigint) => Promise<number>,
  times: Map<bigint, number>,
): Promise<{ events: RewardEvent[] } & SlashBaseline> {
  const { principal, txs, current, through } = input;
  if (current === undefined) return { events: [], principal: undefined, rates: undefined, unbonding: undefined, initial: undefined };
  const entries = slashedEntries(current.unbonding);
  const reportedNow = new Map([...entries].map(([key, e]) => [key, e.slashed]));
  const initialNow = new Map([...entries].map(([key, e]) => [key, e.initial]));
  const complete = through === current.height;
  // Entries that completed since the checkpoint: what their completion paid short of what was expected.
  // Searched up to the entries' height whether or not the transaction scan got there, so each is reconciled once.
  const { gone, keys: goneKeys } = goneEntries(client, address, input, entries);
  const events: RewardEvent[] = await completionShortfalls(client, address, input.from, current.height, gone, times);
  // No baseline yet: the chain's stake is it.
  if (principal === undefined) {
    return complete
      ? { events, principal: current.stakes, rates: current.rates, unbonding: reportedNow, initial: initialNow }
      : { events, principal: undefined, rates: undefined, unbonding: undefined, initial: undefined };
  }
  const expected = new Map(principal);
  for (const tx of txs) {
    const changes = client.parse(`messages of ${tx.hash}`, () => principalChanges(tx, address, client.options.denom));
    for (const [validator, change] of changes) expected.set(validator, (expected.get(validator) ?? 0n) + change);
  }
  // The scan stopped short of the delegations' height: compare next time.
  if (!complete) return { events, principal: expected, rates: input.rates, unbonding: without(input.unbonding, goneKeys), initial: without(input.initial, goneKeys) };
  for (const validator of [...new Set([...expected.keys(), ...current.stakes.keys()])].sort()) {
    const shortfall = (expected.get(validator) ?? 0n) - (current.stakes.get(validator) ?? 0n);
    if (shortfall <= 0n) continue;
    if (shortfall === 1n && !rateFell(input.rates?.get(validator), current.rates.get(validator))) continue;
    events.push({ id: `slash:${validator}:${through}`, amount: -shortfall, at: await blockTime(through), validator });
  }
  if (input.unbonding !== undefined) {
    for (const [key, entry] of [...entries].sort(([a], [b]) => a.localeCompare(b))) {
      const lost = entry.slashed - (input.unbonding.get(key) ?? 0n);
      if (lost > 0n) events.push({ id: `slash:${entry.validator}:unbonding:${entry.creationHeight}:${through}`, amount: -lost, at: await blockTime(through), validator: entry.validator });
    }
  }
  // From here on the chain's stake is the baseline: a shortfall is reported once.
  return { events, principal: current.stakes, rates: current.rates, unbonding: reportedNow, initial: initialNow };
}
