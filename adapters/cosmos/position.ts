/**
 * Cosmos reads of the custody account, all at one height: bank balance,
 * delegations, unbonding entries, pending rewards and validator health are
 * asked at the height of the latest block, so the position is one state of
 * the chain, not parts of several (a node answers each unpinned query at
 * whatever height it has committed when the query arrives). Read-only: the
 * custody address suffices, no key.
 */
import { QueryBalanceRequest, QueryBalanceResponse } from 'cosmjs-types/cosmos/bank/v1beta1/query';
import { QueryDelegationTotalRewardsRequest, QueryDelegationTotalRewardsResponse } from 'cosmjs-types/cosmos/distribution/v1beta1/query';
import {
  QueryDelegatorDelegationsRequest,
  QueryDelegatorDelegationsResponse,
  QueryDelegatorUnbondingDelegationsRequest,
  QueryDelegatorUnbondingDelegationsResponse,
  QueryDelegatorValidatorsRequest,
  QueryDelegatorValidatorsResponse,
  QueryParamsRequest,
  QueryParamsResponse,
  QueryValidatorRequest,
  QueryValidatorResponse,
} from 'cosmjs-types/cosmos/staking/v1beta1/query';
import { BondStatus, type Validator } from 'cosmjs-types/cosmos/staking/v1beta1/staking';
import { calculateFee } from '@cosmjs/stargate';
import { RetryableError } from '../../src/errors.js';
import { ChainProtocolError } from '../errors.js';
import type { ChainLimits, DueAction, Position, Unbonding, ValidatorHealth, ValidatorStake } from '../types.js';
import { decToBps, intAmount, timestampMs, truncateDec } from './amounts.js';
import { nodeProblems } from './node.js';
import { abciFailure, HeightMovedError, isNotFound, MAX_QUERY_PAGES, type CosmosClient } from './client.js';

/** How often a position is read afresh when the chain moved past the height it was pinned to. */
const PIN_ATTEMPTS = 5;

/** Pages of a paginated query at one height, as long as the node gives a next key. */
export async function pages<Res extends { pagination?: { nextKey: Uint8Array } }>(
  client: CosmosClient,
  what: string,
  path: string,
  encode: (key: Uint8Array | undefined) => Uint8Array,
  decode: (bytes: Uint8Array) => Res,
  height: bigint | undefined,
  each: (page: Res) => void,
): Promise<bigint> {
  let key: Uint8Array | undefined;
  let at = height;
  for (let page = 0; page < MAX_QUERY_PAGES; page += 1) {
    const answer = await client.query(what, path, encode(key), decode, at);
    // Later pages at the first page's height, so the pages agree.
    at ??= answer.height;
    each(answer.value);
    key = answer.value.pagination?.nextKey;
    if (key === undefined || key.length === 0) return at;
  }
  throw new ChainProtocolError(client.name, `more than ${MAX_QUERY_PAGES} pages of ${what}`);
}

/** Bonded stake per validator, in the staking denom; and the height it was read at. */
export async function readDelegations(client: CosmosClient, address: string, height?: bigint): Promise<{ stakes: Map<string, bigint>; height: bigint }> {
  const stakes = new Map<string, bigint>();
  const at = await pages(
    client,
    'staking delegations',
    '/cosmos.staking.v1beta1.Query/DelegatorDelegations',
    (key) => QueryDelegatorDelegationsRequest.encode(QueryDelegatorDelegationsRequest.fromPartial({ delegatorAddr: address, pagination: key === undefined ? undefined : { key } })).finish(),
    (bytes) => QueryDelegatorDelegationsResponse.decode(bytes),
    height,
    (page) => {
      for (const d of page.delegationResponses) {
        const validator = d.delegation?.validatorAddress;
        if (validator === undefined || validator === '') throw new ChainProtocolError(client.name, 'malformed delegations: a delegation without a validator');
        const amount = d.balance !== undefined && d.balance.denom === client.options.denom ? intAmount(d.balance.amount) : 0n;
        stakes.set(validator, (stakes.get(validator) ?? 0n) + amount);
      }
    },
  );
  return { stakes, height: at };
}

/** One unbonding entry as the chain keeps it, with what slashing took from it (`initial − balance`). */
export interface UnbondingEntry extends Unbonding {
  validator: string;
  creationHeight: bigint;
  initialBalance: bigint;
}

/** The account's unbonding entries at `height` (the latest where absent). */
export async function readUnbondingEntries(client: CosmosClient, address: string, height?: bigint): Promise<UnbondingEntry[]> {
  const entries: UnbondingEntry[] = [];
  await pages(
    client,
    'staking unbonding delegations',
    '/cosmos.staking.v1beta1.Query/DelegatorUnbondingDelegations',
    (key) => QueryDelegatorUnbondingDelegationsRequest.encode(QueryDelegatorUnbondingDelegationsRequest.fromPartial({ delegatorAddr: address, pagination: key === undefined ? undefined : { key } })).finish(),
    (bytes) => QueryDelegatorUnbondingDelegationsResponse.decode(bytes),
    height,
    (page) => {
      for (const u of page.unbondingResponses) {
        for (const entry of u.entries) {
          if (entry.completionTime === undefined) throw new ChainProtocolError(client.name, 'malformed unbonding delegations: an entry without a completion time');
          const amount = intAmount(entry.balance);
          // An entry slashed to nothing still counts against max_entries until it completes.
          entries.push({ validator: u.validatorAddress, amount, completesAt: timestampMs(entry.completionTime), creationHeight: entry.creationHeight, initialBalance: intAmount(entry.initialBalance) });
        }
      }
    },
  );
  return entries;
}

/** Pending rewards per validator, each truncated to whole units: what a withdrawal would pay now. */
export async function readPendingRewards(client: CosmosClient, address: string, height?: bigint): Promise<Map<string, bigint>> {
  const { value } = await client.query(
    'distribution rewards',
    '/cosmos.distribution.v1beta1.Query/DelegationTotalRewards',
    QueryDelegationTotalRewardsRequest.encode({ delegatorAddress: address }).finish(),
    (bytes) => QueryDelegationTotalRewardsResponse.decode(bytes),
    height,
  );
  return client.parse('delegation rewards', () => {
    const pending = new Map<string, bigint>();
    for (const r of value.rewards) {
      const amount = r.reward.filter((coin) => coin.denom === client.options.denom).reduce((sum, coin) => sum + truncateDec(coin.amount), 0n);
      pending.set(r.validatorAddress, (pending.get(r.validatorAddress) ?? 0n) + amount);
    }
    return pending;
  });
}

function health(client: CosmosClient, validator: Validator): ValidatorHealth {
  const result: ValidatorHealth = {
    validator: validator.operatorAddress,
    jailed: validator.jailed,
    active: validator.status === BondStatus.BOND_STATUS_BONDED && !validator.jailed,
  };
  const rate = validator.commission?.commissionRates?.rate;
  if (rate !== undefined && rate !== '') result.commissionBps = client.parse(`commission of ${validator.operatorAddress}`, () => decToBps(rate));
  return result;
}

/** One validator at `height`; a ChainProtocolError when the chain has none by that address. */
export async function readValidator(client: CosmosClient, operator: string, height?: bigint): Promise<Validator> {
  const missing = (): ChainProtocolError => new ChainProtocolError(client.name, `configured validator ${operator} does not exist on ${client.options.chainId}`);
  let answer: QueryValidatorResponse;
  try {
    ({ value: answer } = await client.query(
      `staking validator ${operator}`,
      '/cosmos.staking.v1beta1.Query/Validator',
      QueryValidatorRequest.encode({ validatorAddr: operator }).finish(),
      (bytes) => QueryValidatorResponse.decode(bytes),
      height,
    ));
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause ?? error;
    if (abciFailure(cause) !== undefined && isNotFound(cause)) throw missing();
    throw error;
  }
  if (answer.validator === undefined) throw missing();
  return answer.validator;
}

/** Health of the validators the account is bonded to, plus the configured ones. */
async function readHealth(client: CosmosClient, address: string, height: bigint): Promise<ValidatorHealth[]> {
  const found = new Map<string, ValidatorHealth>();
  await pages(
    client,
    'staking delegator validators',
    '/cosmos.staking.v1beta1.Query/DelegatorValidators',
    (key) => QueryDelegatorValidatorsRequest.encode(QueryDelegatorValidatorsRequest.fromPartial({ delegatorAddr: address, pagination: key === undefined ? undefined : { key } })).finish(),
    (bytes) => QueryDelegatorValidatorsResponse.decode(bytes),
    height,
    (page) => {
      for (const v of page.validators) found.set(v.operatorAddress, health(client, v));
    },
  );
  for (const operator of client.options.validators) {
    if (!found.has(operator)) found.set(operator, health(client, await readValidator(client, operator, height)));
  }
  return [...found.values()].sort((a, b) => a.validator.localeCompare(b.validator));
}

async function readBalance(client: CosmosClient, address: string, height: bigint): Promise<bigint> {
  const { value } = await client.query(
    'bank balance',
    '/cosmos.bank.v1beta1.Query/Balance',
    QueryBalanceRequest.encode({ address, denom: client.options.denom }).finish(),
    (bytes) => QueryBalanceResponse.decode(bytes),
    height,
  );
  return client.parse('bank balance', () => (value.balance !== undefined && value.balance.denom === client.options.denom ? intAmount(value.balance.amount) : 0n));
}

/**
 * The custody account's position at the latest block's height. When the
 * node moves on and drops that height mid-read (a node that keeps only
 * recent state), the whole position is read again at the new head.
 */
export async function readPosition(client: CosmosClient): Promise<Position> {
  const address = await client.address();
  for (let attempt = 0; attempt < PIN_ATTEMPTS; attempt += 1) {
    const head = await client.latestBlock();
    try {
      const [liquid, { stakes }, unbonding, pending, validators, problems] = await Promise.all([
        readBalance(client, address, head.height),
        readDelegations(client, address, head.height),
        readUnbondingEntries(client, address, head.height).then((list) => list.map(({ validator, amount, completesAt }): Unbonding => ({ validator, amount, completesAt }))),
        readPendingRewards(client, address, head.height),
        readHealth(client, address, head.height),
        nodeProblems(client),
      ]);
      const delegations: ValidatorStake[] = [...stakes]
        .filter(([, amount]) => amount > 0n)
        .map(([validator, amount]) => ({ validator, amount }))
        .sort((a, b) => a.validator.localeCompare(b.validator));
      return {
        height: head.height,
        at: head.at,
        liquid,
        bonded: delegations.reduce((sum, d) => sum + d.amount, 0n),
        delegations,
        unbonding,
        // Matured unbonding entries are paid back by the staking module's EndBlocker: nothing to withdraw.
        withdrawable: 0n,
        pendingRewards: [...pending.values()].reduce((sum, amount) => sum + amount, 0n),
        validators,
        ...(problems.length > 0 ? { problems } : {}),
      };
    } catch (error) {
      if (!(error instanceof HeightMovedError)) throw error;
    }
  }
  throw new RetryableError(`${client.name}: the chain moved on during each of ${PIN_ATTEMPTS} reads of the position; reading again later`);
}

/**
 * The chain's limits: `max_entries` from the staking params (unbonding
 * entries per delegator–validator pair; x/staking keeper SetUnbondingDelegationEntry
 * refuses one more with ErrMaxUnbondingDelegationEntries). Any positive
 * amount is a valid delegation; nothing must stay liquid but gas money,
 * which the operator's `minBuffer` covers.
 */
export async function readLimits(client: CosmosClient): Promise<ChainLimits> {
  const { value } = await client.query('staking params', '/cosmos.staking.v1beta1.Query/Params', QueryParamsRequest.encode({}).finish(), (bytes) => QueryParamsResponse.decode(bytes));
  const count = value.params?.maxEntries;
  if (count === undefined || count < 1) throw new ChainProtocolError(client.name, `staking params without a max_entries (${String(count)})`);
  // A delegation's gas: the fixed limit where configured, else what one typically uses, adjusted as simulations are.
  const gas = client.options.gasLimits.delegate ?? Math.ceil(TYPICAL_DELEGATE_GAS * client.options.gasAdjustment);
  const typicalFee = BigInt(calculateFee(gas, client.options.gasPrice).amount[0]!.amount);
  return { minStake: 1n, step: 1n, maxUnbondingEntries: { count, per: 'target' }, reserve: 0n, typicalFee: typicalFee > 0n ? typicalFee : 1n };
}

/** The log of x/staking's ErrMaxUnbondingDelegationEntries (staking code 27). */
export const MAX_ENTRIES_LOG = /too many unbonding delegation entries/;

/**
 * What to tell the operator when an undelegation hits `max_entries`: the
 * limit, how many entries the validator holds and when the first frees up
 * (cosmos-sdk x/staking/keeper/delegation.go, Undelegate:
 * HasMaxUnbondingDelegationEntries).
 */
export async function maxEntriesMessage(client: CosmosClient, messages: readonly { value: unknown }[], log: string): Promise<string> {
  const validator = (messages[0]?.value as { validatorAddress?: string } | undefined)?.validatorAddress ?? '(unknown validator)';
  try {
    const [limits, entries] = await Promise.all([readLimits(client), readUnbondingEntries(client, await client.address())]);
    const open = entries.filter((e) => e.validator === validator).sort((a, b) => a.completesAt - b.completesAt);
    const first = open[0] === undefined ? '' : `; the earliest completes at ${new Date(open[0].completesAt).toISOString()}`;
    return `the chain's max_entries limit is reached: ${validator} already holds ${open.length} open unbonding entries of this account (max_entries = ${limits.maxUnbondingEntries?.count ?? '?'})${first}; undelegate from another validator or wait (chain: ${log})`;
  } catch {
    return `the chain's max_entries limit of open unbonding entries per validator is reached for ${validator} (chain: ${log})`;
  }
}

/** Gas one MsgDelegate typically uses on the Cosmos Hub (simulations answer 150–200k; more with many delegations). */
export const TYPICAL_DELEGATE_GAS = 200_000;

/**
 * What is due: one withdraw-all-rewards claim over every validator with at
 * least one whole unit pending. Cosmos rewards never expire and may be
 * claimed at any time; nothing needs withdrawing (unbonded stake comes back
 * by itself).
 */
export async function readDue(client: CosmosClient): Promise<DueAction[]> {
  const pending = await readPendingRewards(client, await client.address());
  const claim = [...pending].filter(([, amount]) => amount >= 1n).sort(([a], [b]) => a.localeCompare(b));
  if (claim.length === 0) return [];
  return [{ action: { kind: 'claim', validators: claim.map(([validator]) => validator) }, amount: claim.reduce((sum, [, amount]) => sum + amount, 0n) }];
}
