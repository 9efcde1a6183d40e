/**
 * java-tron's JSON (framework/src/main/java/org/tron/core/services/http/JsonFormat.java
 * and Util.java) for what the devnet serves: proto field names; fields at
 * their proto3 default (0, false, empty, enum 0) left out; int64 as bare
 * JSON numbers, even past 2^53; bytes as lowercase hex, addresses as `41…`
 * hex, or base58check with `visible: true`; `Return.message` as the hex of
 * its UTF-8 text (plain with `visible: true`).
 */
import { hex, toBase58, type Contract } from './codec.js';
import { type ActuatorResult } from './actuators.js';
import { type Block, type IncludedTx } from './chain.js';
import { increase, netLimit, SLOT_MS } from './bandwidth.js';
import { type Account, allowanceOf, type ChainParams, type ChainState, sumVotes, tronPower, TRX, type Witness } from './state.js';

type Json = Record<string, unknown>;

/** JSON text with bigints as bare numbers (JsonFormat prints int64 so). */
export function tronStringify(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `__int64__${v}` : v)).replace(/"__int64__(-?\d+)"/g, '$1');
}

/** Leaves out the keys whose value is a proto3 default. */
function omitDefaults(fields: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined || v === 0 || v === 0n || v === false || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = v;
  }
  return out;
}

const address = (a: string, visible: boolean): string => (visible ? toBase58(a) : a);

/** The active permission's `operations` java-tron gives a new account (every contract type but a few). */
const ACTIVE_OPERATIONS = '7fff1fc0033efb0f000000000000000000000000000000000000000000000000';

/** `wallet/getaccount` (Wallet.getAccount): usage decayed to the head slot, consume times as ms. */
export function accountJson(state: ChainState, params: ChainParams, genesisTime: number, account: Account | undefined, visible: boolean): Json {
  if (account === undefined) return {};
  const now = Math.floor((state.dyn.latestBlockTimestamp - genesisTime) / SLOT_MS);
  const slotMs = (slot: number): number => (slot === 0 ? 0 : genesisTime + slot * SLOT_MS);
  const keys = [{ address: address(account.address, visible), weight: 1 }];
  const used = account.latestConsumeTime > 0 || account.latestConsumeFreeTime > 0;
  return omitDefaults({
    address: address(account.address, visible),
    balance: account.balance,
    votes: account.votes.map((v) => ({ vote_address: address(v.address, visible), vote_count: v.count })),
    net_usage: increase(account.netUsage, 0, account.latestConsumeTime, now),
    create_time: account.createTime,
    latest_opration_time: account.latestOperationTime,
    allowance: allowanceOf(state, account),
    latest_withdraw_time: account.latestWithdrawTime,
    free_net_usage: increase(account.freeNetUsage, 0, account.latestConsumeFreeTime, now),
    latest_consume_time: slotMs(account.latestConsumeTime),
    latest_consume_free_time: slotMs(account.latestConsumeFreeTime),
    // Shown once the account has used bandwidth (documentation-en getaccount example); when exactly java-tron first writes them is unconfirmed.
    net_window_size: used ? 28_800_000 : 0,
    net_window_optimized: used,
    owner_permission: { permission_name: 'owner', threshold: 1, keys },
    active_permission: [{ type: 'Active', id: 2, permission_name: 'active', threshold: 1, operations: ACTIVE_OPERATIONS, keys }],
    // Always the three types, sorted (AccountCapsule.sortFrozenV2List); BANDWIDTH is the enum default, so no `type`.
    frozenV2: [omitDefaults({ amount: account.frozenV2.BANDWIDTH }), omitDefaults({ type: 'ENERGY', amount: account.frozenV2.ENERGY }), omitDefaults({ type: 'TRON_POWER', amount: account.frozenV2.TRON_POWER })],
    unfrozenV2: account.unfrozenV2.map((u) => omitDefaults({ type: u.type === 'BANDWIDTH' ? undefined : u.type, unfreeze_amount: u.amount, unfreeze_expire_time: u.expireTime })),
  });
}

/** `wallet/getaccountresource` (Wallet.getAccountResource). */
export function accountResourceJson(state: ChainState, params: ChainParams, genesisTime: number, account: Account | undefined): Json {
  if (account === undefined) return {};
  const now = Math.floor((state.dyn.latestBlockTimestamp - genesisTime) / SLOT_MS);
  return omitDefaults({
    freeNetUsed: increase(account.freeNetUsage, 0, account.latestConsumeFreeTime, now),
    freeNetLimit: params.freeNetLimit,
    NetUsed: increase(account.netUsage, 0, account.latestConsumeTime, now),
    NetLimit: netLimit(state, params, account),
    TotalNetLimit: params.totalNetLimit,
    TotalNetWeight: state.dyn.totalNetWeight,
    tronPowerUsed: sumVotes(account.votes),
    tronPowerLimit: tronPower(account) / TRX,
    TotalEnergyLimit: params.totalEnergyLimit,
    TotalEnergyWeight: state.dyn.totalEnergyWeight,
  });
}

function contractValue(contract: Contract, visible: boolean): Json {
  const owner_address = address(contract.owner, visible);
  switch (contract.kind) {
    case 'FreezeBalanceV2Contract':
      return omitDefaults({ owner_address, frozen_balance: contract.amount, resource: contract.resource === 'BANDWIDTH' ? undefined : contract.resource });
    case 'UnfreezeBalanceV2Contract':
      return omitDefaults({ owner_address, unfreeze_balance: contract.amount, resource: contract.resource === 'BANDWIDTH' ? undefined : contract.resource });
    case 'VoteWitnessContract':
      return { owner_address, votes: contract.votes.map((v) => ({ vote_address: address(v.address, visible), vote_count: v.count })) };
    default:
      return { owner_address };
  }
}

/** A transaction as `gettransactionbyid` prints it (Util.printCreateTransaction). `contractRet` for system contracts: believed SUCCESS, unconfirmed. */
export function transactionJson(t: IncludedTx, visible: boolean): Json {
  const { tx } = t;
  return {
    ret: [{ contractRet: 'SUCCESS' }],
    // Reprinted from the bytes: lowercase hex, whatever case the client sent.
    signature: tx.signatures.map((sig) => sig.replace(/^0x/, '').toLowerCase()),
    txID: tx.txid,
    raw_data: omitDefaults({
      contract: [{ parameter: { value: contractValue(tx.contract, visible), type_url: `type.googleapis.com/protocol.${tx.contract.kind}` }, type: tx.contract.kind }],
      ref_block_bytes: tx.refBlockBytes,
      ref_block_hash: tx.refBlockHash,
      expiration: tx.expiration,
      timestamp: tx.timestamp,
    }),
    raw_data_hex: hex(tx.raw),
    visible,
  };
}

/** `gettransactioninfobyid` (TransactionUtil.buildTransactionInfoInstance) for a system contract: no `result` (SUCESS is the enum default). */
export function transactionInfoJson(t: IncludedTx): Json {
  const r: ActuatorResult = t.result;
  return omitDefaults({
    id: t.txid,
    fee: t.bill.netFee,
    blockNumber: t.blockNumber,
    blockTimeStamp: t.blockTime,
    contractResult: [''],
    receipt: omitDefaults({ net_usage: t.bill.netUsage, net_fee: t.bill.netFee }),
    withdraw_amount: r.withdrawAmount,
    withdraw_expire_amount: r.withdrawExpireAmount,
    cancel_unfreezeV2_amount:
      r.cancelUnfreezeV2Amount === undefined ? undefined : Object.entries(r.cancelUnfreezeV2Amount).map(([key, value]) => omitDefaults({ key, value })),
  });
}

/** A block (`getnowblock`, `getblock`); `transactions` only with `detail` and when there are some. */
export function blockJson(block: Block, signature: string, transactions: IncludedTx[] | undefined, visible: boolean): Json {
  return omitDefaults({
    blockID: block.id,
    block_header: {
      raw_data: omitDefaults({
        number: block.number,
        txTrieRoot: block.txTrieRoot,
        witness_address: address(block.witness, visible),
        parentHash: block.parentHash,
        version: 34,
        timestamp: block.timestamp,
      }),
      witness_signature: signature,
    },
    transactions: transactions?.map((t) => transactionJson(t, visible)),
  });
}

/** `listwitnesses`: tallies as of the last maintenance. */
export function witnessJson(w: Witness, visible: boolean): Json {
  return omitDefaults({
    address: address(w.address, visible),
    voteCount: w.voteCount,
    url: w.url,
    totalProduced: w.totalProduced,
    totalMissed: w.totalMissed,
    latestBlockNum: w.latestBlockNum,
    latestSlotNum: w.latestSlotNum,
    isJobs: w.isJobs,
  });
}

/** `getchainparameters`: an ordered list; a parameter at 0 has no `value`. */
export function chainParametersJson(params: ChainParams): Json {
  const list: [string, number | bigint][] = [
    ['getMaintenanceTimeInterval', params.maintenanceTimeInterval],
    ['getAccountUpgradeCost', 9_999_000_000],
    ['getCreateAccountFee', 100_000],
    ['getTransactionFee', params.transactionFee],
    ['getAssetIssueFee', 1_024_000_000],
    ['getWitnessPayPerBlock', params.witnessPayPerBlock],
    ['getWitnessStandbyAllowance', 115_200_000_000],
    ['getCreateNewAccountFeeInSystemContract', 1_000_000],
    ['getCreateNewAccountBandwidthRate', 1],
    ['getAllowCreationOfContracts', 1],
    ['getRemoveThePowerOfTheGr', -1],
    ['getEnergyFee', 100],
    ['getExchangeCreateFee', 1_024_000_000],
    ['getMaxCpuTimeOfOneTx', 80],
    ['getAllowUpdateAccountName', 0],
    ['getAllowSameTokenName', 1],
    ['getAllowDelegateResource', 1],
    ['getTotalEnergyLimit', params.totalEnergyLimit],
    ['getAllowTvmTransferTrc10', 1],
    ['getTotalEnergyCurrentLimit', params.totalEnergyLimit],
    ['getAllowMultiSign', 1],
    ['getAllowAdaptiveEnergy', 0],
    ['getFreeNetLimit', params.freeNetLimit],
    ['getTotalNetLimit', params.totalNetLimit],
    ['getChangeDelegation', 1],
    ['getWitness127PayPerBlock', params.witness127PayPerBlock],
    ['getAllowNewResourceModel', params.allowNewResourceModel],
    ['getAllowTransactionFeePool', 0],
    ['getAllowNewRewardAlgorithm', 1],
    ['getUnfreezeDelayDays', params.unfreezeDelayDays],
    ['getAllowCancelAllUnfreezeV2', 1],
  ];
  return { chainParameter: list.map(([key, value]) => (value === 0 || value === 0n ? { key } : { key, value })) };
}
