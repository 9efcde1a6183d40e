/**
 * The Aptos node REST API (api/src/*.rs, spec api/doc/spec.yaml) on the
 * kit's REST router: every answer carries the seven X-Aptos-* ledger
 * headers (api/src/response.rs), errors are `AptosError` JSON with the
 * node's status codes, u64 values are decimal strings.
 */
import { AccountAddress, Deserializer, EntryFunction } from '@aptos-labs/ts-sdk';
import { setTimeout as sleep } from 'node:timers/promises';
import { ResponseLost } from '../../devnet/faults.js';
import { RestRouter, type RestRequest, type RestResponse } from '../../devnet/rest.js';
import { moduleJson } from './abi.js';
import { type AptosChain, MIN_GAS_UNIT_PRICE } from './chain.js';
import { AptosApiError } from './errors.js';
import { pendingJson } from './json.js';
import { apiAddress, hex, longAddress, sha3 } from './transactions.js';
import { runView } from './views.js';

/** config/src/config/api_config.rs `wait_by_hash_timeout_ms` and its poll interval. */
const WAIT_BY_HASH_TIMEOUT_MS = 1_000;
const WAIT_BY_HASH_POLL_MS = 20;
/** api_config.rs `max_transactions_page_size` (DEFAULT_MAX_PAGE_SIZE); the default page is 25 (unconfirmed). */
const MAX_PAGE_SIZE = 100;
const DEFAULT_PAGE_SIZE = 25;
const APT_COIN = '0x1::aptos_coin::AptosCoin';

function ledgerHeaders(chain: AptosChain): Record<string, string> {
  return {
    'X-Aptos-Chain-Id': String(chain.chainId),
    'X-Aptos-Ledger-Version': chain.version.toString(),
    'X-Aptos-Ledger-Oldest-Version': chain.oldestVersion.toString(),
    'X-Aptos-Ledger-TimestampUsec': chain.timestampUs.toString(),
    'X-Aptos-Epoch': chain.state.epoch.toString(),
    'X-Aptos-Block-Height': chain.height.toString(),
    'X-Aptos-Oldest-Block-Height': chain.oldestBlockHeight.toString(),
  };
}

function parseAddress(text: string): string {
  try {
    return longAddress(AccountAddress.fromString(text, { maxMissingChars: 63 }));
  } catch {
    throw new AptosApiError(400, 'invalid_input', `failed to parse path \`address\`: failed to parse "string(Address)": Invalid address: ${text}`);
  }
}

function parseVersion(request: RestRequest): bigint | undefined {
  const text = request.query.get('ledger_version');
  if (text === null) return undefined;
  if (!/^\d+$/.test(text)) throw new AptosApiError(400, 'invalid_input', `failed to parse query \`ledger_version\`: ${text}`);
  return BigInt(text);
}

function contentType(request: RestRequest): string {
  const value = request.headers['content-type'];
  return ((Array.isArray(value) ? value[0] : value) ?? '').split(';')[0]!.trim().toLowerCase();
}

/** The REST routes of one chain. */
export function aptosRouter(chain: AptosChain): RestRouter {
  const router = new RestRouter();
  const ok = (body: unknown, status = 200, extra: Record<string, string> = {}): RestResponse => ({ status, body, headers: { ...ledgerHeaders(chain), ...extra } });
  const handle =
    (fn: (request: RestRequest) => RestResponse | Promise<RestResponse>) =>
    async (request: RestRequest): Promise<RestResponse> => {
      try {
        chain.catchUp();
        return await fn(request);
      } catch (error) {
        if (error instanceof AptosApiError) return { status: error.status, body: error.body(), headers: ledgerHeaders(chain) };
        throw error;
      }
    };
  const readAt = (request: RestRequest) => {
    const version = parseVersion(request);
    return chain.stateAt(version ?? chain.version);
  };
  const accountOr404 = (request: RestRequest) => {
    const address = parseAddress(request.params.address!);
    const version = parseVersion(request) ?? chain.version;
    const { state } = chain.stateAt(version);
    const account = state.accounts.get(address);
    // api/src/accounts.rs with DEFAULT_ACCOUNT_RESOURCE off (whether mainnet has it on is unconfirmed: the stricter answer).
    if (account === undefined) throw new AptosApiError(404, 'account_not_found', `Account not found by Address(${apiAddress(address)}) and Ledger version(${version})`);
    return { address, account, version, state };
  };
  const resources = (request: RestRequest): { type: string; data: Record<string, unknown> }[] => {
    const { address, account, state } = accountOr404(request);
    const list: { type: string; data: Record<string, unknown> }[] = [
      {
        type: '0x1::account::Account',
        data: {
          authentication_key: `0x${account.authKey.slice(2)}`,
          coin_register_events: { counter: '0', guid: { id: { addr: apiAddress(address), creation_num: '0' } } },
          guid_creation_num: '2',
          key_rotation_events: { counter: '0', guid: { id: { addr: apiAddress(address), creation_num: '1' } } },
          rotation_capability_offer: { for: { vec: [] } },
          sequence_number: account.sequenceNumber.toString(),
          signer_capability_offer: { for: { vec: [] } },
        },
      },
    ];
    const pool = state.pools.get(address);
    if (pool !== undefined) {
      const s = pool.stake;
      list.push({
        type: '0x1::stake::StakePool',
        data: {
          active: { value: s.active.toString() },
          inactive: { value: s.inactive.toString() },
          pending_active: { value: s.pendingActive.toString() },
          pending_inactive: { value: s.pendingInactive.toString() },
          locked_until_secs: s.lockedUntilSecs.toString(),
          operator_address: apiAddress(s.operator),
          delegated_voter: apiAddress(s.operator),
        },
      });
      list.push({
        type: '0x1::delegation_pool::DelegationPool',
        data: {
          observed_lockup_cycle: { index: pool.observedLockupCycle.toString() },
          operator_commission_percentage: pool.operatorCommissionPercentage.toString(),
          total_coins_inactive: pool.totalCoinsInactive.toString(),
          active_shares: { total_coins: pool.activeShares.totalCoins.toString(), total_shares: pool.activeShares.totalShares.toString(), scaling_factor: pool.activeShares.scalingFactor.toString() },
        },
      });
    }
    if (address === longAddress('0x1')) {
      const c = chain.config;
      list.push({
        type: '0x1::staking_config::StakingConfig',
        data: {
          minimum_stake: c.minimumStake.toString(),
          maximum_stake: c.maximumStake.toString(),
          recurring_lockup_duration_secs: c.recurringLockupDurationSecs.toString(),
          allow_validator_set_change: true,
          rewards_rate: c.rewardsRate.toString(),
          rewards_rate_denominator: c.rewardsRateDenominator.toString(),
          voting_power_increase_limit: c.votingPowerIncreaseLimit.toString(),
        },
      });
      list.push({ type: '0x1::block::BlockResource', data: { height: chain.height.toString(), epoch_interval: chain.epochIntervalUs.toString() } });
      list.push({ type: '0x1::reconfiguration::Configuration', data: { epoch: state.epoch.toString(), last_reconfiguration_time: state.lastReconfigurationUs.toString() } });
    }
    return list;
  };

  const ledgerInfo = handle(() =>
    ok({
      chain_id: chain.chainId,
      epoch: chain.state.epoch.toString(),
      ledger_version: chain.version.toString(),
      oldest_ledger_version: chain.oldestVersion.toString(),
      ledger_timestamp: chain.timestampUs.toString(),
      node_role: 'full_node',
      oldest_block_height: chain.oldestBlockHeight.toString(),
      block_height: chain.height.toString(),
      git_hash: 'softstake-devnet',
    }),
  );
  router.route('GET', '/v1', ledgerInfo);
  router.route('GET', '/v1/', ledgerInfo);

  router.route(
    'GET',
    '/v1/accounts/:address',
    handle((request) => {
      const { account } = accountOr404(request);
      return ok({ sequence_number: account.sequenceNumber.toString(), authentication_key: account.authKey });
    }),
  );
  router.route('GET', '/v1/accounts/:address/resources', handle((request) => ok(resources(request))));
  router.route(
    'GET',
    '/v1/accounts/:address/resource/:type',
    handle((request) => {
      const found = resources(request).find((r) => r.type === request.params.type);
      if (found === undefined) {
        const version = parseVersion(request) ?? chain.version;
        throw new AptosApiError(404, 'resource_not_found', `Resource not found by Address(${apiAddress(parseAddress(request.params.address!))}), Struct tag(${request.params.type}) and Ledger version(${version})`);
      }
      return ok(found);
    }),
  );
  router.route(
    'GET',
    '/v1/accounts/:address/module/:name',
    handle((request) => {
      const address = parseAddress(request.params.address!);
      const module = address === longAddress('0x1') ? moduleJson(request.params.name!) : undefined;
      if (module === undefined) throw new AptosApiError(404, 'module_not_found', `Module not found by Address(${apiAddress(address)}), Module name(${request.params.name}) and Ledger version(${chain.version})`);
      return ok(module);
    }),
  );
  router.route(
    'GET',
    '/v1/accounts/:address/balance/:asset',
    handle((request) => {
      const asset = request.params.asset!;
      // APT by its coin type or its fungible-asset metadata address 0xa.
      const isApt = asset === APT_COIN || (!asset.includes('::') && /^0x0*a$/i.test(asset));
      if (!isApt) {
        throw new AptosApiError(400, 'invalid_input', `devnet: only APT (${APT_COIN} or 0xa) has balances`);
      }
      const { account } = accountOr404(request);
      // api/src/accounts.rs answers a bare JSON number.
      return ok(Number(account.balance));
    }),
  );
  router.route(
    'GET',
    '/v1/accounts/:address/transactions',
    handle((request) => {
      const address = parseAddress(request.params.address!);
      const start = BigInt(request.query.get('start') ?? '0');
      const limit = Math.min(Number(request.query.get('limit') ?? DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE);
      return ok(chain.accountTransactions(address, start, limit).map((c) => c.json));
    }),
  );
  router.route(
    'GET',
    '/v1/estimate_gas_price',
    // An idle chain: every estimate at the minimum price (the node's prioritized figure on an idle chain is unconfirmed).
    handle(() => ok({ deprioritized_gas_estimate: Number(MIN_GAS_UNIT_PRICE), gas_estimate: Number(MIN_GAS_UNIT_PRICE), prioritized_gas_estimate: Number(MIN_GAS_UNIT_PRICE) })),
  );

  const requireBcs = (request: RestRequest, mime: string): void => {
    // The node also takes JSON submissions; the devnet takes the SDK's BCS only.
    if (contentType(request) !== mime) throw new AptosApiError(400, 'invalid_input', `devnet: send ${mime}`);
  };
  router.route(
    'POST',
    '/v1/transactions',
    handle((request) => {
      requireBcs(request, 'application/x.aptos.signed_transaction+bcs');
      const { json, loseResponse } = chain.submit(request.bytes);
      if (loseResponse) throw new ResponseLost();
      return ok(json, 202);
    }),
  );
  router.route(
    'POST',
    '/v1/transactions/simulate',
    handle((request) => {
      requireBcs(request, 'application/x.aptos.signed_transaction+bcs');
      const flag = (name: string): boolean => request.query.get(name) === 'true';
      const result = chain.simulate(request.bytes, { estimateGasUnitPrice: flag('estimate_gas_unit_price'), estimateMaxGasAmount: flag('estimate_max_gas_amount') });
      return ok([result], 200, { 'X-Aptos-Gas-Used': String(result.gas_used) });
    }),
  );
  const notFound = (hash: string): AptosApiError => new AptosApiError(404, 'transaction_not_found', `Transaction not found by Transaction hash(${hash})`);
  router.route(
    'GET',
    '/v1/transactions/by_hash/:hash',
    handle((request) => {
      const found = chain.lookup(request.params.hash!);
      if (found === undefined) throw notFound(request.params.hash!);
      return ok('committed' in found ? found.committed.json : { ...pendingJson(found.pending), type: 'pending_transaction' });
    }),
  );
  router.route(
    'GET',
    '/v1/transactions/wait_by_hash/:hash',
    handle(async (request) => {
      const hash = request.params.hash!;
      const deadline = Date.now() + WAIT_BY_HASH_TIMEOUT_MS;
      let found = chain.lookup(hash);
      if (found === undefined) throw notFound(hash);
      while ('pending' in found && Date.now() < deadline) {
        await sleep(WAIT_BY_HASH_POLL_MS);
        chain.catchUp();
        found = chain.lookup(hash) ?? found;
      }
      // Still pending at the timeout: the pending transaction, not an error.
      return ok('committed' in found ? found.committed.json : { ...pendingJson(found.pending), type: 'pending_transaction' });
    }),
  );
  const blockJson = (by: { height: bigint } | { version: bigint }, label: string): RestResponse => {
    const block = chain.block(by);
    if (block === undefined) throw new AptosApiError(404, 'block_not_found', `Block not found by ${label} and Ledger version(${chain.version})`);
    if (block === 'pruned') throw new AptosApiError(410, 'block_pruned', `${label} has been pruned`);
    // with_transactions=true is not served by the devnet (the block's transactions are not kept as such).
    return ok({
      block_height: block.height.toString(),
      block_hash: hex(sha3('softstake-devnet:block:', block.height.toString())),
      block_timestamp: block.timeUs.toString(),
      first_version: block.firstVersion.toString(),
      last_version: block.lastVersion.toString(),
      transactions: null,
    });
  };
  const u64Param = (request: RestRequest, name: string): bigint => {
    const text = request.params[name]!;
    if (!/^\d+$/.test(text)) throw new AptosApiError(400, 'invalid_input', `failed to parse path \`${name}\`: ${text}`);
    return BigInt(text);
  };
  router.route(
    'GET',
    '/v1/blocks/by_height/:height',
    handle((request) => {
      const height = u64Param(request, 'height');
      return blockJson({ height }, `Height(${height})`);
    }),
  );
  router.route(
    'GET',
    '/v1/blocks/by_version/:version',
    handle((request) => {
      const version = u64Param(request, 'version');
      return blockJson({ version }, `Version(${version})`);
    }),
  );
  router.route(
    'POST',
    '/v1/view',
    handle((request) => {
      const { state, timestampUs } = readAt(request);
      let functionId: string;
      let typeArguments: unknown[];
      let args: Uint8Array[];
      if (contentType(request) === 'application/x.aptos.view_function+bcs') {
        let entry: EntryFunction;
        try {
          entry = EntryFunction.deserialize(new Deserializer(request.bytes));
        } catch {
          throw new AptosApiError(400, 'invalid_input', 'Failed to deserialize input into ViewRequest');
        }
        functionId = `${apiAddress(entry.module_name.address.toString())}::${entry.module_name.name.identifier}::${entry.function_name.identifier}`;
        typeArguments = entry.type_args;
        args = entry.args.map((a) => a.bcsToBytes());
      } else {
        let body: { function?: unknown; type_arguments?: unknown; arguments?: unknown };
        try {
          body = JSON.parse(request.body) as typeof body;
        } catch {
          throw new AptosApiError(400, 'invalid_input', 'Parse error: invalid JSON body');
        }
        if (typeof body.function !== 'string' || !Array.isArray(body.arguments)) throw new AptosApiError(400, 'invalid_input', 'view request needs function and arguments');
        functionId = body.function;
        typeArguments = Array.isArray(body.type_arguments) ? body.type_arguments : [];
        args = jsonArgs(body.arguments);
      }
      const result = runView(state, chain.config, timestampUs / 1_000_000n, functionId, typeArguments, args);
      return ok(result, 200, { 'X-Aptos-Gas-Used': '7' });
    }),
  );
  return router;
}

/** JSON view arguments to BCS: addresses (`0x…`) as 32 bytes, numeric strings as u64, booleans as bool. */
function jsonArgs(values: unknown[]): Uint8Array[] {
  return values.map((v) => {
    if (typeof v === 'boolean') return new Uint8Array([v ? 1 : 0]);
    if (typeof v === 'string' && v.startsWith('0x')) {
      try {
        return AccountAddress.fromString(v, { maxMissingChars: 63 }).toUint8Array();
      } catch {
        throw new AptosApiError(400, 'invalid_input', `Invalid address: ${v}`);
      }
    }
    if ((typeof v === 'string' && /^\d+$/.test(v)) || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)) {
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setBigUint64(0, BigInt(v), true);
      return bytes;
    }
    throw new AptosApiError(400, 'invalid_input', `devnet: cannot read view argument ${JSON.stringify(v)}`);
  });
}
