/**
 * The maintenance period (consensus/src/main/java/org/tron/consensus/dpos/MaintenanceManager.java):
 * when a block's time reaches `nextMaintenanceTime`, the ending cycle's Vi
 * is accumulated with the votes in force during it, the VotesStore's vote
 * changes are counted into the SRs' tallies, the top 27 become the active
 * SRs (DposService.updateWitness), and the next cycle starts with each SR's
 * brokerage and tally frozen for it. Votes cast in cycle c therefore earn
 * from cycle c+1.
 *
 * Not modelled (stated): `MAINTENANCE_SKIP_SLOTS` (java-tron leaves the two
 * slots after a maintenance block empty); proposals; the removal of the
 * genesis SRs' power (`tryRemoveThePowerOfTheGr`).
 */
import type { ChainParams, ChainState, Witness } from './state.js';
import { cycleKey } from './state.js';
import { accumulateWitnessVi, DEFAULT_BROKERAGE } from './rewards.js';

/** Parameter.ChainConstant.MAX_ACTIVE_WITNESS_NUM. */
export const MAX_ACTIVE_WITNESS_NUM = 27;

/** DposService.updateWitness's order: votes descending (ties by address descending, where java-tron uses the ByteString hashCode). */
export function activeWitnesses(state: ChainState): Witness[] {
  return [...state.witnesses.values()]
    .sort((a, b) => (a.voteCount === b.voteCount ? (a.address < b.address ? 1 : -1) : a.voteCount > b.voteCount ? -1 : 1))
    .slice(0, MAX_ACTIVE_WITNESS_NUM);
}

/** DynamicPropertiesStore.updateNextMaintenanceTime: whole intervals after the current one. */
export function nextMaintenanceTime(current: number, blockTime: number, interval: number): number {
  const round = Math.floor((blockTime - current) / interval);
  return current + (round + 1) * interval;
}

/** MaintenanceManager.doMaintenance (new reward algorithm, allowChangeDelegation on). */
export function doMaintenance(state: ChainState, params: ChainParams, blockTime: number): void {
  const cycle = state.dyn.cycle;
  for (const w of state.witnesses.values()) accumulateWitnessVi(state, cycle, w.address, w.voteCount);

  // countVote: −old +new per voter, then the VotesStore is emptied.
  const delta = new Map<string, bigint>();
  for (const { oldVotes, newVotes } of state.votesStore.values()) {
    for (const v of oldVotes) delta.set(v.address, (delta.get(v.address) ?? 0n) - v.count);
    for (const v of newVotes) delta.set(v.address, (delta.get(v.address) ?? 0n) + v.count);
  }
  state.votesStore.clear();
  if (delta.size > 0) {
    for (const [address, change] of delta) {
      const w = state.witnesses.get(address);
      if (w !== undefined) state.witnesses.set(address, { ...w, voteCount: w.voteCount + change });
    }
    const active = new Set(activeWitnesses(state).map((w) => w.address));
    for (const w of state.witnesses.values()) if (w.isJobs !== active.has(w.address)) state.witnesses.set(w.address, { ...w, isJobs: active.has(w.address) });
  }

  const next = cycle + 1;
  state.dyn.cycle = next;
  for (const w of state.witnesses.values()) {
    state.delegation.brokerage.set(cycleKey(next, w.address), state.delegation.brokerage.get(cycleKey(-1, w.address)) ?? DEFAULT_BROKERAGE);
    state.delegation.witnessVote.set(cycleKey(next, w.address), w.voteCount);
  }
  state.dyn.nextMaintenanceTime = nextMaintenanceTime(state.dyn.nextMaintenanceTime, blockTime, params.maintenanceTimeInterval);
}
