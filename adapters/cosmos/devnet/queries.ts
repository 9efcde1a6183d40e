/**
 * The gRPC query services cosmjs reaches through `abci_query` (path
 * `/<service>/<method>`, protobuf request and response from cosmjs-types),
 * answered from the latest state. Errors carry the codes the SDK's gRPC
 * router gives them (NotFound → 22 "key not found", InvalidArgument → 18).
 */
import { BaseAccount } from 'cosmjs-types/cosmos/auth/v1beta1/auth';
import { QueryAccountRequest, QueryAccountResponse } from 'cosmjs-types/cosmos/auth/v1beta1/query';
import {
  QueryAllBalancesRequest,
  QueryAllBalancesResponse,
  QueryBalanceRequest,
  QueryBalanceResponse,
  QuerySpendableBalancesRequest,
  QuerySpendableBalancesResponse,
  QuerySupplyOfRequest,
  QuerySupplyOfResponse,
  QueryTotalSupplyRequest,
  QueryTotalSupplyResponse,
} from 'cosmjs-types/cosmos/bank/v1beta1/query';
import type { PageRequest, PageResponse } from 'cosmjs-types/cosmos/base/query/v1beta1/pagination';
import { PubKey as Ed25519PubKey } from 'cosmjs-types/cosmos/crypto/ed25519/keys';
import { PubKey as Secp256k1PubKey } from 'cosmjs-types/cosmos/crypto/secp256k1/keys';
import {
  QueryCommunityPoolRequest,
  QueryCommunityPoolResponse,
  QueryDelegationRewardsRequest,
  QueryDelegationRewardsResponse,
  QueryDelegationTotalRewardsRequest,
  QueryDelegationTotalRewardsResponse,
  QueryDelegatorValidatorsRequest as DistrDelegatorValidatorsRequest,
  QueryDelegatorValidatorsResponse as DistrDelegatorValidatorsResponse,
  QueryDelegatorWithdrawAddressRequest,
  QueryDelegatorWithdrawAddressResponse,
  QueryParamsRequest as DistrParamsRequest,
  QueryParamsResponse as DistrParamsResponse,
  QueryValidatorCommissionRequest,
  QueryValidatorCommissionResponse,
  QueryValidatorOutstandingRewardsRequest,
  QueryValidatorOutstandingRewardsResponse,
} from 'cosmjs-types/cosmos/distribution/v1beta1/query';
import {
  QueryDelegationRequest,
  QueryDelegationResponse,
  QueryDelegatorDelegationsRequest,
  QueryDelegatorDelegationsResponse,
  QueryDelegatorUnbondingDelegationsRequest,
  QueryDelegatorUnbondingDelegationsResponse,
  QueryDelegatorValidatorRequest,
  QueryDelegatorValidatorResponse,
  QueryDelegatorValidatorsRequest,
  QueryDelegatorValidatorsResponse,
  QueryParamsRequest,
  QueryParamsResponse,
  QueryPoolRequest,
  QueryPoolResponse,
  QueryRedelegationsRequest,
  QueryRedelegationsResponse,
  QueryUnbondingDelegationRequest,
  QueryUnbondingDelegationResponse,
  QueryValidatorDelegationsRequest,
  QueryValidatorDelegationsResponse,
  QueryValidatorRequest,
  QueryValidatorResponse,
  QueryValidatorsRequest,
  QueryValidatorsResponse,
} from 'cosmjs-types/cosmos/staking/v1beta1/query';
import { BondStatus, type DelegationResponse, type UnbondingDelegation, type Validator } from 'cosmjs-types/cosmos/staking/v1beta1/staking';
import { GetTxRequest, GetTxResponse, SimulateRequest, SimulateResponse } from 'cosmjs-types/cosmos/tx/v1beta1/service';
import { Tx } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import type { Chain } from './chain.js';
import { pendingRewards } from './distribution.js';
import { SdkError, sdkError } from './errors.js';
import { type AccountState, type ChainState, decodeBech32, type DelegationState, type RedelegationEntryState, rfc3339, timestamp, tokensFromShares, type ValidatorState } from './state.js';

/** A protobuf codec as cosmjs-types generates it. */
interface Codec<T> {
  decode(input: Uint8Array): T;
  encode(message: T): { finish(): Uint8Array };
}

type Handler = (chain: Chain, data: Uint8Array) => Uint8Array;

function route<Req, Res>(request: Codec<Req>, response: Codec<Res>, handle: (chain: Chain, req: Req) => Res): Handler {
  return (chain, data) => {
    let req: Req;
    try {
      req = request.decode(data);
    } catch (error) {
      throw sdkError('txDecode', `failed to decode the query request: ${error instanceof Error ? error.message : String(error)}`);
    }
    return response.encode(handle(chain, req)).finish();
  };
}

function notFound(message: string): SdkError {
  return sdkError('keyNotFound', `rpc error: code = NotFound desc = ${message}`);
}

function checkBech32(address: string, prefix: string, what: string): void {
  let decoded: ReturnType<typeof decodeBech32>;
  try {
    decoded = decodeBech32(address);
  } catch (error) {
    throw sdkError('invalidRequest', `rpc error: code = InvalidArgument desc = invalid ${what} address: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (decoded.prefix !== prefix) throw sdkError('invalidRequest', `rpc error: code = InvalidArgument desc = invalid ${what} address: expected prefix ${prefix}, got ${decoded.prefix}`);
}

/** offset/limit/key pagination over a list; the key is the next offset, as 8 big-endian bytes. */
function paginate<T>(items: readonly T[], page: PageRequest | undefined): { items: T[]; pagination: PageResponse } {
  let start = Number(page?.offset ?? 0n);
  if (page?.key !== undefined && page.key.length === 8) start = Number(new DataView(page.key.buffer, page.key.byteOffset, 8).getBigUint64(0));
  const limit = page?.limit !== undefined && page.limit > 0n ? Number(page.limit) : 100;
  const ordered = page?.reverse === true ? [...items].reverse() : items;
  const slice = ordered.slice(start, start + limit);
  let nextKey = new Uint8Array();
  if (start + limit < ordered.length) {
    nextKey = new Uint8Array(8);
    new DataView(nextKey.buffer).setBigUint64(0, BigInt(start + limit));
  }
  return { items: slice, pagination: { nextKey, total: page?.countTotal === true ? BigInt(items.length) : 0n } };
}

function coin(chain: Chain, amount: bigint): { denom: string; amount: string } {
  return { denom: chain.config.denom, amount: amount.toString() };
}

function decCoins(chain: Chain, dec: bigint): { denom: string; amount: string }[] {
  return dec > 0n ? [{ denom: chain.config.denom, amount: dec.toString() }] : [];
}

function accountAny(account: AccountState): { typeUrl: string; value: Uint8Array } {
  const pubKey = account.pubkey === undefined ? undefined : { typeUrl: '/cosmos.crypto.secp256k1.PubKey', value: Secp256k1PubKey.encode({ key: account.pubkey }).finish() };
  const base: BaseAccount = { address: account.address, pubKey, accountNumber: account.accountNumber, sequence: account.sequence };
  return { typeUrl: '/cosmos.auth.v1beta1.BaseAccount', value: BaseAccount.encode(base).finish() };
}

function statusOf(chain: Chain, v: ValidatorState): BondStatus {
  if (v.bonded) return BondStatus.BOND_STATUS_BONDED;
  if (v.unbondingTime > 0 && v.unbondingTime + chain.config.unbondingMs > chain.headTime) return BondStatus.BOND_STATUS_UNBONDING;
  return BondStatus.BOND_STATUS_UNBONDED;
}

function validatorProto(chain: Chain, v: ValidatorState): Validator {
  return {
    operatorAddress: v.operator,
    consensusPubkey: { typeUrl: '/cosmos.crypto.ed25519.PubKey', value: Ed25519PubKey.encode({ key: v.consensusPubkey }).finish() },
    jailed: v.jailed,
    status: statusOf(chain, v),
    tokens: v.tokens.toString(),
    delegatorShares: v.shares.toString(),
    description: { moniker: v.moniker, identity: '', website: '', securityContact: '', details: '' },
    unbondingHeight: v.unbondingHeight,
    unbondingTime: timestamp(v.unbondingTime),
    commission: {
      commissionRates: { rate: v.commissionRate.toString(), maxRate: v.maxCommissionRate.toString(), maxChangeRate: v.maxChangeRate.toString() },
      updateTime: timestamp(v.commissionUpdatedAt),
    },
    minSelfDelegation: '1',
    unbondingOnHoldRefCount: 0n,
    unbondingIds: [],
  };
}

function validatorOf(chain: Chain, address: string): ValidatorState {
  checkBech32(address, `${chain.config.prefix}valoper`, 'validator');
  const v = chain.state.validators.get(address);
  if (v === undefined) throw notFound(`validator ${address} not found`);
  return v;
}

function delegationProto(chain: Chain, d: DelegationState): DelegationResponse {
  const v = chain.state.validators.get(d.validator)!;
  return {
    delegation: { delegatorAddress: d.delegator, validatorAddress: d.validator, shares: d.shares.toString() },
    balance: coin(chain, tokensFromShares(v, d.shares)),
  };
}

function delegationsOf(state: ChainState, delegator: string): DelegationState[] {
  const out: DelegationState[] = [];
  for (const v of state.validators.keys()) {
    const d = state.delegations.get(`${delegator}/${v}`);
    if (d !== undefined) out.push(d);
  }
  return out;
}

function unbondingProtos(chain: Chain, delegator: string, validator?: string): UnbondingDelegation[] {
  const byValidator = new Map<string, UnbondingDelegation>();
  for (const e of chain.state.unbonding) {
    if (e.delegator !== delegator || (validator !== undefined && e.validator !== validator)) continue;
    let u = byValidator.get(e.validator);
    if (u === undefined) {
      u = { delegatorAddress: delegator, validatorAddress: e.validator, entries: [] };
      byValidator.set(e.validator, u);
    }
    u.entries.push({
      creationHeight: e.creationHeight,
      completionTime: timestamp(e.completionTime),
      initialBalance: e.initialBalance.toString(),
      balance: e.balance.toString(),
      unbondingId: e.id,
      unbondingOnHoldRefCount: 0n,
    });
  }
  return [...byValidator.values()];
}

function stakingParams(chain: Chain): QueryParamsResponse {
  const ms = BigInt(chain.config.unbondingMs);
  return {
    params: {
      unbondingTime: { seconds: ms / 1000n, nanos: Number(ms % 1000n) * 1_000_000 },
      maxValidators: chain.config.maxValidators,
      maxEntries: chain.config.maxEntries,
      historicalEntries: 10_000,
      bondDenom: chain.config.denom,
      minCommissionRate: '0',
    },
  };
}

function delegatorRewards(chain: Chain, delegator: string): { validator: string; pending: bigint }[] {
  return delegationsOf(chain.state, delegator).map((d) => ({ validator: d.validator, pending: pendingRewards(chain.state, d) }));
}

const HANDLERS: Record<string, Handler> = {
  '/cosmos.auth.v1beta1.Query/Account': route(QueryAccountRequest, QueryAccountResponse, (chain, req) => {
    checkBech32(req.address, chain.config.prefix, 'account');
    const account = chain.state.accounts.get(req.address);
    if (account === undefined) throw notFound(`account ${req.address} not found`);
    return { account: accountAny(account) };
  }),

  '/cosmos.bank.v1beta1.Query/Balance': route(QueryBalanceRequest, QueryBalanceResponse, (chain, req) => {
    checkBech32(req.address, chain.config.prefix, 'account');
    const amount = req.denom === chain.config.denom ? (chain.state.accounts.get(req.address)?.balance ?? 0n) : 0n;
    return { balance: { denom: req.denom, amount: amount.toString() } };
  }),
  '/cosmos.bank.v1beta1.Query/AllBalances': route(QueryAllBalancesRequest, QueryAllBalancesResponse, (chain, req) => {
    checkBech32(req.address, chain.config.prefix, 'account');
    const amount = chain.state.accounts.get(req.address)?.balance ?? 0n;
    return { balances: amount > 0n ? [coin(chain, amount)] : [], pagination: { nextKey: new Uint8Array(), total: amount > 0n ? 1n : 0n } };
  }),
  '/cosmos.bank.v1beta1.Query/SpendableBalances': route(QuerySpendableBalancesRequest, QuerySpendableBalancesResponse, (chain, req) => {
    checkBech32(req.address, chain.config.prefix, 'account');
    const amount = chain.state.accounts.get(req.address)?.balance ?? 0n;
    return { balances: amount > 0n ? [coin(chain, amount)] : [], pagination: { nextKey: new Uint8Array(), total: amount > 0n ? 1n : 0n } };
  }),
  '/cosmos.bank.v1beta1.Query/SupplyOf': route(QuerySupplyOfRequest, QuerySupplyOfResponse, (chain, req) => ({
    amount: { denom: req.denom, amount: (req.denom === chain.config.denom ? chain.state.supply : 0n).toString() },
  })),
  '/cosmos.bank.v1beta1.Query/TotalSupply': route(QueryTotalSupplyRequest, QueryTotalSupplyResponse, (chain) => ({
    supply: [coin(chain, chain.state.supply)],
    pagination: { nextKey: new Uint8Array(), total: 1n },
  })),

  '/cosmos.staking.v1beta1.Query/Validators': route(QueryValidatorsRequest, QueryValidatorsResponse, (chain, req) => {
    const wanted = req.status === '' ? undefined : req.status;
    const all = [...chain.state.validators.values()].map((v) => validatorProto(chain, v));
    const filtered = wanted === undefined ? all : all.filter((v) => BondStatus[v.status] === wanted);
    const page = paginate(filtered, req.pagination);
    return { validators: page.items, pagination: page.pagination };
  }),
  '/cosmos.staking.v1beta1.Query/Validator': route(QueryValidatorRequest, QueryValidatorResponse, (chain, req) => ({
    validator: validatorProto(chain, validatorOf(chain, req.validatorAddr)),
  })),
  '/cosmos.staking.v1beta1.Query/ValidatorDelegations': route(QueryValidatorDelegationsRequest, QueryValidatorDelegationsResponse, (chain, req) => {
    validatorOf(chain, req.validatorAddr);
    const list = [...chain.state.delegations.values()].filter((d) => d.validator === req.validatorAddr).map((d) => delegationProto(chain, d));
    const page = paginate(list, req.pagination);
    return { delegationResponses: page.items, pagination: page.pagination };
  }),
  '/cosmos.staking.v1beta1.Query/Delegation': route(QueryDelegationRequest, QueryDelegationResponse, (chain, req) => {
    checkBech32(req.delegatorAddr, chain.config.prefix, 'delegator');
    validatorOf(chain, req.validatorAddr);
    const d = chain.state.delegations.get(`${req.delegatorAddr}/${req.validatorAddr}`);
    if (d === undefined) throw notFound(`delegation with delegator ${req.delegatorAddr} not found for validator ${req.validatorAddr}`);
    return { delegationResponse: delegationProto(chain, d) };
  }),
  '/cosmos.staking.v1beta1.Query/DelegatorDelegations': route(QueryDelegatorDelegationsRequest, QueryDelegatorDelegationsResponse, (chain, req) => {
    checkBech32(req.delegatorAddr, chain.config.prefix, 'delegator');
    const page = paginate(
      delegationsOf(chain.state, req.delegatorAddr).map((d) => delegationProto(chain, d)),
      req.pagination,
    );
    return { delegationResponses: page.items, pagination: page.pagination };
  }),
  '/cosmos.staking.v1beta1.Query/DelegatorUnbondingDelegations': route(QueryDelegatorUnbondingDelegationsRequest, QueryDelegatorUnbondingDelegationsResponse, (chain, req) => {
    checkBech32(req.delegatorAddr, chain.config.prefix, 'delegator');
    const page = paginate(unbondingProtos(chain, req.delegatorAddr), req.pagination);
    return { unbondingResponses: page.items, pagination: page.pagination };
  }),
  '/cosmos.staking.v1beta1.Query/UnbondingDelegation': route(QueryUnbondingDelegationRequest, QueryUnbondingDelegationResponse, (chain, req) => {
    checkBech32(req.delegatorAddr, chain.config.prefix, 'delegator');
    validatorOf(chain, req.validatorAddr);
    const found = unbondingProtos(chain, req.delegatorAddr, req.validatorAddr)[0];
    if (found === undefined) throw notFound(`unbonding delegation with delegator ${req.delegatorAddr} not found for validator ${req.validatorAddr}`);
    return { unbond: found };
  }),
  '/cosmos.staking.v1beta1.Query/Redelegations': route(QueryRedelegationsRequest, QueryRedelegationsResponse, (chain, req) => {
    checkBech32(req.delegatorAddr, chain.config.prefix, 'delegator');
    // cosmos-sdk x/staking/keeper/grpc_query.go (Redelegations): one response per (src, dst) pair, its entries with balances.
    const pairs = new Map<string, { src: string; dst: string; entries: RedelegationEntryState[] }>();
    for (const r of chain.state.redelegations) {
      if (r.delegator !== req.delegatorAddr) continue;
      if (req.srcValidatorAddr !== '' && r.source !== req.srcValidatorAddr) continue;
      if (req.dstValidatorAddr !== '' && r.destination !== req.dstValidatorAddr) continue;
      const key = `${r.source}/${r.destination}`;
      const pair = pairs.get(key) ?? { src: r.source, dst: r.destination, entries: [] };
      pair.entries.push(r);
      pairs.set(key, pair);
    }
    const list = [...pairs.values()].map((p) => {
      const dst = chain.state.validators.get(p.dst)!;
      const raw = p.entries;
      const entries = raw.map((e) => ({
        creationHeight: e.creationHeight,
        completionTime: timestamp(e.completionTime),
        initialBalance: e.initialBalance.toString(),
        sharesDst: e.sharesDst.toString(),
        unbondingId: 0n,
        unbondingOnHoldRefCount: 0n,
      }));
      return {
        redelegation: { delegatorAddress: req.delegatorAddr, validatorSrcAddress: p.src, validatorDstAddress: p.dst, entries },
        entries: entries.map((e, i) => ({ redelegationEntry: e, balance: tokensFromShares(dst, raw[i]!.sharesDst).toString() })),
      };
    });
    const page = paginate(list, req.pagination);
    return { redelegationResponses: page.items, pagination: page.pagination };
  }),
  '/cosmos.staking.v1beta1.Query/DelegatorValidators': route(QueryDelegatorValidatorsRequest, QueryDelegatorValidatorsResponse, (chain, req) => {
    checkBech32(req.delegatorAddr, chain.config.prefix, 'delegator');
    const list = delegationsOf(chain.state, req.delegatorAddr).map((d) => validatorProto(chain, chain.state.validators.get(d.validator)!));
    const page = paginate(list, req.pagination);
    return { validators: page.items, pagination: page.pagination };
  }),
  '/cosmos.staking.v1beta1.Query/DelegatorValidator': route(QueryDelegatorValidatorRequest, QueryDelegatorValidatorResponse, (chain, req) => {
    const v = validatorOf(chain, req.validatorAddr);
    if (!chain.state.delegations.has(`${req.delegatorAddr}/${req.validatorAddr}`)) throw notFound('no delegation for (address, validator) tuple');
    return { validator: validatorProto(chain, v) };
  }),
  '/cosmos.staking.v1beta1.Query/Pool': route(QueryPoolRequest, QueryPoolResponse, (chain) => {
    let bonded = 0n;
    let notBonded = 0n;
    for (const v of chain.state.validators.values()) {
      if (v.bonded) bonded += v.tokens;
      else notBonded += v.tokens;
    }
    for (const e of chain.state.unbonding) notBonded += e.balance;
    return { pool: { bondedTokens: bonded.toString(), notBondedTokens: notBonded.toString() } };
  }),
  '/cosmos.staking.v1beta1.Query/Params': route(QueryParamsRequest, QueryParamsResponse, (chain) => stakingParams(chain)),

  '/cosmos.distribution.v1beta1.Query/DelegationTotalRewards': route(QueryDelegationTotalRewardsRequest, QueryDelegationTotalRewardsResponse, (chain, req) => {
    checkBech32(req.delegatorAddress, chain.config.prefix, 'delegator');
    const rewards = delegatorRewards(chain, req.delegatorAddress);
    const total = rewards.reduce((sum, r) => sum + r.pending, 0n);
    return { rewards: rewards.map((r) => ({ validatorAddress: r.validator, reward: decCoins(chain, r.pending) })), total: decCoins(chain, total) };
  }),
  '/cosmos.distribution.v1beta1.Query/DelegationRewards': route(QueryDelegationRewardsRequest, QueryDelegationRewardsResponse, (chain, req) => {
    checkBech32(req.delegatorAddress, chain.config.prefix, 'delegator');
    checkBech32(req.validatorAddress, `${chain.config.prefix}valoper`, 'validator');
    if (!chain.state.validators.has(req.validatorAddress)) throw sdkError('distrNoValidator', req.validatorAddress);
    const d = chain.state.delegations.get(`${req.delegatorAddress}/${req.validatorAddress}`);
    if (d === undefined) throw sdkError('distrNoDelegation');
    return { rewards: decCoins(chain, pendingRewards(chain.state, d)) };
  }),
  '/cosmos.distribution.v1beta1.Query/DelegatorValidators': route(DistrDelegatorValidatorsRequest, DistrDelegatorValidatorsResponse, (chain, req) => {
    checkBech32(req.delegatorAddress, chain.config.prefix, 'delegator');
    return { validators: delegationsOf(chain.state, req.delegatorAddress).map((d) => d.validator) };
  }),
  '/cosmos.distribution.v1beta1.Query/DelegatorWithdrawAddress': route(QueryDelegatorWithdrawAddressRequest, QueryDelegatorWithdrawAddressResponse, (chain, req) => {
    checkBech32(req.delegatorAddress, chain.config.prefix, 'delegator');
    return { withdrawAddress: req.delegatorAddress };
  }),
  '/cosmos.distribution.v1beta1.Query/ValidatorCommission': route(QueryValidatorCommissionRequest, QueryValidatorCommissionResponse, (chain, req) => ({
    commission: { commission: decCoins(chain, validatorOf(chain, req.validatorAddress).commission) },
  })),
  '/cosmos.distribution.v1beta1.Query/ValidatorOutstandingRewards': route(QueryValidatorOutstandingRewardsRequest, QueryValidatorOutstandingRewardsResponse, (chain, req) => ({
    rewards: { rewards: decCoins(chain, validatorOf(chain, req.validatorAddress).outstanding) },
  })),
  '/cosmos.distribution.v1beta1.Query/CommunityPool': route(QueryCommunityPoolRequest, QueryCommunityPoolResponse, (chain) => ({
    pool: decCoins(chain, chain.state.communityPool),
  })),
  '/cosmos.distribution.v1beta1.Query/Params': route(DistrParamsRequest, DistrParamsResponse, (chain) => ({
    params: { communityTax: chain.config.rewards.communityTax.toString(), baseProposerReward: '0', bonusProposerReward: '0', withdrawAddrEnabled: true },
  })),

  '/cosmos.tx.v1beta1.Service/Simulate': route(SimulateRequest, SimulateResponse, (chain, req) => {
    const out = chain.simulate(req.txBytes);
    return {
      gasInfo: { gasWanted: 0n, gasUsed: out.gasUsed },
      result: { data: new Uint8Array(), log: out.log, events: out.events, msgResponses: [] },
    };
  }),
  '/cosmos.tx.v1beta1.Service/GetTx': route(GetTxRequest, GetTxResponse, (chain, req) => {
    const record = chain.txs.get(req.hash.toUpperCase());
    if (record === undefined) throw notFound(`tx not found: ${req.hash}`);
    const tx = Tx.decode(record.bytes);
    return {
      tx,
      txResponse: {
        height: record.height,
        txhash: record.hash,
        codespace: record.codespace,
        code: record.code,
        data: Buffer.from(record.data).toString('hex').toUpperCase(),
        rawLog: record.log,
        logs: [],
        info: '',
        gasWanted: record.gasWanted,
        gasUsed: record.gasUsed,
        tx: { typeUrl: '/cosmos.tx.v1beta1.Tx', value: Tx.encode(tx).finish() },
        timestamp: rfc3339(record.time).replace(/\.\d+Z$/, 'Z'),
        events: record.events,
      },
    };
  }),
};

/** The outcome of an ABCI query, as `abci_query` reports it. */
export interface AbciQueryResult {
  code: number;
  codespace: string;
  log: string;
  value: Uint8Array;
  height: bigint;
}

/** Answers an ABCI query at the latest height. */
export function abciQuery(chain: Chain, path: string, data: Uint8Array, height: bigint | undefined): AbciQueryResult {
  chain.catchUp();
  const latest = chain.height;
  const fail = (error: SdkError): AbciQueryResult => ({ code: error.code, codespace: error.codespace, log: error.log, value: new Uint8Array(), height: latest });
  if (height !== undefined && height !== 0n && height !== latest) {
    return fail(sdkError('invalidHeight', `this devnet keeps only the latest state (height ${latest}); cannot query height ${height}`));
  }
  const handler = HANDLERS[path];
  if (handler === undefined) return fail(sdkError('unknownRequest', `no such query path: ${path}; unknown query path`));
  try {
    return { code: 0, codespace: '', log: '', value: handler(chain, data), height: latest };
  } catch (error) {
    if (error instanceof SdkError) return fail(error);
    throw error;
  }
}
