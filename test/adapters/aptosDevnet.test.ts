/**
 * The Aptos devnet against the unmodified @aptos-labs/ts-sdk over HTTP: what
 * the Aptos adapter will see. Every test starts its own devnet (frozen
 * clock, 1 h epochs, 4 h lockups, a block every 10 s of chain time).
 */
import {
  AccountAuthenticatorEd25519,
  Aptos,
  AptosApiError,
  AptosConfig,
  Account,
  Ed25519PrivateKey,
  Ed25519Signature,
  generateSignedTransaction,
  generateUserTransactionHash,
  Network,
  type Ed25519Account,
  type InputEntryFunctionData,
  type SimpleTransaction,
  type UserTransactionResponse,
} from '@aptos-labs/ts-sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { devnet as aptosDevnetModule, GAS_USED, MIN_COINS_ON_SHARES_POOL, ONE_APT, startAptosDevnet, type AptosDevnet } from '../../adapters/aptos/devnet.js';

const HOUR_MS = 3_600_000;
const MAX_GAS = 10_000;

let devnet: AptosDevnet;
let aptos: Aptos;

beforeEach(async () => {
  devnet = await startAptosDevnet({ epochIntervalSecs: 3_600n, blockMs: 10_000, staking: { recurringLockupDurationSecs: 4n * 3_600n } });
  aptos = new Aptos(new AptosConfig({ network: Network.CUSTOM, fullnode: `${devnet.endpoints[0]}/v1` }));
});

afterEach(async () => {
  await devnet.close();
});

/**
 * Chain time, for expirations: the SDK's default expiry reads the local
 * clock (which a moved devnet clock leaves behind), and `getLedgerInfo`
 * is memoised for 10 s per network name, so ask the node itself.
 */
async function chainSecs(): Promise<number> {
  const info = (await (await fetch(`${devnet.endpoints[0]}/v1`)).json()) as { ledger_timestamp: string };
  return Number(BigInt(info.ledger_timestamp) / 1_000_000n);
}

async function build(sender: Ed25519Account, data: InputEntryFunctionData, expiresIn = 120): Promise<SimpleTransaction> {
  return aptos.transaction.build.simple({ sender: sender.accountAddress, data, options: { expireTimestamp: (await chainSecs()) + expiresIn, maxGasAmount: MAX_GAS } });
}

function call(fn: string, pool: string, amount: bigint): InputEntryFunctionData {
  return { function: `0x1::delegation_pool::${fn}`, functionArguments: [pool, amount] };
}

async function send(sender: Ed25519Account, data: InputEntryFunctionData): Promise<UserTransactionResponse> {
  const transaction = await build(sender, data);
  const pending = await aptos.signAndSubmitTransaction({ signer: sender, transaction });
  return (await aptos.waitForTransaction({ transactionHash: pending.hash, options: { checkSuccess: false } })) as UserTransactionResponse;
}

async function stake(pool: string, who: Ed25519Account): Promise<{ active: bigint; inactive: bigint; pendingInactive: bigint; total: bigint }> {
  const [active, inactive, pendingInactive] = (await aptos.view({ payload: { function: '0x1::delegation_pool::get_stake', functionArguments: [pool, who.accountAddress] } })).map((v) => BigInt(v as string));
  return { active: active!, inactive: inactive!, pendingInactive: pendingInactive!, total: active! + inactive! + pendingInactive! };
}

function event(tx: UserTransactionResponse, type: string): Record<string, unknown> | undefined {
  return tx.events.find((e) => e.type === type)?.data as Record<string, unknown> | undefined;
}

async function refusal(promise: Promise<unknown>): Promise<AptosApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AptosApiError);
  return error as AptosApiError;
}

describe('aptos devnet: delegation_pool over the SDK', () => {
  it('builds, simulates, signs, submits and waits for an add_stake; the fee is charged and the balance pays amount and gas', async () => {
    const alice = devnet.createAccount(5_000n * ONE_APT);
    const pool = devnet.pools[0]!;
    const amount = 1_000n * ONE_APT;
    const [fee] = await aptos.view<[string]>({ payload: { function: '0x1::delegation_pool::get_add_stake_fee', functionArguments: [pool, amount] } });
    expect(BigInt(fee)).toBeGreaterThan(0n);

    const transaction = await build(alice, call('add_stake', pool, amount));
    const [simulated] = await aptos.transaction.simulate.simple({ signerPublicKey: alice.publicKey, transaction });
    expect(simulated!.success).toBe(true);
    expect(simulated!.vm_status).toBe('Executed successfully');
    expect(devnet.balance(alice.accountAddress.toString())).toBe(5_000n * ONE_APT); // a simulation commits nothing

    const pending = await aptos.signAndSubmitTransaction({ signer: alice, transaction });
    const tx = (await aptos.waitForTransaction({ transactionHash: pending.hash })) as UserTransactionResponse;
    expect(tx.success).toBe(true);
    expect(tx.gas_used).toBe(GAS_USED['0x1::delegation_pool::add_stake']!.toString());
    expect(event(tx, '0x1::delegation_pool::AddStake')).toMatchObject({ amount_added: amount.toString(), add_stake_fee: fee });
    expect(tx.events.at(-1)!.type).toBe('0x1::transaction_fee::FeeStatement');

    const gas = BigInt(tx.gas_used) * BigInt(tx.gas_unit_price);
    expect(BigInt(await aptos.getBalance({ accountAddress: alice.accountAddress, asset: '0x1::aptos_coin::AptosCoin' }))).toBe(5_000n * ONE_APT - amount - gas);
    expect((await stake(pool, alice)).active).toBe(amount - BigInt(fee));
    expect((await aptos.getAccountInfo({ accountAddress: alice.accountAddress })).sequence_number).toBe('1');
  });

  it('returns the add-stake fee to the pool at the epoch end: the stake is worth the amount again, and it is neither reward nor loss', async () => {
    const alice = devnet.createAccount(5_000n * ONE_APT);
    const pool = devnet.pools[0]!;
    const amount = 1_000n * ONE_APT;
    const tx = await send(alice, call('add_stake', pool, amount));
    const fee = BigInt(event(tx, '0x1::delegation_pool::AddStake')!.add_stake_fee as string);
    expect((await stake(pool, alice)).active).toBe(amount - fee);

    devnet.nextEpoch();
    const after = await stake(pool, alice);
    // Within the share rounding: pending_active earns nothing this epoch, the fee pays for the shares' growth.
    expect(after.active).toBeGreaterThanOrEqual(amount - 2n);
    expect(after.active).toBeLessThanOrEqual(amount);
    const truth = devnet.truth.of(alice.accountAddress.toStringLong());
    expect(truth.net).toBe(after.total - amount);
    expect(truth.paid).toBe(0n);
  });

  it('compounds rewards by rewards_rate, proposals and commission each epoch, matching the ground truth', async () => {
    const alice = devnet.createAccount(5_000n * ONE_APT);
    const pool = devnet.pools[0]!;
    const amount = 1_000n * ONE_APT;
    await send(alice, call('add_stake', pool, amount));
    devnet.nextEpoch(); // the fee comes back; rewards start next epoch

    const start = await stake(pool, alice);
    devnet.nextEpoch();
    const one = await stake(pool, alice);
    // stake × 1598/1e8 per epoch at full performance, less 10 % commission.
    const expected = (((start.active * 1_598n) / 100_000_000n) * 9_000n) / 10_000n;
    expect(one.active - start.active).toBeGreaterThanOrEqual(expected - 2n);
    expect(one.active - start.active).toBeLessThanOrEqual(expected + 2n);

    devnet.setProposals(pool, 50n, 50n); // half the proposals fail: half the reward
    devnet.nextEpoch();
    const two = await stake(pool, alice);
    const full = (((one.active * 1_598n) / 100_000_000n) * 9_000n) / 10_000n;
    const half = two.active - one.active;
    // The commission is taken on the whole unsynced drift of the pool, so a few octas of rounding.
    expect(half * 2n).toBeGreaterThanOrEqual(full - 20n);
    expect(half * 2n).toBeLessThanOrEqual(full + 20n);

    const truth = devnet.truth.of(alice.accountAddress.toStringLong());
    expect(truth.net).toBe(two.total - amount);
    expect(truth.paid).toBeGreaterThan(0n);
    expect(devnet.truth.entries(alice.accountAddress.toStringLong()).filter((e) => e.kind === 'reward')).toHaveLength(2);
  });

  it('unlocks to pending_inactive, inactivates at the first epoch change after the lockup, withdraws, and a second withdraw succeeds silently', async () => {
    const alice = devnet.createAccount(5_000n * ONE_APT);
    const pool = devnet.pools[1]!;
    await send(alice, call('add_stake', pool, 1_000n * ONE_APT));
    devnet.nextEpoch();

    const unlock = await send(alice, call('unlock', pool, 400n * ONE_APT));
    expect(unlock.success).toBe(true);
    const unlocked = BigInt(event(unlock, '0x1::delegation_pool::UnlockStake')!.amount_unlocked as string);
    // The redeemed coins, which share rounding can leave one octa under the request.
    expect(unlocked).toBeGreaterThanOrEqual(400n * ONE_APT - 1n);
    expect(unlocked).toBeLessThanOrEqual(400n * ONE_APT);
    expect((await stake(pool, alice)).pendingInactive).toBeGreaterThanOrEqual(unlocked - 1n);
    const [ready, pendingAmount] = await aptos.view<[boolean, string]>({ payload: { function: '0x1::delegation_pool::get_pending_withdrawal', functionArguments: [pool, alice.accountAddress] } });
    expect(ready).toBe(false);
    expect(BigInt(pendingAmount)).toBe((await stake(pool, alice)).pendingInactive);

    // Nothing is withdrawable before the lockup ends: success, no event, no transfer.
    const early = await send(alice, call('withdraw', pool, 400n * ONE_APT));
    expect(early.success).toBe(true);
    expect(event(early, '0x1::delegation_pool::WithdrawStake')).toBeUndefined();

    const [lockupEnd] = await aptos.view<[string]>({ payload: { function: '0x1::stake::get_lockup_secs', functionArguments: [pool] } });
    while ((await chainSecs()) < Number(lockupEnd)) devnet.nextEpoch();
    const s = await stake(pool, alice);
    expect(s.pendingInactive).toBe(0n);
    expect(s.inactive).toBeGreaterThan(unlocked); // it earned rewards while pending_inactive
    const [withdrawable, inactive] = await aptos.view<[boolean, string]>({ payload: { function: '0x1::delegation_pool::get_pending_withdrawal', functionArguments: [pool, alice.accountAddress] } });
    expect(withdrawable).toBe(true);
    expect(BigInt(inactive)).toBe(s.inactive);

    const before = devnet.balance(alice.accountAddress.toString());
    const withdraw = await send(alice, call('withdraw', pool, s.inactive));
    const paid = BigInt(event(withdraw, '0x1::delegation_pool::WithdrawStake')!.amount_withdrawn as string);
    expect(paid).toBe(s.inactive);
    expect(devnet.balance(alice.accountAddress.toString())).toBe(before + paid - BigInt(withdraw.gas_used) * BigInt(withdraw.gas_unit_price));
    expect((await stake(pool, alice)).inactive).toBe(0n);

    const again = await send(alice, call('withdraw', pool, ONE_APT));
    expect(again.success).toBe(true);
    expect(event(again, '0x1::delegation_pool::WithdrawStake')).toBeUndefined();
    expect(again.events.map((e) => e.type)).toContain('0x1::transaction_fee::FeeStatement');
  });

  it('raises an unlock that would leave pending_inactive under 10 APT, and reactivate_stake takes an unlock back', async () => {
    const alice = devnet.createAccount(5_000n * ONE_APT);
    const pool = devnet.pools[0]!;
    await send(alice, call('add_stake', pool, 100n * ONE_APT));
    devnet.nextEpoch();
    const unlock = await send(alice, call('unlock', pool, 2n * ONE_APT));
    // Raised to 10 APT + 1 (coins_to_transfer_to_ensure_min_stake), less the redeem's rounding.
    const unlocked = BigInt(event(unlock, '0x1::delegation_pool::UnlockStake')!.amount_unlocked as string);
    expect(unlocked).toBeGreaterThanOrEqual(MIN_COINS_ON_SHARES_POOL);
    expect(unlocked).toBeLessThanOrEqual(MIN_COINS_ON_SHARES_POOL + 1n);
    expect((await stake(pool, alice)).pendingInactive).toBeGreaterThanOrEqual(MIN_COINS_ON_SHARES_POOL - 1n);
    const back = await send(alice, call('reactivate_stake', pool, unlocked));
    expect(back.success).toBe(true);
    expect((await stake(pool, alice)).pendingInactive).toBe(0n);
  });

  it('simulates without a public key (NoAccountAuthenticator), reads views as JSON too, and keeps a future sequence number until the gap fills', async () => {
    const alice = devnet.createAccount(500n * ONE_APT);
    const pool = devnet.pools[0]!;
    const first = await build(alice, call('add_stake', pool, 20n * ONE_APT));
    const [simulated] = await aptos.transaction.simulate.simple({ transaction: first });
    expect(simulated!.success).toBe(true);
    expect(await aptos.viewJson({ payload: { function: '0x1::delegation_pool::operator_commission_percentage', functionArguments: [pool] } })).toEqual(['1000']);

    const second = await aptos.transaction.build.simple({
      sender: alice.accountAddress,
      data: call('add_stake', pool, 30n * ONE_APT),
      options: { expireTimestamp: (await chainSecs()) + 120, maxGasAmount: MAX_GAS, accountSequenceNumber: 1 },
    });
    const parked = await aptos.signAndSubmitTransaction({ signer: alice, transaction: second });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await aptos.getTransactionByHash({ transactionHash: parked.hash })).type).toBe('pending_transaction');
    const now = await aptos.signAndSubmitTransaction({ signer: alice, transaction: first });
    await aptos.waitForTransaction({ transactionHash: now.hash });
    expect((await aptos.waitForTransaction({ transactionHash: parked.hash })).success).toBe(true);
    expect((await aptos.getAccountInfo({ accountAddress: alice.accountAddress })).sequence_number).toBe('2');
  });

  it('keeps the books: ground truth equals the stake growth net of add_stake and withdrawals, through unlock and withdraw', async () => {
    const alice = devnet.createAccount(5_000n * ONE_APT);
    const pool = devnet.pools[0]!;
    const key = alice.accountAddress.toStringLong();
    await send(alice, call('add_stake', pool, 300n * ONE_APT));
    devnet.nextEpoch();
    await send(alice, call('add_stake', pool, 200n * ONE_APT));
    await send(alice, call('unlock', pool, 100n * ONE_APT));
    devnet.nextEpoch();
    const [lockupEnd] = await aptos.view<[string]>({ payload: { function: '0x1::stake::get_lockup_secs', functionArguments: [pool] } });
    while ((await chainSecs()) < Number(lockupEnd)) devnet.nextEpoch();
    const withdraw = await send(alice, call('withdraw', pool, 1_000n * ONE_APT)); // more than there is: capped
    const withdrawn = BigInt(event(withdraw, '0x1::delegation_pool::WithdrawStake')!.amount_withdrawn as string);
    expect(withdrawn).toBeGreaterThan(100n * ONE_APT - 2n);
    devnet.nextEpoch();
    const now = await stake(pool, alice);
    expect(devnet.truth.of(key).net).toBe(now.total - 500n * ONE_APT + withdrawn);
    expect(devnet.truth.of(key).net).toBeGreaterThan(0n);
  });

  it('charges no fee and pays no reward once the validator has left the set; its pending_inactive is withdrawable after its last lockup', async () => {
    const alice = devnet.createAccount(5_000n * ONE_APT);
    const pool = devnet.pools[1]!;
    await send(alice, call('add_stake', pool, 200n * ONE_APT));
    devnet.nextEpoch();
    await send(alice, call('unlock', pool, 50n * ONE_APT));
    devnet.leaveValidatorSet(pool);
    devnet.nextEpoch(); // its last epoch's rewards
    expect(await aptos.view({ payload: { function: '0x1::stake::get_validator_state', functionArguments: [pool] } })).toEqual(['4']);
    expect(await aptos.view({ payload: { function: '0x1::delegation_pool::get_add_stake_fee', functionArguments: [pool, 100n * ONE_APT] } })).toEqual(['0']);
    const left = await stake(pool, alice);
    devnet.nextEpoch();
    expect(await stake(pool, alice)).toEqual(left);

    const [lockupEnd] = await aptos.view<[string]>({ payload: { function: '0x1::stake::get_lockup_secs', functionArguments: [pool] } });
    expect(await aptos.view({ payload: { function: '0x1::delegation_pool::can_withdraw_pending_inactive', functionArguments: [pool] } })).toEqual([false]);
    while ((await chainSecs()) < Number(lockupEnd)) devnet.nextEpoch();
    expect((await aptos.view({ payload: { function: '0x1::stake::get_lockup_secs', functionArguments: [pool] } }))[0]).toBe(lockupEnd); // never renewed
    expect(await aptos.view({ payload: { function: '0x1::delegation_pool::can_withdraw_pending_inactive', functionArguments: [pool] } })).toEqual([true]);
    const withdraw = await send(alice, call('withdraw', pool, left.pendingInactive));
    expect(BigInt(event(withdraw, '0x1::delegation_pool::WithdrawStake')!.amount_withdrawn as string)).toBe(left.pendingInactive);
  });
});

describe('aptos devnet: refusals in the node’s words', () => {
  it('aborts an add_stake under the 10 APT minimum on chain: committed, gas charged, sequence number used', async () => {
    const alice = devnet.createAccount(50n * ONE_APT);
    const pool = devnet.pools[0]!;
    const transaction = await build(alice, call('add_stake', pool, 5n * ONE_APT));
    const [simulated] = await aptos.transaction.simulate.simple({ signerPublicKey: alice.publicKey, transaction });
    const status = "Move abort in 0x1::delegation_pool: EDELEGATOR_ACTIVE_BALANCE_TOO_LOW(0x10008): Delegator's active balance cannot be less than `MIN_COINS_ON_SHARES_POOL`.";
    expect(simulated!.success).toBe(false);
    expect(simulated!.vm_status).toBe(status);
    const pending = await aptos.signAndSubmitTransaction({ signer: alice, transaction });
    const tx = (await aptos.waitForTransaction({ transactionHash: pending.hash, options: { checkSuccess: false } })) as UserTransactionResponse;
    expect(tx.success).toBe(false);
    expect(tx.vm_status).toBe(status);
    expect(tx.events.map((e) => e.type)).toEqual(['0x1::transaction_fee::FeeStatement']);
    expect(devnet.balance(alice.accountAddress.toString())).toBe(50n * ONE_APT - BigInt(tx.gas_used) * BigInt(tx.gas_unit_price));
    expect((await aptos.getAccountInfo({ accountAddress: alice.accountAddress })).sequence_number).toBe('1');
    await expect(aptos.waitForTransaction({ transactionHash: pending.hash })).rejects.toThrow(/EDELEGATOR_ACTIVE_BALANCE_TOO_LOW/);

    // Exactly 10 APT is under the minimum once the add-stake fee is taken.
    const ten = await send(alice, call('add_stake', pool, MIN_COINS_ON_SHARES_POOL));
    expect(ten.vm_status).toBe(status);
  });

  it('aborts stake operations while the epoch change runs (DKG): ERECONFIGURATION_IN_PROGRESS in 0x1::stake, gas paid; a no-op withdraw succeeds', async () => {
    const alice = devnet.createAccount(500n * ONE_APT);
    const pool = devnet.pools[0]!;
    const res = await fetch(`${devnet.endpoints[0]}/v1/accounts/0x1/resource/0x1::reconfiguration::Configuration`);
    const { data } = (await res.json()) as { data: { epoch: string; last_reconfiguration_time: string } };
    const dueMs = Number(BigInt(data.last_reconfiguration_time) / 1000n) + HOUR_MS;
    devnet.advance(dueMs - devnet.clock.now()); // the block at the epoch's end starts the reconfiguration
    const aborted = await send(alice, call('add_stake', pool, 20n * ONE_APT));
    expect(aborted.success).toBe(false);
    expect(aborted.vm_status).toBe('Move abort in 0x1::stake: ERECONFIGURATION_IN_PROGRESS(0x30014): Validator set change temporarily disabled because of in-progress reconfiguration.');
    expect(BigInt(aborted.gas_used)).toBeGreaterThan(0n);
    expect((await send(alice, call('withdraw', pool, ONE_APT))).success).toBe(true);
    expect(devnet.epoch()).toBe(BigInt(data.epoch));

    devnet.nextEpoch(); // DKG done: the next block finishes it
    expect(devnet.epoch()).toBe(BigInt(data.epoch) + 1n);
    expect((await send(alice, call('add_stake', pool, 20n * ONE_APT))).success).toBe(true);
  });

  it('refuses a used sequence number: 400 vm_error SEQUENCE_NUMBER_TOO_OLD', async () => {
    const alice = devnet.createAccount(50n * ONE_APT);
    const transaction = await build(alice, call('add_stake', devnet.pools[0]!, 20n * ONE_APT));
    const pending = await aptos.signAndSubmitTransaction({ signer: alice, transaction });
    await aptos.waitForTransaction({ transactionHash: pending.hash });
    const error = await refusal(aptos.signAndSubmitTransaction({ signer: alice, transaction }));
    expect(error.status).toBe(400);
    expect(error.data).toEqual({ message: 'Invalid transaction: Type: Validation Code: SEQUENCE_NUMBER_TOO_OLD', error_code: 'vm_error', vm_error_code: 3 });
  });

  it('refuses an expired transaction by chain time: TRANSACTION_EXPIRED (expiry equal to the block second is expired)', async () => {
    const alice = devnet.createAccount(50n * ONE_APT);
    const transaction = await build(alice, call('add_stake', devnet.pools[0]!, 20n * ONE_APT), 0);
    const error = await refusal(aptos.signAndSubmitTransaction({ signer: alice, transaction }));
    expect(error.data).toEqual({ message: 'Invalid transaction: Type: Validation Code: TRANSACTION_EXPIRED', error_code: 'vm_error', vm_error_code: 6 });
  });

  it('refuses a bad signature (INVALID_SIGNATURE) and a key that is not the account’s (INVALID_AUTH_KEY)', async () => {
    const alice = devnet.createAccount(50n * ONE_APT);
    const mallory = devnet.createAccount(50n * ONE_APT);
    const transaction = await build(alice, call('add_stake', devnet.pools[0]!, 20n * ONE_APT));
    const signature = aptos.transaction.sign({ signer: alice, transaction }) as AccountAuthenticatorEd25519;
    const bytes = signature.signature.toUint8Array().slice();
    bytes[0]! ^= 1;
    const forged = new AccountAuthenticatorEd25519(signature.public_key, new Ed25519Signature(bytes));
    const bad = await refusal(aptos.transaction.submit.simple({ transaction, senderAuthenticator: forged }));
    expect(bad.data).toEqual({ message: 'Invalid transaction: Type: Validation Code: INVALID_SIGNATURE', error_code: 'vm_error', vm_error_code: 1 });
    const wrongKey = await refusal(aptos.transaction.submit.simple({ transaction, senderAuthenticator: aptos.transaction.sign({ signer: mallory, transaction }) }));
    expect(wrongKey.data).toEqual({ message: 'Invalid transaction: Type: Validation Code: INVALID_AUTH_KEY', error_code: 'vm_error', vm_error_code: 2 });
  });

  it('refuses a sender that cannot pay max gas × price, and aborts a stake larger than the balance', async () => {
    const poor = devnet.createAccount(100_000n); // 0.001 APT < 10 000 × 100 octas
    const error = await refusal(aptos.signAndSubmitTransaction({ signer: poor, transaction: await build(poor, call('add_stake', devnet.pools[0]!, 20n * ONE_APT)) }));
    expect(error.data).toEqual({ message: 'Invalid transaction: Type: Validation Code: INSUFFICIENT_BALANCE_FOR_TRANSACTION_FEE', error_code: 'vm_error', vm_error_code: 5 });

    const alice = devnet.createAccount(20n * ONE_APT);
    const tx = await send(alice, call('add_stake', devnet.pools[0]!, 50n * ONE_APT));
    expect(tx.success).toBe(false);
    expect(tx.vm_status).toMatch(/^Move abort in 0x1::fungible_asset: EINSUFFICIENT_BALANCE\(0x10004\)/);
  });

  it('refuses to simulate a transaction whose signature verifies', async () => {
    const alice = devnet.createAccount(50n * ONE_APT);
    const transaction = await build(alice, call('add_stake', devnet.pools[0]!, 20n * ONE_APT));
    const pending = generateSignedTransaction({ transaction, senderAuthenticator: aptos.transaction.sign({ signer: alice, transaction }) });
    const res = await fetch(`${devnet.endpoints[0]}/v1/transactions/simulate`, { method: 'POST', headers: { 'content-type': 'application/x.aptos.signed_transaction+bcs' }, body: pending });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ message: 'Simulated transactions must not have a valid signature', error_code: 'invalid_input', vm_error_code: null });
  });
});

describe('aptos devnet: faults through the kit', () => {
  it('answers a faulted submit 503 once; the retry lands. A failed transaction pays its gas', async () => {
    const alice = devnet.createAccount(50n * ONE_APT);
    const transaction = await build(alice, call('add_stake', devnet.pools[0]!, 20n * ONE_APT));
    devnet.faults.inject({ target: 'POST /v1/transactions' }, 'http503', 1);
    const error = await refusal(aptos.signAndSubmitTransaction({ signer: alice, transaction }));
    expect(error.status).toBe(503);
    const pending = await aptos.signAndSubmitTransaction({ signer: alice, transaction });
    expect((await aptos.waitForTransaction({ transactionHash: pending.hash })).success).toBe(true);

    devnet.failNextTx();
    const failed = await send(alice, call('add_stake', devnet.pools[0]!, 20n * ONE_APT));
    expect(failed.success).toBe(false);
    expect(failed.vm_status).toBe('Out of gas');
    expect(failed.gas_used).toBe(String(MAX_GAS));
  });

  it('loses a dropped transaction: by_hash 404 transaction_not_found; the same bytes sent again land', async () => {
    const alice = devnet.createAccount(50n * ONE_APT);
    const transaction = await build(alice, call('add_stake', devnet.pools[0]!, 20n * ONE_APT));
    const auth = aptos.transaction.sign({ signer: alice, transaction });
    devnet.dropNextTx();
    const pending = await aptos.transaction.submit.simple({ transaction, senderAuthenticator: auth });
    const lost = await refusal(aptos.getTransactionByHash({ transactionHash: pending.hash }));
    expect(lost.status).toBe(404);
    expect(lost.data).toEqual({ message: `Transaction not found by Transaction hash(${pending.hash})`, error_code: 'transaction_not_found', vm_error_code: null });
    await aptos.transaction.submit.simple({ transaction, senderAuthenticator: auth });
    expect((await aptos.waitForTransaction({ transactionHash: pending.hash })).success).toBe(true);
  });
});

describe('aptos devnet: slow and lost answers', () => {
  it('holds a delayed transaction pending: wait_by_hash answers the pending transaction after its 1 s long poll', async () => {
    const alice = devnet.createAccount(50n * ONE_APT);
    devnet.delayNextTx(1_500);
    const pending = await aptos.signAndSubmitTransaction({ signer: alice, transaction: await build(alice, call('add_stake', devnet.pools[0]!, 20n * ONE_APT)) });
    const started = Date.now();
    const res = await fetch(`${devnet.endpoints[0]}/v1/transactions/wait_by_hash/${pending.hash}`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(((await res.json()) as { type: string }).type).toBe('pending_transaction');
    expect((await aptos.waitForTransaction({ transactionHash: pending.hash })).success).toBe(true);
  });

  it('carries out a submit whose answer is lost: the hash the client computes finds it committed', async () => {
    const alice = devnet.createAccount(50n * ONE_APT);
    const transaction = await build(alice, call('add_stake', devnet.pools[0]!, 20n * ONE_APT));
    const senderAuthenticator = aptos.transaction.sign({ signer: alice, transaction });
    devnet.loseNextResponse();
    await expect(aptos.transaction.submit.simple({ transaction, senderAuthenticator })).rejects.toThrow();
    const hash = generateUserTransactionHash({ transaction, senderAuthenticator });
    expect((await aptos.waitForTransaction({ transactionHash: hash })).success).toBe(true);
  });
});

describe('aptos devnet: history', () => {
  it('reads views at a past version, and answers 410 version_pruned below the prune window', async () => {
    await devnet.close();
    devnet = await startAptosDevnet({ epochIntervalSecs: 3_600n, blockMs: 10_000, pruneWindow: 500n });
    aptos = new Aptos(new AptosConfig({ network: Network.CUSTOM, fullnode: `${devnet.endpoints[0]}/v1` }));
    const alice = devnet.createAccount(5_000n * ONE_APT);
    const pool = devnet.pools[0]!;
    const added = await send(alice, call('add_stake', pool, 100n * ONE_APT));
    const getStake = { function: '0x1::delegation_pool::get_stake' as const, functionArguments: [pool, alice.accountAddress] };
    devnet.nextEpoch();
    const then = await aptos.view({ payload: getStake, options: { ledgerVersion: BigInt(added.version) } });
    expect(then[0]).not.toBe((await aptos.view({ payload: getStake }))[0]);

    devnet.nextEpoch(); // 360 blocks an epoch: the add_stake's version falls out of the window
    const res = await fetch(`${devnet.endpoints[0]}/v1`);
    const oldest = BigInt(res.headers.get('x-aptos-ledger-oldest-version')!);
    expect(oldest).toBeGreaterThan(BigInt(added.version));
    expect(((await res.json()) as { oldest_ledger_version: string }).oldest_ledger_version).toBe(oldest.toString());
    const pruned = await refusal(aptos.view({ payload: getStake, options: { ledgerVersion: BigInt(added.version) } }));
    expect(pruned.status).toBe(410);
    expect(pruned.data).toEqual({ message: `Ledger version(${added.version}) has been pruned`, error_code: 'version_pruned', vm_error_code: null });
    expect(await aptos.view({ payload: getStake, options: { ledgerVersion: oldest } })).toHaveLength(3);

    // Blocks: the one holding the oldest kept version, the head, one beyond, one pruned.
    const block = await aptos.getBlockByVersion({ ledgerVersion: oldest });
    expect(BigInt(block.first_version)).toBeLessThanOrEqual(oldest);
    expect(BigInt(block.last_version)).toBeGreaterThanOrEqual(oldest);
    const head = await aptos.getBlockByHeight({ blockHeight: BigInt(res.headers.get('x-aptos-block-height')!) });
    expect(BigInt(head.first_version)).toBeGreaterThan(oldest);
    const beyond = await refusal(aptos.getBlockByHeight({ blockHeight: BigInt(head.block_height) + 1_000n }));
    expect(beyond.status).toBe(404);
    expect(beyond.data.error_code).toBe('block_not_found');
    const gone = await refusal(aptos.getBlockByHeight({ blockHeight: 1 }));
    expect(gone.status).toBe(410);
    expect(gone.data.error_code).toBe('block_pruned');
  });
});

describe('aptos devnet: softstake devnet', () => {
  it('starts on the wall clock and funds an account whose AIP-80 key the SDK imports', async () => {
    const local = await aptosDevnetModule.start({ speedup: 720 });
    try {
      const funded = await local.createFundedAccount(100n * ONE_APT, 'custody');
      expect(funded.secret).toMatch(/^ed25519-priv-0x[0-9a-f]{64}$/);
      const account = Account.fromPrivateKey({ privateKey: new Ed25519PrivateKey(funded.secret) });
      expect(account.accountAddress.toStringLong()).toBe(funded.address);
      const client = new Aptos(new AptosConfig({ network: Network.CUSTOM, fullnode: `${local.endpoints[0]}/v1` }));
      expect(await client.getBalance({ accountAddress: account.accountAddress, asset: '0x1::aptos_coin::AptosCoin' })).toBe(100 * 1e8);
      expect(local.validators).toHaveLength(2);
      expect(local.chainId).toBe('4');
    } finally {
      await local.close();
    }
  });
});

describe('aptos devnet: responses field for field (api/doc/spec.yaml)', () => {
  const HEADERS = ['x-aptos-chain-id', 'x-aptos-ledger-version', 'x-aptos-ledger-oldest-version', 'x-aptos-ledger-timestampusec', 'x-aptos-epoch', 'x-aptos-block-height', 'x-aptos-oldest-block-height'];
  const U64 = /^\d+$/;

  it('GET /v1: IndexResponse with the ledger headers', async () => {
    devnet.nextEpoch();
    for (const path of ['/v1', '/v1/']) {
      const res = await fetch(`${devnet.endpoints[1]}${path}`);
      expect(res.status).toBe(200);
      for (const h of HEADERS) expect(res.headers.get(h)).toMatch(U64);
      const body = (await res.json()) as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(['block_height', 'chain_id', 'epoch', 'git_hash', 'ledger_timestamp', 'ledger_version', 'node_role', 'oldest_block_height', 'oldest_ledger_version']);
      expect(body.chain_id).toBe(4);
      for (const k of ['epoch', 'ledger_version', 'oldest_ledger_version', 'ledger_timestamp', 'oldest_block_height', 'block_height']) expect(body[k]).toMatch(U64);
      expect(body.node_role).toBe('full_node');
      expect(res.headers.get('x-aptos-ledger-version')).toBe(body.ledger_version);
      expect(body.epoch).toBe('2');
    }
  });

  it('accounts, gas estimate, a 404 and a committed transaction in the spec’s shapes', async () => {
    const alice = devnet.createAccount(50n * ONE_APT);
    const base = devnet.endpoints[0]!;
    const account = (await (await fetch(`${base}/v1/accounts/${alice.accountAddress}`)).json()) as Record<string, unknown>;
    expect(account).toEqual({ sequence_number: '0', authentication_key: alice.accountAddress.toStringLong() });

    const gas = await fetch(`${base}/v1/estimate_gas_price`);
    expect(await gas.json()).toEqual({ deprioritized_gas_estimate: 100, gas_estimate: 100, prioritized_gas_estimate: 100 });

    const missing = await fetch(`${base}/v1/accounts/0x1234`);
    expect(missing.status).toBe(404);
    for (const h of HEADERS) expect(missing.headers.get(h)).toMatch(U64);
    const body = (await missing.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ error_code: 'account_not_found', vm_error_code: null });
    expect(body.message).toMatch(/^Account not found by Address\(0x1234\) and Ledger version\(\d+\)$/);

    const transaction = await build(alice, call('add_stake', devnet.pools[0]!, 20n * ONE_APT));
    const signed = generateSignedTransaction({ transaction, senderAuthenticator: aptos.transaction.sign({ signer: alice, transaction }) });
    const submit = await fetch(`${base}/v1/transactions`, { method: 'POST', headers: { 'content-type': 'application/x.aptos.signed_transaction+bcs' }, body: signed });
    expect(submit.status).toBe(202);
    const pending = (await submit.json()) as Record<string, unknown>;
    for (const k of ['hash', 'sender', 'sequence_number', 'max_gas_amount', 'gas_unit_price', 'expiration_timestamp_secs', 'payload', 'signature']) expect(pending).toHaveProperty(k);
    expect(pending.payload).toEqual({ type: 'entry_function_payload', function: '0x1::delegation_pool::add_stake', type_arguments: [], arguments: [expect.stringMatching(/^0x[0-9a-f]+$/), (20n * ONE_APT).toString()] });
    expect(pending.signature).toMatchObject({ type: 'ed25519_signature', public_key: alice.publicKey.toString() });

    await aptos.waitForTransaction({ transactionHash: pending.hash as string });
    const res = await fetch(`${base}/v1/transactions/by_hash/${pending.hash as string}`);
    const tx = (await res.json()) as Record<string, unknown>;
    expect(tx.type).toBe('user_transaction');
    for (const k of ['version', 'gas_used', 'sequence_number', 'max_gas_amount', 'gas_unit_price', 'expiration_timestamp_secs', 'timestamp']) expect(tx[k]).toMatch(U64);
    for (const k of ['hash', 'state_change_hash', 'event_root_hash', 'accumulator_root_hash']) expect(tx[k]).toMatch(/^0x[0-9a-f]{64}$/);
    expect(tx.success).toBe(true);
    expect(tx.changes).toEqual([]);
    const addStake = (tx.events as { type: string; guid: unknown; sequence_number: string; data: Record<string, unknown> }[]).find((e) => e.type === '0x1::delegation_pool::AddStake')!;
    expect(addStake.guid).toEqual({ creation_number: '0', account_address: '0x0' });
    expect(addStake.sequence_number).toBe('0');
    expect(Object.keys(addStake.data).sort()).toEqual(['add_stake_fee', 'amount_added', 'delegator_address', 'pool_address']);
    expect(addStake.data.amount_added).toBe((20n * ONE_APT).toString());

    const list = (await (await fetch(`${base}/v1/accounts/${alice.accountAddress}/transactions?start=0&limit=10`)).json()) as { hash: string }[];
    expect(list.map((t) => t.hash)).toEqual([pending.hash]);
  });
});
