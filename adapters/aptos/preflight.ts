/**
 * The Aptos preflight (ChainAdapter.preflight): each endpoint's ledger info
 * (`GET /v1`: chain id, version, epoch), the REST API the harvest reads (the
 * custody's transactions from the checkpoint on, not pruned), the custody
 * account, each delegation pool (exists, its validator in the set, its
 * commission), the limits. Read-only, from the custody address.
 */
import { AptosApiError } from '@aptos-labs/ts-sdk';
import * as z from 'zod';

import { fetchJson } from '../failover.js';
import { uintString } from '../integers.js';
import { check, custodyCheck, endpointChecks, guarded, limitsCheck } from '../preflight.js';
import type { PreflightCheck } from '../types.js';
import type { AptosClient } from './client.js';
import { parseCheckpoint } from './harvest.js';
import { fundingOf } from './keys.js';
import { readLimits } from './position.js';

const ledgerSchema = z.object({ chain_id: z.number().int(), epoch: uintString, ledger_version: uintString, oldest_ledger_version: uintString, git_hash: z.string().optional() }).loose();

/** stake.move `VALIDATOR_STATUS_*`. */
const STATES: Record<string, string> = { '1': 'pending_active', '2': 'active', '3': 'pending_inactive (leaving the set)', '4': 'inactive' };

function reasonOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 300);
}

export async function preflight(client: AptosClient, checkpointText: string | null): Promise<PreflightCheck[]> {
  const { config, options } = client;
  const checks: PreflightCheck[] = [];

  checks.push(
    ...(await endpointChecks(config.endpoints, options.chainId?.toString(), config.requestTimeoutMs, async (endpoint, signal) => {
      const path = new URL(endpoint).pathname.replace(/\/+$/, '').endsWith('/v1') ? '' : 'v1';
      const info = client.parse(ledgerSchema, await fetchJson(endpoint, path, { signal }), 'GET /v1');
      return { chainId: String(info.chain_id), detail: `ledger version ${info.ledger_version} (oldest ${info.oldest_ledger_version}), epoch ${info.epoch}${info.git_hash ? `, ${info.git_hash.slice(0, 12)}` : ''}` };
    })),
  );
  if (!checks.some((c) => c.kind === 'endpoint' && c.status === 'ok')) return checks;

  let custody: string;
  try {
    custody = await client.address();
  } catch (error) {
    return [...checks, check('custody', 'custody', 'failure', `no custody address: ${reasonOf(error)}`, "set the chain block's address, or fix the signer file (softstake keys show)")];
  }
  const fundHint = fundingOf(config, custody).join('; ');

  // The harvest reads the custody's transactions from the checkpoint's sequence number on (api/src/accounts.rs; 410 once pruned).
  checks.push(
    ...(await guarded('dependency', 'rest-api', 'give an endpoint that keeps the history since the checkpoint (a node with a longer ledger prune window), or set options.historyFromSequence', async () => {
      const ledger = await client.ledger();
      const sequence = await client.sequenceNumber(custody, ledger.version);
      const from = checkpointText === null ? options.historyFromSequence : (parseCheckpoint(checkpointText)?.sequence ?? options.historyFromSequence);
      if (from >= sequence) return [check('dependency', 'rest-api', 'ok', `REST API v1 at ledger version ${ledger.version}; no transaction of the custody left to read`)];
      // A node that pruned them answers with the first transaction it kept, or none, not an error
      // (storage/indexer_schemas/src/utils.rs `AccountOrderedTransactionsIter` starts wherever the
      // pruned index does); a ledger-version read below `oldest_ledger_version` is 410 `version_pruned`
      // (api/src/context.rs).
      let first: string;
      try {
        const page = await client.accountTransactions(custody, from, 1);
        first = page.length === 0 ? 'none' : `the first it lists is ${page[0]!.sequence_number}`;
        if (page[0]?.sequence_number === from) first = '';
      } catch (error) {
        if (!(error instanceof AptosApiError) || error.status !== 410) throw error;
        first = reasonOf(error);
      }
      if (first !== '') {
        return [
          check(
            'dependency',
            'rest-api',
            'failure',
            `the harvest reads the custody's transactions from sequence number ${from}; the node has pruned them (${first}; it keeps versions from ${ledger.oldestVersion})`,
            'give an endpoint that keeps that history (a node with a longer ledger prune window), or set options.historyFromSequence',
          ),
        ];
      }
      return [check('dependency', 'rest-api', 'ok', `REST API v1 at ledger version ${ledger.version}; the custody's transactions from sequence number ${from} are kept`)];
    })),
  );

  let limits: Awaited<ReturnType<typeof readLimits>> | undefined;
  checks.push(
    ...(await guarded('custody', custody, fundHint, async () => {
      const ledger = await client.ledger();
      let exists = true;
      try {
        await client.call((aptos) => aptos.getAccountInfo({ accountAddress: custody }));
      } catch (error) {
        if (!(error instanceof AptosApiError) || error.status !== 404) throw error;
        exists = false;
      }
      limits = await readLimits(client);
      const liquid = await client.balance(custody, ledger.version);
      let bonded = 0n;
      for (const pool of options.pools) {
        const [active, inactive, pendingInactive] = await client.stake(pool, custody, ledger.version).catch(() => [0n, 0n, 0n] as const);
        bonded += active + inactive + pendingInactive;
      }
      // An account the chain has not created yet, but funded: a deposit to an address creates it (aptos_account::transfer).
      return [custodyCheck(custody, { exists: exists || liquid > 0n, liquid, bonded }, limits, config.decimals, config.asset, fundHint)];
    })),
  );
  checks.push(...(await guarded('limits', 'limits', 'check the endpoints above', async () => [limitsCheck(limits ?? (await readLimits(client)), config.decimals, config.asset)])));

  for (const pool of options.pools) {
    const name = client.label(pool);
    checks.push(
      ...(await guarded('validator', name, 'check the pool address, or pick another delegation pool from the explorer\'s validator list', async () => {
        const { version } = await client.ledger();
        const [exists] = await client.view('0x1::delegation_pool::delegation_pool_exists', [pool], version);
        if (exists !== true) return [check('validator', name, 'failure', 'no delegation pool at this address', 'the validators must be 0x1::delegation_pool addresses (a validator\'s own stake pool is not one)')];
        const [state = 0n] = await client.viewU64('0x1::stake::get_validator_state', [pool], version);
        const [commission = 0n] = await client.viewU64('0x1::delegation_pool::operator_commission_percentage', [pool], version);
        const detail = `commission ${(Number(commission) / 100).toFixed(2)}%, validator ${STATES[state.toString()] ?? `state ${state}`}`;
        if (state !== 2n) return [check('validator', name, 'warning', `${detail}: stake earns nothing while the validator is out of the active set`, 'pick a pool whose validator is in the active set')];
        return [check('validator', name, 'ok', detail)];
      })),
    );
  }
  return checks;
}
