/**
 * The TRON preflight (ChainAdapter.preflight): each full node endpoint
 * (block 0's id names the network, the head its height), the solidity API
 * (`/walletsolidity/*`, which java-tron serves on a port of its own, 8091 by
 * default, and every final read here needs), the custody account, each
 * configured SR (known, in the top 127 so its voters are paid, its
 * brokerage), the limits. Read-only, from the custody address.
 */
import * as z from 'zod';

import { safeUrl } from '../errors.js';
import { fetchJson } from '../failover.js';
import { check, custodyCheck, endpointChecks, guarded, limitsCheck } from '../preflight.js';
import type { PreflightCheck } from '../types.js';
import { blockSchema, frozenOf, parseTronJson, toBase58, toHexAddress, type TronClient } from './client.js';
import { fundingOf } from './keys.js';
import { readLimits } from './position.js';

const witnessesSchema = z.object({ witnesses: z.array(z.object({ address: z.string(), voteCount: z.bigint().optional(), isJobs: z.boolean().optional() }).loose()).optional() }).loose();
const brokerageSchema = z.object({ brokerage: z.bigint().optional() }).loose();

/** Parameter.ChainConstant.WITNESS_STANDBY_LENGTH. */
const WITNESS_STANDBY_LENGTH = 127;

const SOLIDITY_FIX =
  "give the nodes' solidity HTTP API in options.solidityEndpoints: java-tron serves /walletsolidity/* on its own port (node.http.solidityPort, 8091 by default); TronGrid serves it on the same host";

export async function preflight(client: TronClient, _checkpoint: string | null): Promise<PreflightCheck[]> {
  const { config, options } = client;
  const checks: PreflightCheck[] = [];

  const heads = new Map<string, bigint>();
  checks.push(
    ...(await endpointChecks(config.endpoints, options.genesisBlockId, config.requestTimeoutMs, async (endpoint, signal) => {
      const genesis = client.parse(blockSchema, await fetchJson(endpoint, 'wallet/getblock', { body: { id_or_num: '0', detail: false }, signal, parse: parseTronJson }), 'block 0');
      const head = client.parse(blockSchema, await fetchJson(endpoint, 'wallet/getblock', { body: { detail: false }, signal, parse: parseTronJson }), 'head block');
      const height = BigInt(head.block_header.raw_data.number ?? 0);
      heads.set(endpoint, height);
      return { chainId: genesis.blockID, detail: `genesis ${genesis.blockID.slice(0, 16)}…, head ${height}` };
    })),
  );

  checks.push(
    ...(await guarded('dependency', 'solidity', SOLIDITY_FIX, async () => {
      const solid = await client.solidHead();
      const head = heads.size > 0 ? [...heads.values()].reduce((a, b) => (a > b ? a : b)) : undefined;
      const lag = head === undefined ? '' : `, ${head - solid.number} blocks behind the head`;
      // DposService.updateSolidBlock: about 19 blocks behind with 27 SRs; far more means the solidity node is stuck.
      if (head !== undefined && head - solid.number > 1_000n) {
        return [check('dependency', 'solidity', 'warning', `the solidified block ${solid.number}${lag}: the solidity node lags, transactions take that long to be final`, 'check the solidity node (or its endpoint) is synced')];
      }
      const shown = (options.solidityEndpoints ?? config.endpoints).map(safeUrl).join(', ');
      return [check('dependency', 'solidity', 'ok', `walletsolidity on ${shown}: solidified block ${solid.number}${lag}`)];
    })),
  );

  let address: string;
  try {
    address = await client.address();
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 300);
    return [...checks, check('custody', 'custody', 'failure', `no custody address: ${reason}`, "set the chain block's address, or fix the signer file (softstake keys show)")];
  }
  const fundHint = fundingOf(address).join('; ');
  checks.push(
    ...(await guarded('custody', address, fundHint, async () => {
      const account = await client.account('solid', toHexAddress(address)!);
      const limits = await readLimits(client);
      return [custodyCheck(address, { exists: account !== undefined, liquid: account?.balance ?? 0n, bonded: frozenOf(account) }, limits, config.decimals, config.asset, fundHint)];
    })),
  );
  checks.push(...(await guarded('limits', 'limits', 'check the endpoints above', async () => [limitsCheck(await readLimits(client), config.decimals, config.asset)])));

  const validators = config.validators ?? [];
  if (validators.length > 0) {
    const listed = await client
      .full('listwitnesses')
      .then((json) => client.parse(witnessesSchema, json, 'listwitnesses').witnesses ?? [])
      .catch(() => undefined);
    const ranked = listed === undefined ? undefined : [...listed].sort((a, b) => ((a.voteCount ?? 0n) === (b.voteCount ?? 0n) ? 0 : (a.voteCount ?? 0n) > (b.voteCount ?? 0n) ? -1 : 1));
    for (const validator of validators) {
      checks.push(
        ...(await guarded('validator', validator, 'check the SR address (T…), or pick another from wallet/listwitnesses', async () => {
          const hex = toHexAddress(validator);
          if (hex === undefined) return [check('validator', validator, 'failure', 'not a TRON address', 'SRs are named by their T… address')];
          if (ranked === undefined) throw new Error('listwitnesses did not answer');
          const rank = ranked.findIndex((w) => toBase58(w.address) === validator);
          if (rank < 0) return [check('validator', validator, 'failure', 'not a Super Representative (not in wallet/listwitnesses)', 'pick an SR from wallet/listwitnesses (or tronscan, "Super Representatives")')];
          const w = ranked[rank]!;
          const brokerage = client.parse(brokerageSchema, await client.full('getBrokerage', { address: hex }), 'getBrokerage').brokerage ?? 0n;
          const detail = `rank ${rank + 1} by votes (${w.voteCount ?? 0n}), ${w.isJobs === true ? 'producing blocks, ' : ''}brokerage ${brokerage}% (voters share the rest)`;
          // MortgageService.payStandbyWitness: only the top 127 by votes pay their voters.
          if (rank >= WITNESS_STANDBY_LENGTH || (w.voteCount ?? 0n) === 0n) return [check('validator', validator, 'warning', `${detail}: outside the top ${WITNESS_STANDBY_LENGTH}, its voters earn nothing`, 'vote for an SR in the top 127')];
          if (brokerage >= 100n) return [check('validator', validator, 'warning', `${detail}: it keeps every reward`, 'pick an SR with a lower brokerage')];
          return [check('validator', validator, 'ok', detail)];
        })),
      );
    }
  }
  return checks;
}
