/**
 * The TRON harvest checkpoint: the `latest_withdraw_time` whose
 * WithdrawBalance has been reported. `harvest` moves it; `due` reads it, so
 * no claim is sent while the last one is still unreported (a second claim
 * would overwrite the stamp that is the harvest's only way to find the first).
 */
import * as z from 'zod';

import { ChainProtocolError } from '../errors.js';
import type { TronClient } from './client.js';

const checkpointSchema = z.strictObject({ v: z.literal(1), withdrawTime: z.number().int().nonnegative() });

/** What `harvest` hands back: the `latest_withdraw_time` whose claim has been reported. */
export interface TronCheckpoint {
  v: 1;
  withdrawTime: number;
}

export function parseCheckpoint(client: TronClient, text: string | null): TronCheckpoint {
  if (text === null) return { v: 1, withdrawTime: 0 };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ChainProtocolError(client.name, 'harvest checkpoint is not JSON');
  }
  const parsed = checkpointSchema.safeParse(json);
  if (!parsed.success) throw new ChainProtocolError(client.name, `harvest checkpoint is not a TRON checkpoint: ${text.slice(0, 100)}`);
  return parsed.data;
}

export function formatCheckpoint(checkpoint: TronCheckpoint): string {
  return JSON.stringify({ v: checkpoint.v, withdrawTime: checkpoint.withdrawTime });
}
