/**
 * The NEAR preflight (ChainAdapter.preflight): each endpoint's `status`
 * (chain id, version, syncing, earliest block), the history a harvest
 * reads (archival when the checkpoint is older than a node keeps), the
 * custody account, each staking pool (exists, in the validator set, not
 * paused, its fee), the limits. Read-only, from the custody account id.
 */
import { AccessKeyDoesNotExistError } from 'near-api-js/rpc-errors';
import * as z from 'zod';
import { safeUrl } from '../errors.js';
import { fetchJson } from '../failover.js';
import { check, custodyCheck, endpointChecks, guarded, limitsCheck } from '../preflight.js';
import type { PreflightCheck } from '../types.js';
import { parseCheckpoint } from './checkpoint.js';
import { validatorsSchema, type NearClient } from './client.js';
import { fundingOf } from './keys.js';
import { readLimits } from './position.js';

const statusSchema = z
  .object({
    chain_id: z.string(),
    version: z.object({ version: z.string() }).loose().optional(),
    sync_info: z.object({ latest_block_height: z.number().int(), earliest_block_height: z.number().int().optional(), syncing: z.boolean().optional() }).loose(),
  })
  .loose();

const feeSchema = z.object({ numerator: z.number().int().nonnegative(), denominator: z.number().int().positive() }).loose();

function reasonOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 300);
}

/** nearcore's UNKNOWN_ACCOUNT, however near-api-js words it. */
function unknownAccount(error: unknown): boolean {
  return /UNKNOWN_ACCOUNT|does not exist|AccountDoesNotExist/i.test(reasonOf(error));
}

const ARCHIVAL_FIX = 'put an archival RPC node (it keeps every block since genesis) among the endpoints, from a provider of docs.near.org/api/rpc/providers (the *.near.org ones are deprecated and rate limited; see the README, NEAR endpoints); each endpoint must keep the blocks since the checkpoint';

const permissionSchema = z.union([z.literal('FullAccess'), z.object({ FunctionCall: z.object({ receiver_id: z.string(), method_names: z.array(z.string()) }).loose() }).loose()]);

/**
 * The signer file's key must be a full-access key of the custody account:
 * staking attaches a deposit, which a function-call key may not
 * (runtime/runtime/src/verifier.rs: DepositWithFunctionCall), and a key the
 * account does not have signs nothing. nearcore answers a missing key as a
 * result holding `access key <key> does not exist while viewing`
 * (chain/jsonrpc/src/lib.rs `process_query_response`), which near-api-js
 * turns into AccessKeyDoesNotExistError. No line when the signer file
 * cannot be read: the caller checks the key file (AdapterModule.addressOf).
 */
async function accessKeyCheck(client: NearClient, accountId: string): Promise<PreflightCheck[]> {
  let publicKey: string;
  try {
    const key = await client.custody();
    if (key.accountId !== accountId) return [];
    publicKey = key.publicKey.toString();
  } catch {
    return [];
  }
  const fix = `add it to ${accountId} as a full-access key (near-cli: near account add-key ${accountId} grant-full-access use-manually-provided-public-key ${publicKey} …, signed with a full-access key of the account), or put a full-access key of ${accountId} in the signer file`;
  return guarded('custody', 'access-key', fix, async () => {
    let json: unknown;
    try {
      json = await client.rpc.raw('query', { request_type: 'view_access_key', account_id: accountId, public_key: publicKey, finality: 'final' });
    } catch (error) {
      if (!(error instanceof AccessKeyDoesNotExistError)) throw error;
      return [check('custody', 'access-key', 'failure', `the signer file's key ${publicKey} is not an access key of ${accountId}: nothing it signs is valid`, fix)];
    }
    const permission = client.parse(z.object({ permission: permissionSchema }).loose(), json, 'view_access_key').permission;
    if (permission === 'FullAccess') return [check('custody', 'access-key', 'ok', `the signer file's key ${publicKey} is a full-access key of ${accountId}`)];
    const { receiver_id: receiver, method_names: methods } = permission.FunctionCall;
    return [
      check(
        'custody',
        'access-key',
        'failure',
        `the signer file's key ${publicKey} is a function-call key of ${accountId} (for ${receiver}${methods.length > 0 ? `, ${methods.join(', ')}` : ''}): it cannot attach the deposit staking needs`,
        fix,
      ),
    ];
  });
}

export async function preflight(client: NearClient, checkpointText: string | null): Promise<PreflightCheck[]> {
  const { config, options } = client;
  const checks: PreflightCheck[] = [];

  const earliest = new Map<string, number>();
  checks.push(
    ...(await endpointChecks(config.endpoints, options.networkId, config.requestTimeoutMs, async (endpoint, signal) => {
      const answer = (await fetchJson(endpoint, '', { body: { jsonrpc: '2.0', id: 'preflight', method: 'status', params: [] }, signal })) as { result?: unknown; error?: unknown };
      const status = client.parse(statusSchema, answer.result, 'status');
      if (options.networkId === undefined || status.chain_id === options.networkId) earliest.set(endpoint, status.sync_info.earliest_block_height ?? 0);
      const syncing = status.sync_info.syncing === true ? ', still syncing' : '';
      return { chainId: status.chain_id, detail: `nearcore ${status.version?.version ?? '?'}, height ${status.sync_info.latest_block_height}${syncing}` };
    })),
  );

  // The harvest reads the custody's nonce history from the checkpoint (or historyFromHeight) on.
  if (earliest.size > 0) {
    const from = checkpointText === null ? options.historyFromHeight : parseCheckpoint(checkpointText)?.height;
    const short = from === undefined ? [] : [...earliest].filter(([, first]) => first > from);
    const shortText = `the harvest reads from height ${from}; ${short.map(([e, first]) => `${safeUrl(e)} keeps blocks from ${first}`).join(', ')}`;
    checks.push(
      short.length === 0
        ? check('dependency', 'archival', 'ok', from === undefined ? 'no checkpoint: the first harvest reads from the earliest block the node keeps' : `every endpoint keeps the blocks since height ${from}`)
        : short.length < earliest.size
          ? // rpc.ts asks the later endpoints for a block the first has collected: the harvest runs, a request more per past read.
            check('dependency', 'archival', 'warning', `${shortText}; the other endpoints keep them, and the harvest asks them for what these have collected`, ARCHIVAL_FIX)
          : check('dependency', 'archival', 'failure', shortText, ARCHIVAL_FIX),
    );
  }

  let accountId: string;
  try {
    accountId = await client.address();
  } catch (error) {
    return [...checks, check('custody', 'custody', 'failure', `no custody account: ${reasonOf(error)}`, "set options.accountId or the chain block's address, or fix the signer file (softstake keys show)")];
  }

  const implicit = /^[0-9a-f]{64}$/.test(accountId);
  const fundHint = fundingOf(config, accountId, undefined, implicit).join('; ');
  let exists = true;
  checks.push(
    ...(await guarded('custody', accountId, fundHint, async () => {
      const head = await client.head();
      let account;
      try {
        account = await client.account(accountId, head.height);
      } catch (error) {
        if (!unknownAccount(error)) throw error;
        exists = false;
        return [check('custody', accountId, 'failure', `the account does not exist on ${options.networkId ?? 'the chain'}`, fundHint)];
      }
      const limits = await readLimits(client);
      let bonded = 0n;
      for (const pool of options.pools) {
        const entry = await client.poolAccount(pool, accountId, head.height).catch(() => undefined);
        if (entry !== undefined) bonded += entry.staked_balance + entry.unstaked_balance;
      }
      return [custodyCheck(accountId, { exists: true, liquid: account.amount, bonded }, limits, config.decimals, config.asset, fundHint)];
    })),
  );

  if (exists) checks.push(...(await accessKeyCheck(client, accountId)));

  // Limits need the account's storage; without an account they are what a new one has.
  if (exists) {
    checks.push(...(await guarded('limits', 'limits', 'check the endpoints above', async () => [limitsCheck(await readLimits(client), config.decimals, config.asset)])));
  } else {
    checks.push(...(await guarded('limits', 'limits', 'check the endpoints above', async () => [limitsCheck({ minStake: 1n, step: 1n, reserve: 0n, typicalFee: options.gas * (await client.gasPrice()) }, config.decimals, config.asset)])));
  }

  const head = await client.head().catch(() => undefined);
  // By epoch id: a node answers `validators` by block height only for an epoch's last block, else
  // VALIDATOR_INFO_UNAVAILABLE (nearcore chain/client/src/view_client_actor.rs `GetValidatorInfo`).
  const set = head === undefined ? undefined : await client.rpc.raw('validators', { epoch_id: head.epochId }).then((json) => client.parse(validatorsSchema, json, 'validators'), () => undefined);
  const pools = await Promise.all(
    options.pools.map((pool) =>
      guarded('validator', pool, 'check the pool account id, or pick another pool from the validator list (near validators current, or the explorer)', async () => {
        try {
          await client.account(pool, head?.height ?? (await client.head()).height);
        } catch (error) {
          if (unknownAccount(error)) return [check('validator', pool, 'failure', 'no such account', 'check the pool account id, or pick another pool from the current validator list')];
          throw error;
        }
        let fee: z.output<typeof feeSchema>;
        try {
          fee = client.parse(feeSchema, await client.rpc.view(pool, 'get_reward_fee_fraction', {}), `${pool}.get_reward_fee_fraction`);
        } catch (error) {
          return [check('validator', pool, 'failure', `not a staking pool: ${reasonOf(error)}`, 'the validators must be staking-pool contracts (e.g. <name>.pool.f863973.m0 on testnet)')];
        }
        const paused = (await client.rpc.view(pool, 'is_staking_paused', {})) === true;
        const detail = `fee ${((fee.numerator / fee.denominator) * 100).toFixed(2)}%`;
        if (paused) return [check('validator', pool, 'warning', `${detail}, staking paused by its owner: deposits earn nothing until resumed`, 'pick another pool, or ask its owner')];
        const current = set?.current_validators.find((v) => v.account_id === pool);
        if (set !== undefined && current === undefined) return [check('validator', pool, 'warning', `${detail}, not in the current validator set: stake earns nothing this epoch`, 'pick a pool in the current validator set')];
        if (current?.is_slashed === true) return [check('validator', pool, 'failure', `${detail}, slashed`, 'pick another pool')];
        return [check('validator', pool, 'ok', `${detail}, ${set === undefined ? 'validator set unknown' : 'in the current validator set'}`)];
      }),
    ),
  );
  return [...checks, ...pools.flat()];
}
