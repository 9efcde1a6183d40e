/**
 * TRON harvest, read-only: a reward is what a WithdrawBalance paid the
 * custody account, `withdraw_amount` in that transaction's info, its id the
 * txid. Voting and unfreezing only settle rewards into `allowance`; nothing
 * reaches the balance but a WithdrawBalance, and no slash touches a voter.
 *
 * java-tron keeps no index of an account's transactions, but it stamps
 * each WithdrawBalance on the account: `latest_withdraw_time` is the
 * latest block header's time when it ran (WithdrawBalanceActuator), i.e.
 * the time of the block before the one holding it. The checkpoint keeps the
 * last one seen; when the solidified account shows a later one, the
 * harvest finds that block by its time (a guess from the 3 s slots, then a
 * binary search over headers where slots were missed), takes the custody's
 * WithdrawBalance from it, and reads its info.
 *
 * So a harvest sees only the latest claim since its checkpoint: a second
 * claim before the harvest would overwrite the stamp of the first, and its
 * payment would go unreported. `due(checkpoint)` therefore lists no claim
 * while `latest_withdraw_time` is newer than the checkpoint's (the last
 * claim not yet harvested, say because harvests failed for a day): the
 * daemon's claims are at most one per harvest, whatever fails between
 * them. A WithdrawBalance sent by hand, outside the daemon, can still
 * overwrite an unharvested one (stated limit: claim only through softstake).
 */
import * as z from 'zod';

import { ChainProtocolError } from '../errors.js';
import type { HarvestResult, RewardEvent } from '../types.js';
import { formatCheckpoint, parseCheckpoint } from './checkpoint.js';
import { BLOCK_MS, type Head, type TronClient } from './client.js';
import { readSolid } from './position.js';

const detailSchema = z
  .object({
    blockID: z.string().optional(),
    transactions: z
      .array(
        z
          .object({
            txID: z.string(),
            raw_data: z.object({ contract: z.array(z.object({ type: z.string(), parameter: z.object({ value: z.object({ owner_address: z.string().optional() }).loose() }).loose() }).loose()) }).loose(),
          })
          .loose(),
      )
      .optional(),
  })
  .loose();

/** The first solidified block whose time is after `time` (the one whose parent is at `time`), at or below `head`. */
async function blockAfter(client: TronClient, time: number, head: Head): Promise<bigint> {
  if (head.at <= time) throw new ChainProtocolError(client.name, `latest_withdraw_time ${time} is not before the solidified block ${head.number} (${head.at})`);
  const times = new Map<bigint, number>([[head.number, head.at]]);
  const timeOf = async (n: bigint): Promise<number> => {
    let at = times.get(n);
    if (at === undefined) {
      at = (await client.header('solid', n)).at;
      times.set(n, at);
    }
    return at;
  };
  // Mainnet blocks are ≥ 3 s apart, so the block after `time` is at least this low; with no slot missed it is exactly here.
  const guess = head.number - BigInt(Math.floor((head.at - time) / BLOCK_MS)) + 1n;
  let lo = guess < 1n ? 1n : guess > head.number ? head.number : guess;
  if ((await timeOf(lo)) > time && (lo === 1n || (await timeOf(lo - 1n)) <= time)) return lo;
  let hi = head.number;
  if ((await timeOf(lo)) > time) {
    // Blocks closer than 3 s (a devnet): the block is below the guess.
    hi = lo;
    lo = 1n;
  }
  while (lo < hi) {
    const mid = (lo + hi) / 2n;
    if ((await timeOf(mid)) > time) hi = mid;
    else lo = mid + 1n;
  }
  return lo;
}

/** The custody's WithdrawBalance in block `number`. */
async function claimIn(client: TronClient, number: bigint, owner: string): Promise<string | undefined> {
  const block = client.parse(detailSchema, await client.solid('getblock', { id_or_num: number.toString(), detail: true }), `block ${number}`);
  for (const t of block.transactions ?? []) {
    const contract = t.raw_data.contract[0];
    if (contract?.type === 'WithdrawBalanceContract' && contract.parameter.value.owner_address?.toLowerCase() === owner) return t.txID;
  }
  return undefined;
}

export async function harvest(client: TronClient, checkpointText: string | null): Promise<HarvestResult> {
  const checkpoint = parseCheckpoint(client, checkpointText);
  const { head, account } = await readSolid(client);
  const withdrawTime = account?.latest_withdraw_time ?? 0;
  if (withdrawTime < checkpoint.withdrawTime) {
    throw new ChainProtocolError(client.name, `the custody account's latest_withdraw_time ${withdrawTime} is before the harvest checkpoint's ${checkpoint.withdrawTime}: was the chain reset?`);
  }
  const events: RewardEvent[] = [];
  if (withdrawTime > checkpoint.withdrawTime) {
    const owner = await client.hexAddress();
    const number = await blockAfter(client, withdrawTime, head);
    const txid = await claimIn(client, number, owner);
    if (txid === undefined) throw new ChainProtocolError(client.name, `latest_withdraw_time ${withdrawTime} names block ${number}, which holds no WithdrawBalance of the custody account`);
    const info = await client.info(txid);
    if (info === undefined || info.blockTimeStamp === undefined) throw new ChainProtocolError(client.name, `WithdrawBalance ${txid} in solidified block ${number} has no info`);
    const amount = info.withdraw_amount ?? 0n;
    if (amount > 0n) events.push({ id: txid, amount, at: info.blockTimeStamp });
  }
  return { events, checkpoint: formatCheckpoint({ v: 1, withdrawTime }) };
}
