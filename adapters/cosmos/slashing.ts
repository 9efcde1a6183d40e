/**
 * Cosmos slash detection: stake below what the custody account's own
 * transactions explain. The harvest checkpoint carries the expected bonded
 * principal per validator; each harvest adds the account's own delegation
 * changes since then and compares the sum with the chain's delegations read
 * at the height the scan reached. A shortfall is a slash, reported once (the
 * chain's stake becomes the new baseline). A slash also takes from the
 * unbonding entries created after the infraction (cosmos-sdk
 * x/staking/keeper/slash.go `SlashUnbondingDelegation`): what an entry lost
 * since the checkpoint (`initial_balance − balance`, tracked per entry) is
 * added to its validator's slash.
 */
import type { RewardEvent } from '../types.js';
import type { CosmosClient } from './client.js';
import { principalChanges, type IndexedTxLike } from './events.js';

export interface SlashInput {
  /** The checkpoint's principal; `undefined` when it has none (from before slashing detection, or detection off). */
  principal: Map<string, bigint> | undefined;
  /** The account's transactions since the checkpoint, through `through`. */
  txs: readonly IndexedTxLike[];
  /** The checkpoint's slashed-so-far per unbonding entry; `undefined`: take the chain's as the baseline. */
  unbondingSlashed?: Map<string, bigint> | undefined;
  /** The chain's delegations, and what its unbonding entries lost so far, and the height they were read at; `undefined` with detection off. */
  current: { stakes: Map<string, bigint>; unbondingSlashed: Map<string, bigint>; height: bigint } | undefined;
  /** The height the transaction scan is complete through. */
  through: bigint;
}

/** Slash events, and the principal the next checkpoint carries. */
export async function detectSlashes(
  client: CosmosClient,
  address: string,
  input: SlashInput,
  blockTime: (height: bigint) => Promise<number>,
): Promise<{ events: RewardEvent[]; principal: Map<string, bigint> | undefined; unbondingSlashed: Map<string, bigint> | undefined }> {
  const { principal, txs, current, through, unbondingSlashed } = input;
  if (current === undefined) return { events: [], principal: undefined, unbondingSlashed: undefined };
  // No baseline yet: the chain's stake is it.
  if (principal === undefined) {
    return through === current.height ? { events: [], principal: current.stakes, unbondingSlashed: current.unbondingSlashed } : { events: [], principal: undefined, unbondingSlashed: undefined };
  }
  const expected = new Map(principal);
  for (const tx of txs) {
    const changes = client.parse(`messages of ${tx.hash}`, () => principalChanges(tx, address, client.options.denom));
    for (const [validator, change] of changes) expected.set(validator, (expected.get(validator) ?? 0n) + change);
  }
  // The scan stopped short of the delegations' height: compare next time.
  if (through !== current.height) return { events: [], principal: expected, unbondingSlashed };
  const lost = new Map<string, bigint>();
  for (const validator of new Set([...expected.keys(), ...current.stakes.keys()])) {
    const shortfall = (current.stakes.get(validator) ?? 0n) - (expected.get(validator) ?? 0n);
    if (shortfall < 0n) lost.set(validator, shortfall);
  }
  // Without a baseline for the entries (a checkpoint from before they were tracked), the chain's is it.
  if (unbondingSlashed !== undefined) {
    for (const [entry, slashed] of current.unbondingSlashed) {
      const more = slashed - (unbondingSlashed.get(entry) ?? 0n);
      const validator = entry.slice(0, entry.indexOf('/'));
      if (more > 0n) lost.set(validator, (lost.get(validator) ?? 0n) - more);
    }
  }
  const events: RewardEvent[] = [];
  for (const validator of [...lost.keys()].sort()) {
    events.push({ id: `slash:${validator}:${through}`, amount: lost.get(validator)!, at: await blockTime(through), validator });
  }
  // From here on the chain's stake and entries are the baseline: a shortfall is reported once.
  return { events, principal: current.stakes, unbondingSlashed: current.unbondingSlashed };
}
