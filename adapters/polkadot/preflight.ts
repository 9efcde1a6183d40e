/**
 * The Polkadot preflight (ChainAdapter.preflight): each endpoint over a
 * plain WebSocket (`chain_getBlockHash(0)`: the genesis hash is the chain's
 * id; `system_chain`, `system_health`), the staking pallets in the
 * metadata, the past state a harvest reads (from the checkpoint's block),
 * the custody account, each validator (nominate) or the pool, the limits.
 * Read-only, from the custody address.
 */
import { WebSocket } from 'ws';

import { check, custodyCheck, endpointChecks, guarded, limitsCheck } from '../preflight.js';
import type { PreflightCheck } from '../types.js';
import { accountRawAt, hashAt } from './blocks.js';
import type { PolkadotClient } from './client.js';
import { parseCheckpoint } from './harvest.js';
import { fundingOf } from './keys.js';
import { poolTarget } from './options.js';
import { readLimits, readPosition, targetHexes, targetName } from './position.js';
import { readSnapshot } from './state.js';

function reasonOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 300);
}

/** JSON-RPC calls over one short-lived WebSocket. */
async function rawCalls(endpoint: string, signal: AbortSignal, calls: [string, unknown[]][]): Promise<unknown[]> {
  const ws = new WebSocket(endpoint);
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      signal.addEventListener('abort', () => reject(new Error('timeout')), { once: true });
    });
    return await new Promise<unknown[]>((resolve, reject) => {
      const results = new Map<number, unknown>();
      ws.on('message', (data) => {
        const message = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { code: number; message: string } };
        if (message.id === undefined) return;
        if (message.error !== undefined) return reject(new Error(`${message.error.code}: ${message.error.message}`));
        results.set(message.id, message.result);
        if (results.size === calls.length) resolve(calls.map((_c, i) => results.get(i + 1)));
      });
      calls.forEach(([method, params], i) => ws.send(JSON.stringify({ jsonrpc: '2.0', id: i + 1, method, params })));
    });
  } finally {
    ws.terminate();
  }
}

const ARCHIVE_FIX = 'put an archive node (--state-pruning archive) among the endpoints, or one whose state pruning covers the blocks since the checkpoint';

export async function preflight(client: PolkadotClient, checkpointText: string | null): Promise<PreflightCheck[]> {
  const { config, options } = client;
  const checks: PreflightCheck[] = [];
  checks.push(
    ...(await endpointChecks(config.endpoints, options.genesisHash, config.requestTimeoutMs, async (endpoint, signal) => {
      const [genesis, chain, health] = (await rawCalls(endpoint, signal, [['chain_getBlockHash', [0]], ['system_chain', []], ['system_health', []]])) as [string, string, { peers?: number; isSyncing?: boolean }];
      return { chainId: genesis.toLowerCase(), detail: `${chain}${health?.isSyncing === true ? ', still syncing' : ''}, ${health?.peers ?? '?'} peers` };
    })),
  );
  checks.push(
    ...(await guarded('dependency', 'staking-pallets', 'point the endpoints at the chain that runs staking (Asset Hub since the 2025 migration)', async () => {
      const missing = await client.call(async (api) => {
        const wanted = options.mode === 'pool' ? ['staking', 'nominationPools'] : ['staking'];
        return wanted.filter((p) => (api.query as Record<string, unknown>)[p] === undefined);
      });
      return [missing.length === 0 ? check('dependency', 'staking-pallets', 'ok', `the metadata has ${options.mode === 'pool' ? 'Staking and NominationPools' : 'Staking'}`) : check('dependency', 'staking-pallets', 'failure', `the metadata has no ${missing.join(', ')}`, 'point the endpoints at the chain that runs staking (Asset Hub since the 2025 migration)')];
    })),
  );
  let custody: string;
  try {
    custody = await client.accountId();
  } catch (error) {
    return [...checks, check('custody', 'custody', 'failure', `no custody address: ${reasonOf(error)}`, "set the chain block's address, or fix the signer file (softstake keys show)")];
  }
  const from = checkpointText === null ? options.historyFromBlock : (parseCheckpoint(checkpointText)?.block ?? options.historyFromBlock);
  checks.push(
    ...(await guarded('dependency', 'archival', ARCHIVE_FIX, async () => {
      // Harvest bisects the custody's account state from here to the head: the node must still have it.
      await accountRawAt(client, await hashAt(client, from), custody);
      return [check('dependency', 'archival', 'ok', `the endpoints keep the state of block ${from}, where the next harvest starts`)];
    })),
  );
  const address = await client.address();
  const fundHint = fundingOf(config, address).join('; ');
  const snapshot = await readSnapshot(client).catch(() => undefined);
  const limits = await readLimits(client).catch(() => undefined);
  if (snapshot === undefined || limits === undefined) return [...checks, check('custody', address, 'failure', 'could not read the account or the limits', 'check the endpoints above')];
  const bonded = options.mode === 'pool' ? (snapshot.member?.balance ?? 0n) : (snapshot.ledger?.active ?? 0n);
  const exists = snapshot.account.free > 0n || snapshot.account.reserved > 0n;
  checks.push(custodyCheck(address, { exists, liquid: snapshot.account.free, bonded }, limits, config.decimals, config.asset, fundHint));
  checks.push(limitsCheck(limits, config.decimals, config.asset));
  if (options.mode === 'pool') {
    const name = poolTarget(options.poolId!);
    const pool = snapshot.pool;
    if (pool === undefined) checks.push(check('validator', name, 'failure', 'no such pool', 'pick an Open pool (its id) from the chain'));
    else if (pool.state !== 'Open') checks.push(check('validator', name, snapshot.member === undefined ? 'failure' : 'warning', `${pool.state}: it takes no new stake`, 'pick an Open pool'));
    else if (pool.nominations.length === 0) checks.push(check('validator', name, 'warning', 'Open, nominates no validator: its stake earns nothing', 'pick a pool that nominates'));
    else checks.push(check('validator', name, 'ok', `Open, nominates ${pool.nominations.length} validators`));
    for (const stray of options.strays) checks.push(check('validator', stray, 'failure', `not pool ${options.poolId}, the one target of mode pool`, `list only ${name}, or change options.poolId`));
    return checks;
  }
  const position = await readPosition(client).catch(() => undefined);
  for (const stash of targetHexes(client)) {
    const name = targetName(client, stash);
    const health = position?.validators.find((v) => v.validator === name);
    if (health === undefined) checks.push(check('validator', name, 'failure', 'could not read it', 'check the endpoints above'));
    else if (health.jailed) checks.push(check('validator', name, 'failure', 'not a validator (no prefs, not elected)', 'nominate current validators (the staking dashboard lists them)'));
    else if (!health.active) checks.push(check('validator', name, 'warning', `commission ${(health.commissionBps ?? 0) / 100}%, not in the active era's set: no reward until elected`, 'nominate validators that are elected'));
    else checks.push(check('validator', name, 'ok', `commission ${(health.commissionBps ?? 0) / 100}%, elected for the active era`));
  }
  return checks;
}
