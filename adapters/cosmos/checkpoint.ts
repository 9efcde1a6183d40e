/**
 * The Cosmos harvest checkpoint: opaque to the pipeline, a small JSON
 * document to the adapter.
 *
 *   { "height": "1234", "principal": { "cosmosvaloper1…": "5000000" },
 *     "rates": { "cosmosvaloper1…": "<tokens>/<shares>" },
 *     "unbonding": { "cosmosvaloper1…/<creation height>/<completion ms>": "<slashed>" },
 *     "initial": { "cosmosvaloper1…/<creation height>/<completion ms>": "<initial balance>" } }
 *
 * `height`: every custody transaction at or below it has been reported.
 * `principal`: the stake per validator the account's own transactions
 * explain as of `height` (after the slashes already reported); a later
 * delegation below it is stake lost to slashing. Absent (a checkpoint from
 * before slashing detection): the next harvest sets a baseline and reports
 * no slash for the gap.
 * `rates`: each delegated validator's tokens and delegator shares (Dec
 * atomics) at `height`. Only a slash lowers tokens per share; a shortfall of
 * one unit where the rate did not fall is share-to-token truncation (the
 * SDK truncates `shares × tokens / total shares`), not a slash.
 * `unbonding`: per open unbonding entry, what slashes already took from it
 * and was reported (`initial_balance − balance`). Absent: the next harvest
 * takes the chain's entries as the baseline.
 * `initial`: per open unbonding entry, its initial balance. An entry gone by
 * the next harvest completed (or was cancelled): its `complete_unbonding`
 * should pay `initial − unbonding[entry]`, and what it paid short of that was
 * slashed since. Absent for an entry (a checkpoint from before): its
 * completion is not reconciled.
 */
import * as z from 'zod';

import { intString, uintString } from '../integers.js';

/** A parsed checkpoint. */
export interface CosmosCheckpoint {
  height: bigint;
  /** Expected bonded principal per validator; `undefined`: unknown, take the chain's as the baseline. */
  principal: Map<string, bigint> | undefined;
  /** Tokens and delegator shares per delegated validator at `height`. */
  rates?: Map<string, { tokens: bigint; shares: bigint }> | undefined;
  /** Slash already reported per unbonding entry (`<validator>/<creation height>/<completion ms>`); `undefined`: take the chain's as the baseline. */
  unbonding?: Map<string, bigint> | undefined;
  /** Initial balance per open unbonding entry (keys as `unbonding`). */
  initial?: Map<string, bigint> | undefined;
}

const schema = z.strictObject({
  height: uintString,
  principal: z.record(z.string().min(1).max(128), intString).optional(),
  rates: z.record(z.string().min(1).max(128), z.string().regex(/^(0|[1-9][0-9]{0,77})\/(0|[1-9][0-9]{0,95})$/)).optional(),
  unbonding: z.record(z.string().min(1).max(200), uintString).optional(),
  initial: z.record(z.string().min(1).max(200), uintString).optional(),
});

/** The checkpoint of a first harvest: from the account's first transaction, nothing staked before it. */
export const GENESIS_CHECKPOINT: CosmosCheckpoint = { height: 0n, principal: new Map() };

/** Parses a stored checkpoint; `null` means {@link GENESIS_CHECKPOINT}. @throws Error when it is not one of ours. */
export function parseCheckpoint(text: string | null): CosmosCheckpoint {
  if (text === null) return { height: 0n, principal: new Map(), rates: new Map(), unbonding: new Map() };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`harvest checkpoint is not JSON: ${JSON.stringify(text.slice(0, 100))}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new Error(`harvest checkpoint is not {"height": "<decimal>", "principal"?: {…}}: ${JSON.stringify(text.slice(0, 100))}`);
  const principal = parsed.data.principal === undefined ? undefined : new Map(Object.entries(parsed.data.principal));
  const rates =
    parsed.data.rates === undefined
      ? undefined
      : new Map(
          Object.entries(parsed.data.rates).map(([validator, rate]) => {
            const [tokens, shares] = rate.split('/');
            return [validator, { tokens: BigInt(tokens!), shares: BigInt(shares!) }] as const;
          }),
        );
  const unbonding = parsed.data.unbonding === undefined ? undefined : new Map(Object.entries(parsed.data.unbonding));
  const out: CosmosCheckpoint = { height: parsed.data.height, principal, rates, unbonding };
  if (parsed.data.initial !== undefined) out.initial = new Map(Object.entries(parsed.data.initial));
  return out;
}

/** Formats a checkpoint deterministically (validators sorted, zero entries dropped). */
export function formatCheckpoint(checkpoint: CosmosCheckpoint): string {
  const out: { height: string; principal?: Record<string, string>; rates?: Record<string, string>; unbonding?: Record<string, string>; initial?: Record<string, string> } = {
    height: checkpoint.height.toString(),
  };
  if (checkpoint.principal !== undefined) {
    out.principal = {};
    for (const validator of [...checkpoint.principal.keys()].sort()) {
      const amount = checkpoint.principal.get(validator)!;
      if (amount !== 0n) out.principal[validator] = amount.toString();
    }
  }
  if (checkpoint.rates !== undefined && checkpoint.rates.size > 0) {
    out.rates = {};
    for (const validator of [...checkpoint.rates.keys()].sort()) {
      const rate = checkpoint.rates.get(validator)!;
      out.rates[validator] = `${rate.tokens}/${rate.shares}`;
    }
  }
  if (checkpoint.unbonding !== undefined) {
    out.unbonding = {};
    for (const key of [...checkpoint.unbonding.keys()].sort()) out.unbonding[key] = checkpoint.unbonding.get(key)!.toString();
  }
  if (checkpoint.initial !== undefined && checkpoint.initial.size > 0) {
    out.initial = {};
    for (const key of [...checkpoint.initial.keys()].sort()) out.initial[key] = checkpoint.initial.get(key)!.toString();
  }
  return JSON.stringify(out);
}
