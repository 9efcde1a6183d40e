/**
 * Transactions as the Cosmos SDK 0.50 handles them: decode `TxRaw` with
 * cosmjs-types, run the ante handler (size gas, fee and minimum gas price,
 * public key, sequence, SIGN_MODE_DIRECT signature over the SignDoc), then
 * the messages on a branch of the state, with the SDK's events (`tx`,
 * bank transfers, `message` with `msg_index`, `delegate`, `unbond`,
 * `withdraw_rewards`, ...).
 *
 * Gas is a deterministic model, not the SDK's store-access metering:
 * 10 per tx byte, 1000 per secp256k1 signature, and a fixed cost per message.
 */
import { rawSecp256k1PubkeyToRawAddress } from '@cosmjs/amino';
import { Secp256k1, Secp256k1Signature, sha256 } from '@cosmjs/crypto';
import { toBase64, toBech32 } from '@cosmjs/encoding';
import { makeSignBytes, makeSignDoc } from '@cosmjs/proto-signing';
import { TxMsgData } from 'cosmjs-types/cosmos/base/abci/v1beta1/abci';
import { MsgSend, MsgSendResponse } from 'cosmjs-types/cosmos/bank/v1beta1/tx';
import { PubKey } from 'cosmjs-types/cosmos/crypto/secp256k1/keys';
import { MsgWithdrawDelegatorReward, MsgWithdrawDelegatorRewardResponse } from 'cosmjs-types/cosmos/distribution/v1beta1/tx';
import { MsgBeginRedelegate, MsgBeginRedelegateResponse, MsgDelegate, MsgDelegateResponse, MsgUndelegate, MsgUndelegateResponse } from 'cosmjs-types/cosmos/staking/v1beta1/tx';
import { SignMode } from 'cosmjs-types/cosmos/tx/signing/v1beta1/signing';
import { AuthInfo, TxBody, TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import type { Any } from 'cosmjs-types/google/protobuf/any';
import { type ModuleContext, transferEvents, withdrawRewards } from './distribution.js';
import { SdkError, sdkError } from './errors.js';
import { delegate, redelegate, undelegate } from './staking.js';
import { type AbciEvent, type ChainState, coinString, DEC_ONE, decodeBech32, decString, event, hexUpper, timestamp } from './state.js';

/** Gas for each byte of the transaction (`TxSizeCostPerByte`). */
export const GAS_PER_BYTE = 10n;
/** Gas for verifying one secp256k1 signature (`SigVerifyCostSecp256k1`). */
export const GAS_PER_SIGNATURE = 1000n;
/** Gas for executing each message kind. */
export const MSG_GAS = { delegate: 95_000n, undelegate: 110_000n, redelegate: 140_000n, withdraw: 55_000n, send: 35_000n } as const;
const MAX_MEMO_CHARACTERS = 256;
/** Bytes a simulation adds for the signature and fee it does not carry (`consumeSimSigGas`). */
const SIMULATED_SIGNATURE_BYTES = 110n;

/** A message the devnet executes. */
export type DevnetMsg =
  | { kind: 'delegate'; typeUrl: string; signer: string; value: MsgDelegate }
  | { kind: 'undelegate'; typeUrl: string; signer: string; value: MsgUndelegate }
  | { kind: 'redelegate'; typeUrl: string; signer: string; value: MsgBeginRedelegate }
  | { kind: 'withdraw'; typeUrl: string; signer: string; value: MsgWithdrawDelegatorReward }
  | { kind: 'send'; typeUrl: string; signer: string; value: MsgSend };

/** A decoded transaction. */
export interface DecodedTx {
  bytes: Uint8Array;
  /** sha256 of the bytes, uppercase hex (CometBFT's tx hash). */
  hash: string;
  raw: TxRaw;
  body: TxBody;
  authInfo: AuthInfo;
  msgs: DevnetMsg[];
  /** Unique signers in message order (the first pays the fee). */
  signers: string[];
}

/** The chain's fixed parameters a transaction is checked against. */
export interface TxEnv {
  chainId: string;
  prefix: string;
  denom: string;
  /** Minimum gas price in the bond denom, Dec; 0 disables the check. */
  minGasPrice: bigint;
  /**
   * A fee market (skip-mev/feemarket, as on the Cosmos Hub since v20): the
   * fee is checked against the state's moving base gas price in CheckTx and
   * again in FinalizeBlock, instead of the node's fixed minimum in CheckTx only.
   */
  feeMarket: boolean;
}

/** How a transaction is run: CheckTx, simulation, or FinalizeBlock. */
export type ExecMode = 'check' | 'simulate' | 'deliver';

/** Counts gas against a limit, failing like the SDK's gas meter. */
export class GasMeter {
  used = 0n;
  constructor(readonly limit: bigint | undefined) {}

  consume(amount: bigint, location: string): void {
    this.used += amount;
    if (this.limit !== undefined && this.used > this.limit) {
      throw sdkError('outOfGas', `out of gas in location: ${location}; gasWanted: ${this.limit}, gasUsed: ${this.used}`);
    }
  }
}

function checkAddress(address: string, prefix: string, what: string): void {
  let decoded: ReturnType<typeof decodeBech32>;
  try {
    decoded = decodeBech32(address);
  } catch (error) {
    throw sdkError('invalidAddress', `invalid ${what} address: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (decoded.prefix !== prefix) throw sdkError('invalidAddress', `invalid ${what} address: invalid Bech32 prefix; expected ${prefix}, got ${decoded.prefix}`);
}

function decodeMsg(any: Any): DevnetMsg {
  const { typeUrl, value } = any;
  switch (typeUrl) {
    case '/cosmos.staking.v1beta1.MsgDelegate': {
      const msg = MsgDelegate.decode(value);
      return { kind: 'delegate', typeUrl, signer: msg.delegatorAddress, value: msg };
    }
    case '/cosmos.staking.v1beta1.MsgUndelegate': {
      const msg = MsgUndelegate.decode(value);
      return { kind: 'undelegate', typeUrl, signer: msg.delegatorAddress, value: msg };
    }
    case '/cosmos.staking.v1beta1.MsgBeginRedelegate': {
      const msg = MsgBeginRedelegate.decode(value);
      return { kind: 'redelegate', typeUrl, signer: msg.delegatorAddress, value: msg };
    }
    case '/cosmos.distribution.v1beta1.MsgWithdrawDelegatorReward': {
      const msg = MsgWithdrawDelegatorReward.decode(value);
      return { kind: 'withdraw', typeUrl, signer: msg.delegatorAddress, value: msg };
    }
    case '/cosmos.bank.v1beta1.MsgSend': {
      const msg = MsgSend.decode(value);
      return { kind: 'send', typeUrl, signer: msg.fromAddress, value: msg };
    }
    default:
      throw sdkError('txDecode', `unable to resolve type URL ${typeUrl}`);
  }
}

/**
 * Decodes a `TxRaw` (or a `Tx`: same field numbers) and its messages.
 * @throws SdkError code 2 (tx parse error) or 7 (a signer address is malformed).
 */
export function decodeTx(bytes: Uint8Array, prefix: string): DecodedTx {
  let raw: TxRaw;
  let body: TxBody;
  let authInfo: AuthInfo;
  let msgs: DevnetMsg[];
  try {
    raw = TxRaw.decode(bytes);
    body = TxBody.decode(raw.bodyBytes);
    authInfo = AuthInfo.decode(raw.authInfoBytes);
    msgs = body.messages.map(decodeMsg);
  } catch (error) {
    if (error instanceof SdkError) throw error;
    throw sdkError('txDecode', error instanceof Error ? error.message : String(error));
  }
  const signers: string[] = [];
  for (const msg of msgs) {
    checkAddress(msg.signer, prefix, msg.kind === 'send' ? 'from' : 'delegator');
    if (!signers.includes(msg.signer)) signers.push(msg.signer);
  }
  return { bytes, hash: hexUpper(sha256(bytes)), raw, body, authInfo, msgs, signers };
}

function parseAmount(amount: string): bigint {
  if (!/^\d{1,78}$/.test(amount)) throw sdkError('invalidCoins', `invalid coin amount ${JSON.stringify(amount)}`);
  return BigInt(amount);
}

function feeOf(tx: DecodedTx, env: TxEnv): { amount: bigint; text: string } {
  const coins = tx.authInfo.fee?.amount ?? [];
  let amount = 0n;
  for (const coin of coins) {
    if (coin.denom !== env.denom) throw sdkError('insufficientFee', `fee denom ${coin.denom} is not accepted; pay in ${env.denom}`);
    amount += parseAmount(coin.amount);
  }
  return { amount, text: coins.map((c) => `${c.amount}${c.denom}`).join(',') };
}

/**
 * The ante handler. Checks everything first and changes the state only when
 * every check passed (as the SDK's cache-wrapped ante does): deducts the fee
 * into the fee collector, sets unknown public keys, increments sequences.
 * @returns the ante events (`coin_spent`, `coin_received`, `transfer`, `message`, `tx`).
 */
export function runAnte(env: TxEnv, state: ChainState, tx: DecodedTx, mode: ExecMode, height: bigint, gas: GasMeter, modules: { feeCollector: string }): AbciEvent[] {
  const { body, authInfo, raw } = tx;
  if (tx.msgs.length === 0) throw sdkError('invalidRequest', 'must contain at least one message');
  if (raw.signatures.length === 0) throw sdkError('noSignatures');
  if (raw.signatures.length !== authInfo.signerInfos.length) {
    throw sdkError('unauthorized', `invalid number of signer;  expected: ${authInfo.signerInfos.length}, got ${raw.signatures.length}`);
  }
  if (tx.signers.length !== raw.signatures.length) throw sdkError('unauthorized', `wrong number of signers; expected ${tx.signers.length}, got ${raw.signatures.length}`);
  if (body.timeoutHeight > 0n && height > body.timeoutHeight) {
    throw sdkError('txTimeoutHeight', `block height: ${height}, timeout height: ${body.timeoutHeight}`);
  }
  if (body.memo.length > MAX_MEMO_CHARACTERS) throw sdkError('memoTooLarge', `maximum number of characters is ${MAX_MEMO_CHARACTERS} but received ${body.memo.length} characters`);
  gas.consume(GAS_PER_BYTE * BigInt(tx.bytes.length) + (mode === 'simulate' ? GAS_PER_BYTE * SIMULATED_SIGNATURE_BYTES * BigInt(tx.signers.length) : 0n), 'txSize');

  const fee = feeOf(tx, env);
  const gasLimit = authInfo.fee?.gasLimit ?? 0n;
  if (env.feeMarket) {
    // skip-mev/feemarket x/feemarket/ante/fee.go (anteHandle → CheckTxFee): in CheckTx and in
    // FinalizeBlock alike (`!simulate`), fee ≥ ceil(base gas price × gas limit), else
    // ErrInsufficientFee (sdk code 13) wrapped "error checking fee". A transaction that
    // passed CheckTx fails in its block when the price rose in between: no fee, no sequence.
    const required = (gasLimit * state.baseGasPrice + DEC_ONE - 1n) / DEC_ONE;
    if (mode !== 'simulate' && fee.amount < required) {
      throw sdkError(
        'insufficientFee',
        `error checking fee: got: ${coinString(fee.amount, env.denom)} required: ${coinString(required, env.denom)}, minGasPrice: ${decString(state.baseGasPrice)}${env.denom}, gas: ${gas.used}`,
      );
    }
  } else if (mode === 'check' && env.minGasPrice > 0n) {
    // cosmos-sdk x/auth/ante/validator_tx_fee.go (checkTxFeeWithValidatorMinGasPrices): CheckTx only.
    const required = (gasLimit * env.minGasPrice + DEC_ONE - 1n) / DEC_ONE;
    if (fee.amount < required) throw sdkError('insufficientFee', `insufficient fees; got: ${fee.text} required: ${coinString(required, env.denom)}`);
  }
  const payerAddress = authInfo.fee?.payer !== undefined && authInfo.fee.payer !== '' ? authInfo.fee.payer : tx.signers[0]!;
  const payer = state.accounts.get(payerAddress);
  if (payer === undefined) throw sdkError('unknownAddress', `fee payer address: ${payerAddress} does not exist`);
  if (payer.balance < fee.amount) {
    throw sdkError('insufficientFunds', `spendable balance ${coinString(payer.balance, env.denom)} is smaller than ${coinString(fee.amount, env.denom)}`);
  }

  const pubkeys: Uint8Array[] = [];
  tx.signers.forEach((signer, i) => {
    const account = state.accounts.get(signer);
    if (account === undefined) throw sdkError('unknownAddress', `account ${signer} does not exist`);
    const info = authInfo.signerInfos[i]!;
    let pubkey = account.pubkey;
    if (info.publicKey !== undefined) {
      if (info.publicKey.typeUrl !== '/cosmos.crypto.secp256k1.PubKey') throw sdkError('invalidPubKey', `unsupported public key type ${info.publicKey.typeUrl}`);
      const key = PubKey.decode(info.publicKey.value).key;
      if (key.length !== 33) throw sdkError('invalidPubKey', `invalid secp256k1 public key length ${key.length}`);
      if (toBech32(env.prefix, rawSecp256k1PubkeyToRawAddress(key)) !== signer) {
        throw sdkError('invalidPubKey', `pubKey does not match signer address ${signer} with signer index: ${i}`);
      }
      pubkey ??= key;
    }
    if (pubkey === undefined) throw sdkError('invalidPubKey', 'pubkey on account is not set');
    pubkeys.push(pubkey);
    gas.consume(GAS_PER_SIGNATURE, 'ante verify: secp256k1');
    if (info.sequence !== account.sequence) throw sdkError('wrongSequence', `account sequence mismatch, expected ${account.sequence}, got ${info.sequence}`);
    if (mode === 'simulate') return;
    const signature = raw.signatures[i]!;
    const direct = info.modeInfo?.single?.mode === SignMode.SIGN_MODE_DIRECT;
    const signBytes = makeSignBytes(makeSignDoc(raw.bodyBytes, raw.authInfoBytes, env.chainId, account.accountNumber));
    if (!direct || signature.length !== 64 || !Secp256k1.verifySignature(Secp256k1Signature.fromFixedLength(signature), sha256(signBytes), pubkey)) {
      throw sdkError(
        'unauthorized',
        `signature verification failed; please verify account number (${account.accountNumber}), sequence (${account.sequence}) and chain-id (${env.chainId})${direct ? '' : ' (this devnet verifies SIGN_MODE_DIRECT only)'}`,
      );
    }
  });

  const events: AbciEvent[] = [];
  if (fee.amount > 0n) {
    payer.balance -= fee.amount;
    state.feeCollector += fee.amount;
    events.push(...transferEvents(payerAddress, modules.feeCollector, fee.amount, env.denom));
  }
  events.push(
    event('tx', [
      ['fee', fee.amount > 0n ? coinString(fee.amount, env.denom) : ''],
      ['fee_payer', payerAddress],
    ]),
  );
  tx.signers.forEach((signer, i) => {
    const account = state.accounts.get(signer)!;
    account.pubkey ??= pubkeys[i];
    events.push(event('tx', [['acc_seq', `${signer}/${account.sequence}`]]));
    account.sequence += 1n;
  });
  for (const signature of raw.signatures) events.push(event('tx', [['signature', toBase64(signature)]]));
  return events;
}

function bondCoin(coin: { denom: string; amount: string } | undefined, denom: string): bigint {
  if (coin === undefined) throw sdkError('invalidRequest', 'invalid delegation amount');
  if (coin.denom !== denom) throw sdkError('invalidRequest', `invalid coin denomination: got ${coin.denom}, expected ${denom}`);
  return parseAmount(coin.amount);
}

function any<T>(typeUrl: string, codec: { encode(message: T): { finish(): Uint8Array } }, value: T): Any {
  return { typeUrl, value: codec.encode(value).finish() };
}

/**
 * Executes the messages (on a branch the caller discards on failure).
 * @returns the message events, each tagged with its `msg_index`, and the encoded `TxMsgData`.
 */
export function runMsgs(ctx: ModuleContext, tx: DecodedTx, gas: GasMeter, prefix: string): { events: AbciEvent[]; data: Uint8Array } {
  const valoper = `${prefix}valoper`;
  const all: AbciEvent[] = [];
  const responses: Any[] = [];
  tx.msgs.forEach((msg, index) => {
    try {
      runMsg(msg, index);
    } catch (error) {
      if (error instanceof SdkError && error.codespace !== 'devnet' && error.code !== 11) {
        throw new SdkError(error.codespace, error.code, `failed to execute message; message index: ${index}: ${error.log}`);
      }
      throw error;
    }
  });
  return { events: all, data: TxMsgData.encode({ data: [], msgResponses: responses }).finish() };

  function runMsg(msg: DevnetMsg, index: number): void {
    gas.consume(MSG_GAS[msg.kind], `msg ${index}`);
    const events: AbciEvent[] = [];
    const sub: ModuleContext = { ...ctx, events };
    let module: string;
    switch (msg.kind) {
      case 'delegate': {
        module = 'staking';
        checkAddress(msg.value.validatorAddress, valoper, 'validator');
        delegate(sub, msg.signer, msg.value.validatorAddress, bondCoin(msg.value.amount, ctx.denom));
        responses.push(any('/cosmos.staking.v1beta1.MsgDelegateResponse', MsgDelegateResponse, {}));
        break;
      }
      case 'undelegate': {
        module = 'staking';
        checkAddress(msg.value.validatorAddress, valoper, 'validator');
        const out = undelegate(sub, msg.signer, msg.value.validatorAddress, bondCoin(msg.value.amount, ctx.denom));
        responses.push(
          any('/cosmos.staking.v1beta1.MsgUndelegateResponse', MsgUndelegateResponse, {
            completionTime: timestamp(out.completionTime),
            amount: { denom: ctx.denom, amount: out.amount.toString() },
          }),
        );
        break;
      }
      case 'redelegate': {
        module = 'staking';
        checkAddress(msg.value.validatorSrcAddress, valoper, 'source validator');
        checkAddress(msg.value.validatorDstAddress, valoper, 'destination validator');
        const out = redelegate(sub, msg.signer, msg.value.validatorSrcAddress, msg.value.validatorDstAddress, bondCoin(msg.value.amount, ctx.denom));
        responses.push(any('/cosmos.staking.v1beta1.MsgBeginRedelegateResponse', MsgBeginRedelegateResponse, { completionTime: timestamp(out.completionTime) }));
        break;
      }
      case 'withdraw': {
        module = 'distribution';
        const validator = msg.value.validatorAddress;
        checkAddress(validator, valoper, 'validator');
        if (!ctx.state.validators.has(validator)) throw sdkError('distrNoValidator');
        if (!ctx.state.delegations.has(`${msg.signer}/${validator}`)) throw sdkError('distrNoDelegation');
        const paid = withdrawRewards(sub, msg.signer, validator);
        responses.push(
          any('/cosmos.distribution.v1beta1.MsgWithdrawDelegatorRewardResponse', MsgWithdrawDelegatorRewardResponse, {
            amount: paid > 0n ? [{ denom: ctx.denom, amount: paid.toString() }] : [],
          }),
        );
        break;
      }
      case 'send': {
        module = 'bank';
        checkAddress(msg.value.toAddress, prefix, 'to');
        let amount = 0n;
        for (const coin of msg.value.amount) {
          if (coin.denom !== ctx.denom) throw sdkError('invalidCoins', `this devnet holds only ${ctx.denom}, got ${coin.denom}`);
          amount += parseAmount(coin.amount);
        }
        if (amount <= 0n) throw sdkError('invalidCoins', 'send amount must be positive');
        const from = ctx.state.accounts.get(msg.signer)!;
        if (from.balance < amount) {
          throw sdkError('insufficientFunds', `spendable balance ${coinString(from.balance, ctx.denom)} is smaller than ${coinString(amount, ctx.denom)}`);
        }
        from.balance -= amount;
        let to = ctx.state.accounts.get(msg.value.toAddress);
        if (to === undefined) {
          to = { address: msg.value.toAddress, accountNumber: ctx.state.nextAccountNumber, sequence: 0n, pubkey: undefined, balance: 0n };
          ctx.state.nextAccountNumber += 1n;
          ctx.state.accounts.set(to.address, to);
        }
        to.balance += amount;
        events.push(...transferEvents(msg.signer, msg.value.toAddress, amount, ctx.denom));
        responses.push(any('/cosmos.bank.v1beta1.MsgSendResponse', MsgSendResponse, {}));
        break;
      }
    }
    const head = event('message', [
      ['action', msg.typeUrl],
      ['sender', msg.signer],
      ['module', module],
    ]);
    for (const e of [head, ...events]) {
      e.attributes.push({ key: 'msg_index', value: String(index), index: true });
      all.push(e);
    }
  }
}
