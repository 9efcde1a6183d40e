/**
 * The Cosmos preflight (ChainAdapter.preflight): each endpoint's `status`
 * (chain id, CometBFT version, syncing, tx indexer, earliest block), what
 * the harvest needs of the nodes (`tx_search` over the custody's
 * transactions and the blocks they are in), the custody account, each
 * validator, the limits. Read-only, from the custody address.
 */
import { Tendermint37Client } from '@cosmjs/tendermint-rpc';
import { BondStatus } from 'cosmjs-types/cosmos/staking/v1beta1/staking';
import { safeUrl } from '../errors.js';
import { check, custodyCheck, endpointChecks, guarded, limitsCheck } from '../preflight.js';
import type { PreflightCheck } from '../types.js';
import { decToBps } from './amounts.js';
import { parseCheckpoint } from './checkpoint.js';
import { messageOf, readAccount, type CosmosClient } from './client.js';
import { fundingOf } from './keys.js';
import { readDelegations, readLimits, readValidator } from './position.js';
import { FetchRpcClient, withRequestSignal } from './rpc.js';

/** What one endpoint said about itself and the custody's history. */
interface NodeFacts {
  endpoint: string;
  txIndex: string | undefined;
  earliest: number;
  /** The height of the custody's first transaction after the checkpoint, `null` when it has none; `Error` when `tx_search` failed. */
  firstTx: number | null | Error;
}

const PRUNED_FIX =
  'use a node that keeps the blocks since the checkpoint (an archive node, or pruning = "nothing" and min-retain-blocks = 0 in app.toml/config.toml), or put one first in endpoints';

async function probeEndpoint(client: CosmosClient, endpoint: string, signal: AbortSignal, address: string, from: bigint, facts: NodeFacts[]): Promise<{ chainId: string; detail: string }> {
  return withRequestSignal(signal, async () => {
    const comet = Tendermint37Client.create(new FetchRpcClient(endpoint, client.config.requestTimeoutMs, { calls: 0 }));
    const status = await comet.status();
    const fact: NodeFacts = { endpoint, txIndex: status.nodeInfo.other.get('tx_index'), earliest: status.syncInfo.earliestBlockHeight ?? 1, firstTx: null };
    if (status.nodeInfo.network === client.options.chainId) {
      try {
        const found = await comet.txSearch({ query: `message.sender='${address}' AND tx.height>${from}`, page: 1, per_page: 1, order_by: 'asc' });
        fact.firstTx = found.txs[0]?.height ?? null;
      } catch (error) {
        fact.firstTx = error instanceof Error ? error : new Error(messageOf(error));
      }
      facts.push(fact);
    }
    const syncing = status.syncInfo.catchingUp ? ', still catching up' : '';
    return { chainId: status.nodeInfo.network, detail: `CometBFT ${status.nodeInfo.version}, height ${status.syncInfo.latestBlockHeight}${syncing}` };
  });
}

/** The dependency checks from what every endpoint on the right chain said. */
function dependencyChecks(facts: readonly NodeFacts[], from: bigint): PreflightCheck[] {
  if (facts.length === 0) return [];
  const noIndex = facts.filter((f) => f.txIndex === 'off' || f.firstTx instanceof Error);
  const txIndex =
    noIndex.length === 0
      ? check('dependency', 'tx-index', 'ok', `tx_search answers on ${facts.length} endpoint(s)`)
      : check(
          'dependency',
          'tx-index',
          'failure',
          `no transaction index on ${noIndex.map((f) => `${safeUrl(f.endpoint)} (${f.txIndex === 'off' || !(f.firstTx instanceof Error) ? 'status says tx_index off' : messageOf(f.firstTx).slice(0, 200)})`).join(', ')}: the daemon finds its transactions and rewards with tx_search`,
          'use nodes with [tx_index] indexer = "kv" in config.toml, or drop these endpoints',
        );
  const pruned = facts.filter((f) => typeof f.firstTx === 'number' && f.firstTx < f.earliest);
  const history =
    pruned.length === 0
      ? check('dependency', 'block-history', 'ok', `the blocks a harvest reads (after height ${from}) are on every endpoint`)
      : check(
          'dependency',
          'block-history',
          'failure',
          `${pruned.map((f) => `${safeUrl(f.endpoint)} keeps blocks from ${f.earliest}`).join(', ')}; the custody's transactions since the checkpoint start at height ${String(pruned[0]!.firstTx)}`,
          PRUNED_FIX,
        );
  return [txIndex, history];
}

export async function preflight(client: CosmosClient, checkpointText: string | null): Promise<PreflightCheck[]> {
  const { config, options } = client;
  const checks: PreflightCheck[] = [];
  let address: string;
  try {
    address = await client.address();
  } catch (error) {
    return [check('custody', 'custody', 'failure', `no custody address: ${messageOf(error).slice(0, 300)}`, "set the chain block's address, or fix the signer file (softstake keys show)")];
  }
  const from = (() => {
    try {
      return parseCheckpoint(checkpointText).height;
    } catch {
      return 0n;
    }
  })();

  const facts: NodeFacts[] = [];
  checks.push(...(await endpointChecks(config.endpoints, options.chainId, config.requestTimeoutMs, (endpoint, signal) => probeEndpoint(client, endpoint, signal, address, from, facts))));
  checks.push(...dependencyChecks(facts, from));

  const limits = await readLimits(client).catch((error: unknown) => error as Error);
  if (limits instanceof Error) checks.push(check('limits', 'limits', 'failure', `could not read the staking params: ${messageOf(limits).slice(0, 300)}`, 'check the endpoints above'));
  else checks.push(limitsCheck(limits, config.decimals, config.asset));

  const fundHint = fundingOf(options, address).join('; ');
  checks.push(
    ...(await guarded('custody', address, fundHint, async () => {
      if (limits instanceof Error) throw limits;
      const account = await readAccount(client, address);
      const balance = await client.rpc('bank balance', (c) => c.query.bank.balance(address, options.denom));
      const { stakes } = await readDelegations(client, address);
      const bonded = [...stakes.values()].reduce((sum, v) => sum + v, 0n);
      return [custodyCheck(address, { exists: account !== null || BigInt(balance.amount) > 0n, liquid: BigInt(balance.amount), bonded }, limits, config.decimals, config.asset, fundHint)];
    })),
  );

  for (const operator of options.validators) {
    checks.push(
      ...(await guarded('validator', operator, `check the address, or pick another validator from the active set (\`gaiad query staking validators\` on ${options.chainId})`, async () => {
        const v = await readValidator(client, operator);
        const rate = v.commission?.commissionRates?.rate;
        const commission = rate ? `commission ${(decToBps(rate) / 100).toFixed(2)}%` : 'commission unknown';
        const detail = `${v.description?.moniker ?? '?'}: ${commission}`;
        if (v.jailed) return [check('validator', operator, 'failure', `${detail}, jailed: stake with it earns nothing and may be slashed`, 'pick another validator, or wait until it is unjailed')];
        if (v.status !== BondStatus.BOND_STATUS_BONDED) return [check('validator', operator, 'warning', `${detail}, not in the active set: stake with it earns nothing until it is`, 'pick a validator in the active set')];
        return [check('validator', operator, 'ok', `${detail}, active`)];
      })),
    );
  }
  return checks;
}
