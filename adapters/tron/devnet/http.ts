/**
 * The java-tron HTTP API the devnet serves (framework/src/main/java/org/tron/core/services/http/*Servlet.java),
 * GET and POST alike, `/wallet/*` from the full node's pending state and
 * `/walletsolidity/*` from the solidified block's state, on the kit's REST
 * router (a fault names a route as `POST /wallet/broadcasttransaction`).
 * Servlet exceptions answer HTTP 200 `{"Error": "<class> : <message>"}`
 * (Util.processError); the exception class names the devnet gives are the
 * likeliest, not checked against a node.
 */
import { ResponseLost } from '../../devnet/faults.js';
import { RestRouter, type RestRequest, type RestResponse } from '../../devnet/rest.js';
import { expiredAmount, UNFREEZE_MAX_TIMES, unfreezingCount } from './actuators.js';
import { type Block, type TronChain } from './chain.js';
import { parseAddress, TxParseError } from './codec.js';
import { accountJson, accountResourceJson, blockJson, chainParametersJson, transactionInfoJson, transactionJson, tronStringify, witnessJson } from './json.js';
import { brokerageOf, queryReward } from './rewards.js';
import type { ChainState } from './state.js';

type Params = Record<string, unknown>;

function json(body: unknown): RestResponse {
  return { raw: tronStringify(body), headers: { 'content-type': 'application/json' } };
}

function error(className: string, message: string): RestResponse {
  return json({ Error: `class ${className} : ${message}` });
}

/** A request's parameters: the query, then the JSON body on top (java-tron's servlets read either). */
function paramsOf(request: RestRequest): { params: Params } | { refused: RestResponse } {
  const params: Params = Object.fromEntries(request.query.entries());
  if (params.visible === 'true') params.visible = true;
  if (request.body.trim() === '') return { params };
  try {
    const body: unknown = JSON.parse(request.body);
    if (body !== null && typeof body === 'object' && !Array.isArray(body)) return { params: { ...params, ...(body as Params) } };
    return { refused: error('org.tron.json.JSONException', "A JSONObject text must begin with '{'") };
  } catch (e) {
    return { refused: error('org.tron.json.JSONException', e instanceof Error ? e.message : String(e)) };
  }
}

/** The routes of one TRON devnet. */
export function tronRouter(chain: TronChain): RestRouter {
  const router = new RestRouter();
  const both = (path: string, handler: (params: Params, visible: boolean) => RestResponse | Promise<RestResponse>): void => {
    const run = (request: RestRequest): RestResponse | Promise<RestResponse> => {
      chain.catchUp();
      const parsed = paramsOf(request);
      if ('refused' in parsed) return parsed.refused;
      return handler(parsed.params, parsed.params.visible === true);
    };
    router.route('GET', path, run).route('POST', path, run);
  };
  const blockFor = (block: Block | undefined, detail: boolean, visible: boolean): RestResponse => {
    if (block === undefined) return json({});
    const txs = detail ? block.txids.map((id) => chain.txs.get(id)!) : undefined;
    return json(blockJson(block, chain.witnessSignature(block), txs, visible));
  };
  const findBlock = (idOrNum: unknown, limit: number): Block | RestResponse | undefined => {
    if (idOrNum === undefined || idOrNum === '') return chain.blocks[limit];
    const text = String(idOrNum);
    if (/^\d+$/.test(text)) return Number(text) <= limit ? chain.blocks[Number(text)] : undefined;
    if (text.startsWith('-')) return json({ Error: 'num must be non-positive number.' });
    if (!/^[0-9a-fA-F]{64}$/.test(text)) return json({ Error: 'id must be legal block hash.' });
    const number = parseInt(text.slice(0, 16), 16);
    const block = chain.blocks[number];
    return block !== undefined && block.id === text.toLowerCase() && number <= limit ? block : undefined;
  };

  for (const solidity of [false, true]) {
    const prefix = solidity ? '/walletsolidity' : '/wallet';
    const state = (): ChainState => (solidity ? chain.solidState() : chain.pendingState());
    const limit = (): number => (solidity ? chain.solidNumber() : chain.head.number);

    both(`${prefix}/getnowblock`, (_p, visible) => blockFor(chain.blocks[limit()], true, visible));
    both(`${prefix}/getblock`, (p, visible) => {
      const found = findBlock(p.id_or_num, limit());
      if (found !== undefined && !('id' in found)) return found;
      return blockFor(found, p.detail === true || p.detail === 'true', visible);
    });
    both(`${prefix}/gettransactionbyid`, (p, visible) => {
      const t = chain.txs.get(String(p.value ?? '').toLowerCase());
      return json(t === undefined || t.blockNumber > limit() ? {} : transactionJson(t, visible));
    });
    both(`${prefix}/gettransactioninfobyid`, (p) => {
      const t = chain.txs.get(String(p.value ?? '').toLowerCase());
      return json(t === undefined || t.blockNumber > limit() ? {} : transactionInfoJson(t));
    });
    both(`${prefix}/getaccount`, (p, visible) => {
      const s = state();
      const address = parseAddress(p.address, visible);
      if (address === undefined) return json({});
      return json(accountJson(s, chain.params, chain.genesisTime, s.accounts.get(address), visible));
    });
    // GetRewardServlet: built by hand, always `reward`; 0 for an unknown or invalid address.
    both(`${prefix}/getReward`, (p, visible) => {
      const s = state();
      const address = parseAddress(p.address, visible);
      return json({ reward: address === undefined ? 0n : queryReward(s, s.accounts.get(address)) });
    });
    // GetBrokerageServlet: the current cycle's brokerage, percent.
    both(`${prefix}/getBrokerage`, (p, visible) => {
      const s = state();
      const address = parseAddress(p.address, visible);
      return json({ brokerage: address === undefined ? 0 : brokerageOf(s, s.dyn.cycle, address) });
    });
    // Wallet.getAvailableUnfreezeCount: 32 − unexpired entries at the latest block's time; `{}` when 0.
    both(`${prefix}/getavailableunfreezecount`, (p, visible) => {
      const s = state();
      const address = parseAddress(p.owner_address, visible);
      const account = address === undefined ? undefined : s.accounts.get(address);
      if (account === undefined) return json({});
      const count = UNFREEZE_MAX_TIMES - unfreezingCount(account, s.dyn.latestBlockTimestamp);
      return json(count === 0 ? {} : { count });
    });
    // Wallet.getCanWithdrawUnfreezeAmount: expired by `timestamp` (0: the latest block's time); `{}` when 0, negative or unknown.
    both(`${prefix}/getcanwithdrawunfreezeamount`, (p, visible) => {
      const s = state();
      const address = parseAddress(p.owner_address, visible);
      const account = address === undefined ? undefined : s.accounts.get(address);
      const timestamp = Number(p.timestamp ?? 0);
      if (account === undefined || !Number.isFinite(timestamp) || timestamp < 0) return json({});
      const amount = expiredAmount(account.unfrozenV2, timestamp === 0 ? s.dyn.latestBlockTimestamp : timestamp);
      return json(amount === 0n ? {} : { amount });
    });
  }

  both('/wallet/broadcasttransaction', (p) => {
    let result;
    try {
      result = chain.broadcast(p);
    } catch (e) {
      if (e instanceof TxParseError) return error('org.tron.core.services.http.JsonFormat$ParseException', e.message);
      throw e;
    }
    if (result.ok) {
      if (result.loseResponse) throw new ResponseLost();
      return json({ result: true, txid: result.txid });
    }
    const visible = p.visible === true;
    return json({ code: result.code, txid: result.txid, message: visible ? result.message : Buffer.from(result.message, 'utf8').toString('hex') });
  });
  both('/wallet/getaccountresource', (p, visible) => {
    const s = chain.pendingState();
    const address = parseAddress(p.address, visible);
    return json(accountResourceJson(s, chain.params, chain.genesisTime, address === undefined ? undefined : s.accounts.get(address)));
  });
  both('/wallet/listwitnesses', (_p, visible) => {
    const witnesses = [...chain.pendingState().witnesses.values()].sort((a, b) => (a.address < b.address ? -1 : 1));
    return json({ witnesses: witnesses.map((w) => witnessJson(w, visible)) });
  });
  both('/wallet/getnextmaintenancetime', () => json({ num: chain.pendingState().dyn.nextMaintenanceTime }));
  both('/wallet/getchainparameters', () => json(chainParametersJson(chain.params)));
  return router;
}
