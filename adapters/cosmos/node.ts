/**
 * What the Cosmos adapter needs of a node beyond answering: harvest finds
 * the custody account's transactions with `tx_search` (CometBFT refuses it,
 * "transaction indexing is disabled", with `tx_index.indexer = "null"`:
 * cometbft rpc/core/tx.go) and reads the time of every block that paid a
 * reward since the last harvest (a node pruning blocks refuses heights below
 * its base: cometbft rpc/core/blocks.go, getHeight). Public nodes often run
 * with both: say so at start, in the position `/ready` reads, instead of a
 * harvest failing hours later.
 *
 * {@link checkCosmosNodes} is the whole check, callable on its own (a
 * preflight can run it against each endpoint).
 */
import type { CosmosClient } from './client.js';
import { messageOf } from './client.js';

/** How long one round of node checks holds, ms: node configuration rarely changes, and a poll must stay cheap. */
export const NODE_CHECK_MS = 10 * 60_000;

/** One endpoint's answer: what the adapter needs and it lacks (empty: nothing). */
export interface NodeCheck {
  /** 1-based, as the config lists it; never the URL (it may carry an API key). */
  endpoint: number;
  /** The node did not answer its `status` (failover covers it; not a problem in itself). */
  unreachable?: string;
  problems: string[];
}

/**
 * Asks each endpoint's `status` what the adapter needs: the tx indexer on,
 * and at least `minBlockHistoryMs` of blocks kept (by block times).
 */
export async function checkCosmosNodes(client: CosmosClient): Promise<NodeCheck[]> {
  const endpoints = client.config.endpoints;
  const hours = Math.round(client.options.minBlockHistoryMs / 3_600_000);
  return Promise.all(
    endpoints.map(async (endpoint, i): Promise<NodeCheck> => {
      const name = `endpoint ${i + 1} of ${endpoints.length}`;
      let status;
      try {
        status = await client.at(endpoint, (c) => c.comet.status());
      } catch (error) {
        return { endpoint: i + 1, unreachable: messageOf(error).slice(0, 200), problems: [] };
      }
      const problems: string[] = [];
      if (status.nodeInfo.other.get('tx_index') === 'off') {
        problems.push(
          `${name}: the node's tx indexer is off (tx_index.indexer = "null"); harvest finds the custody account's transactions with tx_search and cannot run against it: use a node with tx_index.indexer = "kv"`,
        );
      }
      const earliestHeight = status.syncInfo.earliestBlockHeight;
      const earliestTime = status.syncInfo.earliestBlockTime?.getTime();
      // History by the chain's own clock: from the earliest block kept to the latest.
      const latestTime = status.syncInfo.latestBlockTime.getTime();
      if (earliestHeight !== undefined && earliestHeight > 1 && earliestTime !== undefined && latestTime - earliestTime < client.options.minBlockHistoryMs) {
        problems.push(
          `${name}: the node keeps blocks only from height ${earliestHeight} (${new Date(earliestTime).toISOString()}), less than ${hours} h (minBlockHistoryMs); harvest reads the block time of every payout since its checkpoint and fails once the checkpoint falls below the node's pruning: use a node keeping more blocks (min-retain-blocks) or harvest more often`,
        );
      }
      return { endpoint: i + 1, problems };
    }),
  );
}

/** {@link checkCosmosNodes}, at most once per {@link NODE_CHECK_MS} per client: the problems, in words. */
export function nodeProblems(client: CosmosClient): Promise<string[]> {
  return client.cached('node check', NODE_CHECK_MS, async () => (await checkCosmosNodes(client)).flatMap((c) => c.problems));
}
