/**
 * NEAR signing: one function call on a staking pool per action
 * (`deposit_and_stake`, `unstake`, `ping`, `withdraw_all`), with the access
 * key's next nonce and a recent final block hash, which makes the bytes
 * expire `transaction_validity_period` blocks later. The only place the
 * key is used.
 */
import { actions, baseDecode, baseEncode, createTransaction, type KeyPairSigner } from 'near-api-js';
import { AccessKeyDoesNotExistError, AccountDoesNotExistError } from 'near-api-js/rpc-errors';
import { ChainProtocolError, TxRejectedError } from '../errors.js';
import type { SignedTx, StakeAction } from '../types.js';
import { accessKeySchema, type NearClient } from './client.js';

export async function signAction(client: NearClient, action: StakeAction, step = 0): Promise<SignedTx> {
  const refuse = (code: string, log: string) => new TxRejectedError(client.name, undefined, code, log, false);
  if (step !== 0) throw refuse('invalid-step', `a NEAR ${action.kind} is one transaction; there is no step ${step}`);
  const pool = action.kind === 'claim' ? action.validators[0] : action.validator;
  if (action.kind === 'claim' && action.validators.length !== 1) throw refuse('invalid-claim', 'a NEAR claim pings exactly one pool');
  if (pool === undefined) throw refuse('invalid-withdraw', 'a NEAR withdrawal names its pool');
  if ((action.kind === 'delegate' || action.kind === 'undelegate') && action.amount <= 0n) {
    throw refuse('invalid-amount', `${action.kind} amount must be > 0, got ${action.amount}`);
  }
  if (!client.poolSet.has(pool)) throw refuse('unknown-pool', `${pool} is not one of the configured staking pools`);
  switch (action.kind) {
    case 'delegate':
      return signCall(client, pool, 'deposit_and_stake', {}, action.amount);
    case 'undelegate':
      return signCall(client, pool, 'unstake', { amount: action.amount.toString() }, 0n);
    case 'claim':
      return signCall(client, pool, 'ping', {}, 0n);
    case 'withdraw':
      return signCall(client, pool, 'withdraw_all', {}, 0n);
  }
}

/** Signs one function call with the access key's next nonce and a recent final block hash. */
async function signCall(client: NearClient, pool: string, method: string, args: object, deposit: bigint): Promise<SignedTx> {
  const key = await client.custody();
  await client.checkNetwork();
  let json: unknown;
  try {
    json = await client.rpc.raw('query', { request_type: 'view_access_key', account_id: key.accountId, public_key: key.publicKey.toString(), finality: 'final' });
  } catch (error) {
    if (error instanceof AccessKeyDoesNotExistError || error instanceof AccountDoesNotExistError) {
      throw new ChainProtocolError(client.name, `signer: ${key.accountId} has no access key ${key.publicKey.toString()} (wrong key file?)`);
    }
    throw error;
  }
  const accessKey = client.parse(accessKeySchema, json, 'view_access_key');
  const tx = createTransaction(key.accountId, key.publicKey, pool, BigInt(accessKey.nonce) + 1n, [actions.functionCall(method, args, client.options.gas, deposit)], baseDecode(accessKey.block_hash));
  const { txHash, signedTransaction } = await (key.signer as KeyPairSigner).signTransaction(tx);
  // nearcore chain/chain/src/store/mod.rs (check_transaction_validity_period): a transaction whose
  // reference block is more than transaction_validity_period blocks below the chunk's is Expired.
  const expiresHeight = BigInt(accessKey.block_height) + BigInt(await client.transactionValidity());
  return { hash: baseEncode(txHash), bytes: signedTransaction.encode(), expires: { height: expiresHeight } };
}
