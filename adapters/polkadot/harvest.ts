/**
 * Polkadot harvest, read-only: every reward and slash the chain paid the
 * custody account in the finalized blocks since the checkpoint, as the
 * events the chain emitted (docs in events.ts), whoever triggered them: a
 * payout another account called shows like the custody's own. Blocks
 * that paid or charged the custody are found by bisection over its
 * `System.Account` entry (blocks.ts); only those blocks' events are read.
 * The checkpoint is the last block read. Needs no key.
 */
import * as z from 'zod';

import { ChainProtocolError } from '../errors.js';
import type { HarvestResult, RewardEvent } from '../types.js';
import { accountRawAt, changedBlocks, extrinsicHashes, hashAt } from './blocks.js';
import type { PolkadotClient } from './client.js';
import { custodyEvents, eventsAt, rewardEvents } from './events.js';
import { targetName } from './position.js';

const checkpointSchema = z.strictObject({ v: z.literal(1), block: z.number().int().nonnegative() });

/** Parses a checkpoint; `undefined` when it is not one of ours. */
export function parseCheckpoint(text: string): { v: 1; block: number } | undefined {
  try {
    const parsed = checkpointSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export async function harvest(client: PolkadotClient, checkpoint: string | null): Promise<HarvestResult> {
  const custody = await client.accountId();
  const head = await client.call((api) => client.head(api));
  let from: number;
  if (checkpoint === null) from = Math.min(client.options.historyFromBlock, head.number);
  else {
    const parsed = parseCheckpoint(checkpoint);
    if (parsed === undefined) throw new ChainProtocolError(client.name, 'harvest checkpoint is not a Polkadot checkpoint');
    from = parsed.block;
  }
  if (from > head.number) throw new ChainProtocolError(client.name, `harvest checkpoint block ${from} is above the finalized head ${head.number}: was the chain reset?`);
  const rawFrom = from === 0 ? '' : await accountRawAt(client, await hashAt(client, from), custody);
  const rawHead = await accountRawAt(client, head.hash, custody);
  const blocks = await changedBlocks(client, custody, from, head.number, rawFrom, rawHead);
  const events: RewardEvent[] = [];
  for (const number of blocks) {
    const hash = await hashAt(client, number);
    // The block's own runtime (api.at without a known version): old blocks may predate an upgrade.
    const { records, time } = await client.call(async (api) => eventsAt(await api.at(hash)));
    const found = custodyEvents(records, custody, client.options.mode);
    if (found.length === 0) continue;
    const txHashes = found.some((e) => e.phase !== undefined) ? await extrinsicHashes(client, hash) : [];
    events.push(...rewardEvents(found, hash, txHashes, time, (stash) => targetName(client, stash)));
  }
  return { events, checkpoint: JSON.stringify({ v: 1, block: head.number }) };
}
