/**
 * The Cosmos harvest checkpoint: opaque to the pipeline, a small JSON
 * document to the adapter.
 *
 *   { "height": "1234", "principal": { "cosmosvaloper1…": "5000000" } }
 *
 * `height`: every custody transaction at or below it has been reported.
 * `principal`: the stake per validator the account's own transactions
 * explain as of `height` (after the slashes already reported); a later
 * delegation below it is stake lost to slashing. Absent (a checkpoint from
 * before slashing detection): the next harvest sets a baseline and reports
 * no slash for the gap.
 * `unbondingSlashed`: per unbonding entry (`<validator>/<creation height>/<unbonding id>`),
 * what slashes have taken from it so far (`initial_balance − balance`), as
 * reported; an entry not listed has lost nothing. Absent: the next harvest
 * takes the chain's entries as the baseline (a checkpoint from before this
 * was tracked), except at height 0, where no entry can exist yet.
 */
import * as z from 'zod';

import { intString, uintString } from '../integers.js';

/** A parsed checkpoint. */
export interface CosmosCheckpoint {
  height: bigint;
  /** Expected bonded principal per validator; `undefined`: unknown, take the chain's as the baseline. */
  principal: Map<string, bigint> | undefined;
  /** Slashed so far per unbonding entry; `undefined`: unknown, take the chain's as the baseline. */
  unbondingSlashed?: Map<string, bigint> | undefined;
}

const schema = z.strictObject({
  height: uintString,
  principal: z.record(z.string().min(1).max(128), intString).optional(),
  unbondingSlashed: z.record(z.string().min(1).max(200), intString).optional(),
});

/** The checkpoint of a first harvest: from the account's first transaction, nothing staked before it. */
export const GENESIS_CHECKPOINT: CosmosCheckpoint = { height: 0n, principal: new Map() };

/** Parses a stored checkpoint; `null` means {@link GENESIS_CHECKPOINT}. @throws Error when it is not one of ours. */
export function parseCheckpoint(text: string | null): CosmosCheckpoint {
  if (text === null) return { height: 0n, principal: new Map() };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`harvest checkpoint is not JSON: ${JSON.stringify(text.slice(0, 100))}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new Error(`harvest checkpoint is not {"height": "<decimal>", "principal"?: {…}}: ${JSON.stringify(text.slice(0, 100))}`);
  const principal = parsed.data.principal === undefined ? undefined : new Map(Object.entries(parsed.data.principal));
  if (parsed.data.unbondingSlashed === undefined) return { height: parsed.data.height, principal };
  return { height: parsed.data.height, principal, unbondingSlashed: new Map(Object.entries(parsed.data.unbondingSlashed)) };
}

/** Formats a checkpoint deterministically (validators sorted, zero entries dropped). */
export function formatCheckpoint(checkpoint: CosmosCheckpoint): string {
  const out: { height: string; principal?: Record<string, string>; unbondingSlashed?: Record<string, string> } = { height: checkpoint.height.toString() };
  if (checkpoint.principal !== undefined) {
    out.principal = {};
    for (const validator of [...checkpoint.principal.keys()].sort()) {
      const amount = checkpoint.principal.get(validator)!;
      if (amount !== 0n) out.principal[validator] = amount.toString();
    }
  }
  if (checkpoint.unbondingSlashed !== undefined) {
    out.unbondingSlashed = {};
    for (const entry of [...checkpoint.unbondingSlashed.keys()].sort()) {
      const amount = checkpoint.unbondingSlashed.get(entry)!;
      if (amount !== 0n) out.unbondingSlashed[entry] = amount.toString();
    }
  }
  return JSON.stringify(out);
}
