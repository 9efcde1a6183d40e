/**
 * NEAR reads of the custody account, all at the final block's height: the
 * account's balance and storage, each pool's staked and unstaked balance,
 * the validator set; the chain's limits and what is due (pings, withdrawals).
 * Read-only: the custody account id suffices, no key.
 */
import { ChainProtocolError } from '../errors.js';
import type { ChainLimits, DueAction, Position, Unbonding, ValidatorHealth } from '../types.js';
import { parseCheckpoint } from './checkpoint.js';
import { validatorsSchema, type NearClient } from './client.js';

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
  const delegations: Position['delegations'] = [];
  const unbonding: Unbonding[] = [];
  let withdrawable = 0n;
  for (const pool of client.options.pools) {
    const entry = await client.poolAccount(pool, accountId, head.height);
    if (entry.staked_balance > 0n) delegations.push({ validator: pool, amount: entry.staked_balance });
    if (entry.unstaked_balance === 0n) continue;
    if (entry.can_withdraw) {
      withdrawable += entry.unstaked_balance;
    } else {
      // The pool does not say when its lock ends; `unstake` locks for epochsToUnlock epochs from the
      // current one, so the start of the epoch that many epochs ahead is a bound it never passes.
      unbonding.push({ validator: pool, amount: entry.unstaked_balance, completesAt: head.at + client.options.epochsToUnlock * client.options.epochDurationMs });
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
    validators: await health(client),
  };
}

/**
 * Whether each pool is in the current validator set; empty when the node
 * cannot tell. Asked for the latest epoch (`[null]`): a node answers
 * `validators` by `block_id` only for the last block of an epoch, else
 * VALIDATOR_INFO_UNAVAILABLE (nearcore chain/client/src/view_client_actor.rs
 * `GetValidatorInfo`).
 */
async function health(client: NearClient): Promise<ValidatorHealth[]> {
  let json: unknown;
  try {
    json = await client.rpc.raw('validators', [null]);
  } catch (error) {
    if (error instanceof ChainProtocolError || (error as { retryable?: boolean }).retryable === true) throw error;
    return [];
  }
  const set = client.parse(validatorsSchema, json, 'validators');
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
