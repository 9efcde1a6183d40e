/**
 * An intent as `softstake intents list --json` and `GET /v1/intents` print
 * it: amounts as decimal strings of base units, times as ISO instants, no
 * signed bytes.
 */
import { formatInstant } from '../ledger/time.js';
import { amountOf, targetOf, type TxIntent } from './intents.js';

/** The JSON shape of one intent. */
export function intentJson(i: TxIntent) {
  return {
    id: i.id,
    actionId: i.actionId,
    step: i.step,
    steps: i.steps,
    chain: i.chain,
    asset: i.asset,
    kind: i.action.kind,
    target: targetOf(i.action) || null,
    amount: amountOf(i.action)?.toString() ?? null,
    status: i.status,
    txHash: i.txHash,
    superseded: i.superseded,
    fee: i.fee === null ? null : i.fee.toString(),
    expires: i.expires === undefined ? null : { at: i.expires.at === undefined ? null : formatInstant(i.expires.at), height: i.expires.height?.toString() ?? null },
    error: i.error,
    stuckSince: i.stuckSince === null ? null : formatInstant(i.stuckSince),
    abandoned: i.abandoned === null ? null : { by: i.abandoned.by, at: formatInstant(i.abandoned.at), reason: i.abandoned.reason },
    createdAt: formatInstant(i.createdAt),
  };
}
