/**
 * NEAR reads of the custody account, all at the final block's height: the
 * account's balance and storage, each pool's staked and unstaked balance,
 * the validator set; the chain's limits and what is due (pings, withdrawals).
 * Read-only: the custody account id suffices, no key.
 */
import { GarbageCollectedBlockError, UnknownBlockError } from 'near-api-js/rpc-errors';
import type * as z from 'zod';

import { ChainProtocolError } from '../errors.js';
import type { ChainLimits, DueAction, Position, Unbonding, ValidatorHealth } from '../types.js';
import { parseCheckpoint } from './checkpoint.js';
import { validatorsSchema, type Head, type NearClient } from './client.js';

/**
 * yoctoNEAR an account must hold per byte of storage it uses
 * (`storage_amount_per_byte` in nearcore's runtime config, 10^19 since
 * genesis); the account cannot spend below it.
 */
const STORAGE_AMOUNT_PER_BYTE = 10n ** 19n;

/** Every part read at the final block's height. */
export async function readPosition(client: NearClient): Promise<Position> {
  const accountId = await client.address();
  const head = await client.head();
  const account = await client.account(accountId, head.height);
  const epoch = await currentEpoch(client, head);
  const delegations: Position['delegations'] = [];
  const unbonding: Unbonding[] = [];
  let withdrawable = 0n;
  let clock: EpochClock | undefined;
  for (const pool of client.options.pools) {
    const entry = await client.poolAccount(pool, accountId, head.height);
    if (entry.staked_balance > 0n) delegations.push({ validator: pool, amount: entry.staked_balance });
    if (entry.unstaked_balance === 0n) continue;
    if (entry.can_withdraw) {
      withdrawable += entry.unstaked_balance;
    } else if (epoch === undefined) {
      // The node cannot say which epoch this is: the latest the lock can end is epochsToUnlock epochs from now.
      unbonding.push({ validator: pool, amount: entry.unstaked_balance, completesAt: head.at + client.options.epochsToUnlock * (client.options.epochDurationMs ?? FALLBACK_EPOCH_MS) });
    } else {
      clock ??= await epochClock(client, head, epoch);
      const since = await unstakeEpochsAgo(client, pool, accountId, entry.unstaked_balance, clock);
      unbonding.push({ validator: pool, amount: entry.unstaked_balance, completesAt: clock.startAt + (client.options.epochsToUnlock - since) * clock.epochMs });
    }
  }
  return {
    height: BigInt(head.height),
    at: head.at,
    liquid: account.amount,
    bonded: delegations.reduce((sum, d) => sum + d.amount, 0n),
    delegations,
    unbonding,
    withdrawable,
    pendingRewards: 0n,
    validators: epoch === undefined ? [] : health(client, epoch.set),
  };
}

/** 43,200 blocks of 1 s: used only where the node answers neither the epoch nor its blocks. */
const FALLBACK_EPOCH_MS = 43_200_000;

/** The final head's epoch: where it started, and its validator set. */
interface Epoch {
  startHeight: number;
  set: z.output<typeof validatorsSchema>;
}

/**
 * Asked by `epoch_id`: a node answers `validators` by `block_id` only for
 * the last block of an epoch, else VALIDATOR_INFO_UNAVAILABLE (nearcore
 * chain/client/src/view_client_actor.rs `GetValidatorInfo`); `[null]`
 * would be the header head's epoch, which may be one ahead of the final
 * block's. `undefined` when the node cannot tell.
 */
async function currentEpoch(client: NearClient, head: Head): Promise<Epoch | undefined> {
  let json: unknown;
  try {
    json = await client.rpc.raw('validators', { epoch_id: head.epochId });
  } catch (error) {
    if (error instanceof ChainProtocolError || (error as { retryable?: boolean }).retryable === true) throw error;
    return undefined;
  }
  const set = client.parse(validatorsSchema, json, 'validators');
  return { startHeight: set.epoch_start_height, set };
}

/** When the current epoch began, how long epochs last, and the heights where the previous ones ended. */
interface EpochClock {
  startHeight: number;
  startAt: number;
  epochMs: number;
  epochLength: number;
}

/**
 * The epoch's start time, and an epoch's duration: `epochDurationMs`, else
 * `epoch_length` blocks at the block time seen since the epoch began (or
 * over the previous epoch, right after a switch).
 */
async function epochClock(client: NearClient, head: Head, epoch: Epoch): Promise<EpochClock> {
  const { epoch_length: epochLength } = await client.protocolConfig();
  const start = await client.head(epoch.startHeight);
  let epochMs = client.options.epochDurationMs;
  if (epochMs === undefined) {
    const from = head.height > start.height ? start : await client.head(Math.max(0, epoch.startHeight - epochLength)).catch(() => undefined);
    const to = head.height > start.height ? head : start;
    epochMs = from !== undefined && to.height > from.height ? Math.round(((to.at - from.at) / (to.height - from.height)) * epochLength) : FALLBACK_EPOCH_MS;
  }
  return { startHeight: epoch.startHeight, startAt: start.at, epochMs, epochLength };
}

/**
 * How many epochs ago the custody's last `unstake` in the pool was: each
 * one locks the whole unstaked balance until its epoch + epochsToUnlock
 * (core-contracts staking-pool/src/internal.rs `inner_unstake`), and the
 * pool's `get_account` says only whether the lock has ended. While locked
 * nothing can be withdrawn, so the balance stood as now since that
 * unstake: the first epoch end back where it differs is the epoch before.
 * At most epochsToUnlock − 1 reads; a block the node lacks ends the search
 * at the latest epoch the reads so far allow. Epoch ends are taken as
 * `epoch_length` blocks apart, as nearcore starts an epoch at the first
 * block `epoch_length` heights past the last start.
 */
async function unstakeEpochsAgo(client: NearClient, pool: string, accountId: string, unstaked: bigint, clock: EpochClock): Promise<number> {
  for (let ago = 1; ago < client.options.epochsToUnlock; ago += 1) {
    const lastBlock = clock.startHeight - 1 - (ago - 1) * clock.epochLength;
    let then: bigint;
    try {
      then = (await client.poolAccount(pool, accountId, lastBlock)).unstaked_balance;
    } catch (error) {
      // No block there (before genesis, skipped, collected): the latest epoch the reads so far allow.
      if (error instanceof UnknownBlockError || error instanceof GarbageCollectedBlockError) return ago - 1;
      throw error;
    }
    if (then !== unstaked) return ago - 1;
  }
  return client.options.epochsToUnlock - 1;
}

/** Whether each pool is in the epoch's validator set. */
function health(client: NearClient, set: z.output<typeof validatorsSchema>): ValidatorHealth[] {
  return client.options.pools.map((pool) => {
    const v = set.current_validators.find((c) => c.account_id === pool);
    return { validator: pool, active: v !== undefined, jailed: v?.is_slashed === true };
  });
}

/**
 * NEAR's limits: a staking pool takes any positive deposit; an account
 * keeps its storage staked (storage_usage × storage_amount_per_byte;
 * nearcore runtime/runtime/src/verifier.rs refuses a transaction that
 * would leave less: LackBalanceForState). A pool keeps one unstaked
 * balance per account, so unbonding entries are not limited, but a new
 * `unstake` restarts the lock of everything still unstaked
 * (core-contracts staking-pool internal_unstake).
 */
export async function readLimits(client: NearClient): Promise<ChainLimits> {
  const head = await client.head();
  const [account, gasPrice] = await Promise.all([client.account(await client.address(), head.height), client.gasPrice()]);
  return {
    minStake: 1n,
    step: 1n,
    reserve: BigInt(account.storage_usage) * STORAGE_AMOUNT_PER_BYTE,
    // One unstaked balance per pool: a new `unstake` re-locks all of it (staking-pool internal.rs `inner_unstake`).
    unbondingRestarts: 'target',
    // Every pool call attaches `gas`; what it does not burn is refunded, so this is an upper bound.
    typicalFee: client.options.gas * gasPrice,
  };
}

/**
 * What is due, per pool the custody has funds in: `withdraw_all` where
 * unstaked funds are unlocked (it also pings), else a `ping` where the
 * pool was not yet measured in this epoch, so its accounting includes the
 * epoch's rewards before the harvest reads it. NEAR rewards never expire.
 */
export async function readDue(client: NearClient, checkpoint: string | null): Promise<DueAction[]> {
  const accountId = await client.address();
  const head = await client.head();
  const measured = checkpoint === null ? undefined : parseCheckpoint(checkpoint);
  const due: DueAction[] = [];
  for (const pool of client.options.pools) {
    const entry = await client.poolAccount(pool, accountId, head.height);
    if (entry.staked_balance + entry.unstaked_balance === 0n) continue;
    if (entry.can_withdraw && entry.unstaked_balance > 0n) {
      due.push({ action: { kind: 'withdraw', validator: pool }, amount: entry.unstaked_balance });
    } else if (measured?.pools[pool]?.epochId !== head.epochId) {
      due.push({ action: { kind: 'claim', validators: [pool] } });
    }
  }
  return due;
}
