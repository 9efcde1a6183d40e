/**
 * Abandoning an open intent: the operator's way out when an intent is stuck
 * (resuming it fails with an error no retry fixes, so the chain signs
 * nothing new). Refused unless the chain itself shows that the intent's
 * bytes were not included and never can be: `status()` says `expired` (past
 * their expiry at a finalized height, or their nonce or sequence used by
 * another transaction). Then the intent becomes `abandoned`, with who, when
 * and why, and no longer blocks planning; the rest of its action is never
 * signed. Everything runs under the chain's signer lock, so no worker is
 * resuming the intent meanwhile.
 */
import type pg from 'pg';

import type { ChainAdapter } from '../../adapters/types.js';
import { LedgerInputError } from '../errors.js';
import { loadIntent, signedOf, type TxIntent } from './intents.js';
import { lockHeld, SignerLockLostError, withSignerLock, type SignerLockOptions } from './signerLock.js';

/** Who abandons an intent, and why; both are kept on it. */
export interface Abandonment {
  /** The operator (a name, an email). */
  by: string;
  /** Why; an incident link is a good reason. */
  reason: string;
  /** When, ms (the caller's clock). */
  at: number;
}

/**
 * The intent cannot be abandoned (not open, or the chain may still include
 * it, or did). Refused input, nothing changed (the CLI exits 65).
 */
export class AbandonRefusedError extends LedgerInputError {
  constructor(
    readonly intent: string,
    message: string,
  ) {
    super(`intent ${intent}: ${message}`);
  }
}

/**
 * Abandons open intent `id` once the chain shows it can never be included.
 * @param adapters - by chain name; the intent's chain must be among them.
 * @returns the intent as stored now.
 * @throws AbandonRefusedError naming why it was refused (nothing changed).
 */
export async function abandonIntent(
  pool: pg.Pool,
  adapters: ReadonlyMap<string, ChainAdapter>,
  id: string,
  who: Abandonment,
  options: SignerLockOptions = {},
): Promise<TxIntent> {
  if (who.by.trim() === '') throw new AbandonRefusedError(id, 'say who abandons it');
  if (who.reason.trim() === '') throw new AbandonRefusedError(id, 'say why it is abandoned');
  const found = await loadIntent(pool, id);
  if (found === undefined) throw new AbandonRefusedError(id, 'no such intent');
  const adapter = adapters.get(found.chain);
  if (adapter === undefined) throw new AbandonRefusedError(id, `its chain ${found.chain} is not in the config, so the chain cannot be asked about it`);

  return withSignerLock(
    pool,
    found.chain,
    async (lock) => {
      const intent = await loadIntent(lock.client, id);
      if (intent === undefined) throw new AbandonRefusedError(id, 'no such intent');
      if (intent.status !== 'signed') throw new AbandonRefusedError(id, `it is ${intent.status}; only an open (signed) intent can be abandoned`);
      const status = await adapter.status(signedOf(intent));
      switch (status.state) {
        case 'included':
          throw new AbandonRefusedError(id, `the chain included ${intent.txHash} at height ${status.receipt.height}; the next rebalance or harvest books it`);
        case 'failed':
          throw new AbandonRefusedError(id, `the chain included ${intent.txHash} and it failed; the next rebalance or harvest books its fee`);
        case 'pending':
          throw new AbandonRefusedError(
            id,
            `the chain may still include ${intent.txHash} (it is neither expired nor is its nonce used by another transaction); abandoning it could let it land unrecorded`,
          );
        case 'expired':
          break;
      }
      const { rowCount } = await lock.client.query(
        `UPDATE tx_intents SET status = 'abandoned', abandoned_by = $3, abandoned_at = to_timestamp($4::bigint / 1000.0), abandon_reason = $5, updated_at = now()
          WHERE id = $1 AND status = 'signed' AND tx_hash = $2 AND ${lockHeld('$6::text')}`,
        [id, intent.txHash, who.by.trim().slice(0, 200), who.at, who.reason.trim().slice(0, 2000), intent.chain],
      );
      if (rowCount !== 1) throw new SignerLockLostError(intent.chain);
      const { bytes: _bytes, ...stored } = (await loadIntent(lock.client, id))!;
      return stored;
    },
    options,
  );
}
