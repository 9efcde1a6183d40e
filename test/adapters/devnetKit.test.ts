/**
 * The devnet kit (adapters/devnet/) on its own: a small chain built on it the
 * way every devnet is (a clock, a block producer, a mempool, a JSON-RPC
 * router with a subscription, a REST route, the ground truth), driven over
 * real HTTP and WebSocket sockets. Then the Cosmos and NEAR devnets' new
 * controls through their chains' own SDKs (cosmjs over WebSocket, a lost
 * broadcast answer; near-api-js with a delayed and a lost `send_tx`).
 */
import { connectComet } from '@cosmjs/tendermint-rpc';
import { Account, type KeyPairString } from 'near-api-js';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { DirectSecp256k1HdWallet } from '@cosmjs/proto-signing';
import { GasPrice, SigningStargateClient } from '@cosmjs/stargate';

import { createFundedAccount, startCosmosDevnet } from '../../adapters/cosmos/devnet.js';
import { BlockProducer } from '../../adapters/devnet/blocks.js';
import { DevnetClock, type ClockMode } from '../../adapters/devnet/clock.js';
import type { DevnetControls } from '../../adapters/devnet/controls.js';
import { ResponseLost } from '../../adapters/devnet/faults.js';
import { GroundTruthLedger } from '../../adapters/devnet/groundTruth.js';
import { JsonRpcError, JsonRpcRouter } from '../../adapters/devnet/jsonRpc.js';
import { Mempool } from '../../adapters/devnet/mempool.js';
import { RestRouter } from '../../adapters/devnet/rest.js';
import { startDevnetServer } from '../../adapters/devnet/server.js';
import { startNearDevnet } from '../../adapters/near/devnet.js';
import { until } from '../helpers/wait.js';

interface Included {
  hash: string;
  height: number;
  ok: boolean;
}

/** A toy chain on the kit: `send` puts a tx in the mempool, blocks include it, `tx` reads it back. */
async function toyChain(mode: ClockMode = 'frozen') {
  const clock = new DevnetClock({ mode, start: 1_700_000_000_000 });
  const blocks: { height: number; time: number; txs: string[] }[] = [{ height: 1, time: clock.start, txs: [] }];
  const txs = new Map<string, Included>();
  const heads = new Set<(head: { height: number; time: number }) => void>();
  const truth = new GroundTruthLedger();
  const head = () => blocks[blocks.length - 1]!;
  const produce = (time: number): void => {
    const entries = mempool.takeReady();
    const block = { height: head().height + 1, time, txs: entries.map((e) => e.hash) };
    blocks.push(block);
    for (const e of entries) {
      const included = { hash: e.hash, height: block.height, ok: !e.fail };
      txs.set(e.hash, included);
      if (included.ok) truth.record({ account: 'custody', kind: 'reward', amount: 5n, at: time, height: BigInt(block.height), ref: e.hash });
      void mempool.notifyIncluded(included);
    }
    for (const notify of heads) notify({ height: block.height, time });
  };
  const mempool: Mempool<string, Included> = new Mempool({ inclusionDelayMs: 5, include: () => produce(producer.now()) });
  const producer = new BlockProducer({ clock, blockMs: 1_000, headTime: () => head().time, produce, blockAtAdvance: false });

  const router = new JsonRpcRouter({ name: 'toy devnet' })
    .method('height', () => head().height)
    .method('send', (params) => {
      const [tx] = params as [string];
      const entry = mempool.add(tx, tx);
      if (entry?.loseResponse === true) throw new ResponseLost();
      return tx;
    })
    .method('tx', (params) => {
      const found = txs.get((params as [string])[0]);
      if (found === undefined) throw new JsonRpcError({ code: -32000, message: 'not found' });
      return found;
    })
    .subscription({
      subscribe: 'chain_subscribeNewHeads',
      unsubscribe: 'chain_unsubscribeNewHeads',
      notification: 'chain_newHead',
      start(_params, sink) {
        const push = (h: { height: number; time: number }) => sink.send(h);
        heads.add(push);
        return () => heads.delete(push);
      },
    });
  const rest = new RestRouter().route('GET', '/blocks/:height', (request) => {
    const block = blocks.find((b) => b.height === Number(request.params.height));
    return block === undefined ? { status: 404, body: { error: 'no such block' } } : { body: block };
  });
  const server = await startDevnetServer({ name: 'toy devnet', count: 2, jsonRpc: router, rest });
  return {
    clock,
    producer,
    mempool,
    server,
    truth,
    blocks,
    heads,
    close: async () => {
      mempool.close();
      producer.stop();
      await server.close();
    },
  };
}

type Toy = Awaited<ReturnType<typeof toyChain>>;

let toy: Toy | undefined;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await toy?.close();
  toy = undefined;
});

let nextId = 1;
async function rpc(url: string, method: string, params: unknown = []): Promise<{ status: number; body: { result?: unknown; error?: { code: number; message: string } } }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }) });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as { result?: unknown }) };
}

/** A WebSocket JSON-RPC client: calls by id, notifications in a list. */
async function wsClient(url: string) {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const pending = new Map<number, (message: Record<string, unknown>) => void>();
  const notifications: { method: string; params: { subscription: string; result: unknown } }[] = [];
  const order: string[] = [];
  ws.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
    if (typeof message.id === 'number') {
      order.push(`answer:${message.id}`);
      pending.get(message.id)?.(message);
    } else {
      order.push(`notification:${String(message.method)}`);
      notifications.push(message as never);
    }
  });
  cleanups.push(() => ws.terminate());
  return {
    ws,
    notifications,
    order,
    call(method: string, params: unknown = []): Promise<Record<string, unknown>> {
      const id = nextId++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      });
    },
  };
}

describe('devnet kit: router and listeners', () => {
  it('answers a JSON-RPC method over HTTP and over WebSocket alike, on every listener', async () => {
    toy = await toyChain();
    toy.clock.advance(3_000);
    for (const url of toy.server.urls) expect((await rpc(url, 'height')).body).toEqual({ jsonrpc: '2.0', id: nextId - 1, result: 4 });
    expect(toy.server.wsUrls).toHaveLength(2);
    const client = await wsClient(toy.server.wsUrls[1]!);
    const answer = await client.call('height');
    expect(answer.result).toBe(4);
    expect((await client.call('no_such_method')).error).toEqual({ code: -32601, message: 'Method not found', data: 'no_such_method' });
  });

  it('pushes subscription notifications over WebSocket after the subscription id, and stops after unsubscribe', async () => {
    toy = await toyChain();
    const client = await wsClient(toy.server.wsUrls[0]!);
    const subscribed = await client.call('chain_subscribeNewHeads');
    const id = subscribed.result as string;
    expect(typeof id).toBe('string');
    toy.clock.advance(2_000);
    await until(() => client.notifications.length === 2, 'two new-head notifications');
    expect(client.notifications).toEqual([
      { jsonrpc: '2.0', method: 'chain_newHead', params: { subscription: id, result: { height: 2, time: toy.clock.start + 1_000 } } },
      { jsonrpc: '2.0', method: 'chain_newHead', params: { subscription: id, result: { height: 3, time: toy.clock.start + 2_000 } } },
    ]);
    expect(client.order[0]).toMatch(/^answer:/);
    expect((await client.call('chain_unsubscribeNewHeads', [id])).result).toBe(true);
    expect((await client.call('chain_unsubscribeNewHeads', [id])).result).toBe(false);
    toy.clock.advance(5_000);
    expect((await client.call('height')).result).toBe(8); // the socket still answers; no notification came
    expect(client.notifications).toHaveLength(2);
    // Over HTTP a subscription is refused: there is no connection to push on.
    expect((await rpc(toy.server.urls[0]!, 'chain_subscribeNewHeads')).body.error).toEqual({ code: -32603, message: 'Internal error' });
  });

  it('closing the socket ends its subscriptions', async () => {
    toy = await toyChain();
    const client = await wsClient(toy.server.wsUrls[0]!);
    await client.call('chain_subscribeNewHeads');
    expect(toy.heads.size).toBe(1);
    client.ws.close();
    await until(() => toy!.heads.size === 0 && toy!.server.connections() === 0, 'the subscription is gone with its socket', 5_000, 20);
  });

  it('faults one JSON-RPC method only, on one listener or all, for a number of requests', async () => {
    toy = await toyChain();
    const [a, b] = toy.server.urls as [string, string];
    toy.server.faults.inject({ target: 'send' }, 'http503', 2);
    expect((await rpc(a, 'send', ['t1'])).status).toBe(503);
    expect((await rpc(a, 'height')).status).toBe(200); // other methods are untouched
    expect((await rpc(b, 'send', ['t1'])).status).toBe(503);
    expect((await rpc(a, 'send', ['t1'])).body.result).toBe('t1'); // two requests were faulted, the third goes through

    const heal = toy.server.faults.inject({ listener: 0, target: 'height' }, 'http429');
    const limited = await fetch(a, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'height' }) });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect((await rpc(b, 'height')).status).toBe(200);
    heal();
    expect((await rpc(a, 'height')).status).toBe(200);

    // Over WebSocket, an overloaded method is jsonrpsee's "server is busy".
    toy.server.faults.inject({ target: 'height' }, 'http503', 1);
    const client = await wsClient(toy.server.wsUrls[0]!);
    expect((await client.call('height')).error).toEqual({ code: -32009, message: 'Server is busy, try again later' });
    expect(typeof (await client.call('height')).result).toBe('number');
  });

  it('a timed-out method holds the request until the client gives up; a listener-wide reset cuts every request', async () => {
    toy = await toyChain();
    const [a, b] = toy.server.urls as [string, string];
    toy.server.faults.inject({ target: 'height' }, 'timeout');
    const started = Date.now();
    await expect(fetch(a, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'height' }), signal: AbortSignal.timeout(300) })).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    toy.server.faults.clear();
    toy.server.setFault(1, 'reset');
    await expect(rpc(b, 'height')).rejects.toThrow();
    expect((await rpc(a, 'height')).status).toBe(200);
    toy.server.setFault(1, null);
    expect((await rpc(b, 'height')).status).toBe(200);
  });

  it('serves REST routes and faults them per route', async () => {
    toy = await toyChain();
    const url = toy.server.urls[0]!;
    expect(await (await fetch(`${url}/blocks/1`)).json()).toEqual({ height: 1, time: toy.clock.start, txs: [] });
    expect((await fetch(`${url}/blocks/9`)).status).toBe(404);
    expect((await fetch(`${url}/nowhere`)).status).toBe(404);
    expect((await fetch(`${url}/blocks/1`, { method: 'DELETE' })).status).toBe(405);
    toy.server.faults.inject({ target: 'GET /blocks/:height' }, 'http503', 1);
    expect((await fetch(`${url}/blocks/1`)).status).toBe(503);
    expect((await fetch(`${url}/blocks/1`)).status).toBe(200);
  });
});

describe('devnet kit: clock and blocks', () => {
  it('the frozen clock moves only by advance, and the producer makes a block every blockMs of it', async () => {
    toy = await toyChain();
    const before = toy.blocks.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    toy.producer.catchUp();
    expect(toy.blocks.length).toBe(before);
    toy.clock.advance(2_500);
    expect(toy.blocks.map((b) => b.time - toy!.clock.start)).toEqual([0, 1_000, 2_000]);
    toy.clock.advance(500);
    expect(toy.blocks.at(-1)!.time - toy.clock.start).toBe(3_000);
    expect(() => toy!.clock.advance(-1)).toThrow(/advance\(ms\) needs an integer ≥ 0/);
  });

  it('the wall clock follows real time, plus what advance added; speedup scales accrual, not timestamps', () => {
    const clock = new DevnetClock({ mode: 'wall', speedup: 20 });
    const now = Date.now();
    expect(Math.abs(clock.now() - now)).toBeLessThan(50);
    clock.advance(60_000);
    expect(clock.now() - Date.now()).toBeGreaterThanOrEqual(59_950);
    expect(clock.accrual(1_000)).toBe(20_000);
    expect(() => new DevnetClock({ speedup: 0 })).toThrow(/speedup must be an integer ≥ 1/);
  });

  it('with the wall clock, blocks come by themselves', async () => {
    const clock = new DevnetClock({ mode: 'wall' });
    const times: number[] = [clock.start];
    const producer = new BlockProducer({ clock, blockMs: 20, headTime: () => times.at(-1)!, produce: (t) => times.push(t) });
    cleanups.push(() => producer.stop());
    await until(() => times.length >= 4, 'three blocks', 5_000, 10);
    expect(times[1]! - times[0]!).toBe(20);
  });
});

describe('devnet kit: mempool faults', () => {
  const included = (t: Toy, hash: string) => rpc(t.server.urls[0]!, 'tx', [hash]).then((r) => r.body.result as Included | undefined);

  it('a transaction is included promptly, and onIncluded sees it', async () => {
    toy = await toyChain();
    const seen: Included[] = [];
    toy.mempool.onIncluded((tx) => void seen.push(tx));
    expect((await rpc(toy.server.urls[0]!, 'send', ['a'])).body.result).toBe('a');
    await until(() => included(toy!, 'a'), 'a is included', 5_000, 10);
    expect(seen).toEqual([{ hash: 'a', height: 2, ok: true }]);
    expect(toy.truth.of('custody')).toEqual({ paid: 5n, slashed: 0n, net: 5n });
  });

  it('drop: answered as accepted, then nothing of it remains; sent again, it lands', async () => {
    toy = await toyChain();
    toy.mempool.dropNext();
    expect((await rpc(toy.server.urls[0]!, 'send', ['d'])).body.result).toBe('d');
    toy.clock.advance(5_000);
    expect(await included(toy, 'd')).toBeUndefined();
    expect(toy.mempool.size).toBe(0);
    await rpc(toy.server.urls[0]!, 'send', ['d']);
    await until(() => included(toy!, 'd'), 'd is included', 5_000, 10);
  });

  it('fail: included, and failed on chain', async () => {
    toy = await toyChain();
    toy.mempool.failNext();
    await rpc(toy.server.urls[0]!, 'send', ['f']);
    await rpc(toy.server.urls[0]!, 'send', ['g']);
    await until(() => included(toy!, 'g'), 'g is included', 5_000, 10);
    expect(await included(toy, 'f')).toMatchObject({ hash: 'f', ok: false });
    expect(await included(toy, 'g')).toMatchObject({ hash: 'g', ok: true });
    expect(toy.truth.entries('custody').map((e) => e.ref)).toEqual(['g']);
  });

  it('delay: kept out of blocks for the given real time, while later transactions pass it', async () => {
    toy = await toyChain();
    toy.mempool.delayNext(400);
    const sent = Date.now();
    await rpc(toy.server.urls[0]!, 'send', ['slow']);
    await rpc(toy.server.urls[0]!, 'send', ['fast']);
    await until(() => included(toy!, 'fast'), 'fast is included', 5_000, 10);
    expect(await included(toy, 'slow')).toBeUndefined();
    toy.clock.advance(3_000); // blocks made meanwhile do not take it either
    expect(await included(toy, 'slow')).toBeUndefined();
    const slow = await until(() => included(toy!, 'slow'), 'slow is included', 5_000, 10);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(390);
    expect(slow.height).toBeGreaterThan(toy.blocks.find((b) => b.txs.includes('fast'))!.height);
  });

  it('lost response: included, but the client sees its connection cut', async () => {
    toy = await toyChain();
    toy.mempool.loseNextResponse();
    await expect(rpc(toy.server.urls[0]!, 'send', ['l'])).rejects.toThrow();
    await until(() => included(toy!, 'l'), 'l is included', 5_000, 10);
    // A lost response per method, without the mempool: the work is done, the answer never comes.
    toy.server.faults.inject({ target: 'send' }, 'lostResponse', 1);
    await expect(rpc(toy.server.urls[0]!, 'send', ['m'])).rejects.toThrow();
    await until(() => included(toy!, 'm'), 'm is included', 5_000, 10);
  });
});

describe('devnet kit: ground truth', () => {
  it('books rewards and slashes per account, net = paid − slashed, and refuses negative amounts', () => {
    const truth = new GroundTruthLedger();
    truth.record({ account: 'a', kind: 'reward', amount: 10n, at: 1, height: 1n, ref: 'tx1' });
    truth.record({ account: 'a', kind: 'slash', amount: 3n, at: 2, height: 2n, ref: 'slash:v' });
    truth.record({ account: 'a', kind: 'reward', amount: 0n, at: 3, height: 3n, ref: 'tx2' });
    expect(truth.of('a')).toEqual({ paid: 10n, slashed: 3n, net: 7n });
    expect(truth.entries('a')).toHaveLength(2);
    expect(truth.of('b')).toEqual({ paid: 0n, slashed: 0n, net: 0n });
    expect(() => truth.record({ account: 'a', kind: 'slash', amount: -1n, at: 4, height: 4n, ref: 'x' })).toThrow(/amounts are > 0/);
  });
});

describe('the Cosmos devnet on the kit', () => {
  it('serves CometBFT JSON-RPC over WebSocket at /websocket, to cosmjs\'s own WebSocket client', async () => {
    const devnet = await startCosmosDevnet();
    cleanups.push(() => devnet.close());
    devnet.advance(10_000);
    expect(devnet.wsUrls[0]).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/websocket$/);
    // cosmjs appends CometBFT's /websocket path itself.
    const comet = await connectComet(devnet.wsUrls[0]!.replace(/\/websocket$/, ''));
    cleanups.push(() => comet.disconnect());
    const status = await comet.status();
    expect(status.nodeInfo.network).toBe(devnet.chainId);
    expect(BigInt(status.syncInfo.latestBlockHeight)).toBe(devnet.height());
  });

  it('faults broadcast_tx_sync alone; a lost broadcast answer leaves the client in the dark while the delegation lands', async () => {
    const devnet = await startCosmosDevnet();
    cleanups.push(() => devnet.close());
    devnet.faults.inject({ target: 'broadcast_tx_sync' }, 'http503', 1);
    expect((await rpc(devnet.urls[0]!, 'broadcast_tx_sync', { tx: 'AA==' })).status).toBe(503);
    expect((await rpc(devnet.urls[0]!, 'status', {})).status).toBe(200);

    const { mnemonic, address } = await createFundedAccount(devnet, 10_000_000_000n);
    const wallet = await DirectSecp256k1HdWallet.fromMnemonic(mnemonic);
    const client = await SigningStargateClient.connectWithSigner(devnet.urls[0]!, wallet, { gasPrice: GasPrice.fromString('0.025uatom') });
    cleanups.push(() => client.disconnect());
    devnet.loseNextResponse();
    await expect(client.delegateTokens(address, devnet.validators[0]!, { denom: 'uatom', amount: '1000000' }, 'auto')).rejects.toThrow();
    await until(() => devnet.account(address).delegations.length === 1, 'the delegation is on chain', 5_000, 20);
    expect(devnet.account(address).delegations[0]!.amount).toBe(1_000_000n);
  });
});

describe('the NEAR devnet on the kit', () => {
  it('advance(ms) makes a block every blockMs and an epoch every epochLength blocks', async () => {
    const devnet = await startNearDevnet({ epochLength: 10, blockMs: 1_000 });
    cleanups.push(() => devnet.close());
    const [height, epoch] = [devnet.height(), devnet.epoch()];
    devnet.advance(25_000);
    expect(devnet.height()).toBe(height + 25);
    expect(devnet.epoch()).toBeGreaterThanOrEqual(epoch + 2);
  });

  it('a delayed send_tx answers once its block is in; a lost answer leaves near-api-js in the dark while the stake lands', async () => {
    const devnet = await startNearDevnet();
    cleanups.push(() => devnet.close());
    const key = devnet.createAccount('me.devnet', 100n * 10n ** 24n);
    const account = new Account('me.devnet', devnet.urls[0]!, key as KeyPairString);
    const stake = (near: bigint) =>
      account.callFunction({ contractId: devnet.pools[0]!, methodName: 'deposit_and_stake', args: {}, deposit: near * 10n ** 24n, gas: 50_000_000_000_000n });
    const staked = () => devnet.account('me.devnet').pools.find((p) => p.pool === devnet.pools[0])?.staked ?? 0n;

    devnet.delayNextTx(300);
    const started = Date.now();
    await stake(1n);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(staked()).toBeGreaterThanOrEqual(10n ** 24n - 1n);

    devnet.loseNextResponse();
    await expect(stake(2n)).rejects.toThrow();
    expect(staked()).toBeGreaterThanOrEqual(3n * 10n ** 24n - 2n);

    devnet.faults.inject({ target: 'send_tx' }, 'http503', 1);
    expect((await rpc(devnet.urls[0]!, 'send_tx', { signed_tx_base64: 'AA==' })).status).toBe(503);
    expect((await rpc(devnet.urls[0]!, 'status', {})).status).toBe(200);
    expect(devnet.truth.of('me.devnet').net).toBe(devnet.rewardsPaid('me.devnet'));
  });
});

describe('every devnet on the kit, through DevnetControls alone', () => {
  const devnets: [string, () => Promise<DevnetControls>][] = [
    ['cosmos', () => startCosmosDevnet()],
    ['near', () => startNearDevnet()],
  ];
  for (const [chain, start] of devnets) {
    it(`${chain}: the same clock, faults and ground truth`, async () => {
      const devnet = await start();
      cleanups.push(() => devnet.close());
      const before = devnet.clock.now();
      devnet.advance(60_000);
      expect(devnet.clock.now()).toBe(before + 60_000);
      expect(devnet.clock.mode).toBe('frozen');

      const [a, b] = devnet.endpoints as [string, string];
      devnet.setFault(0, 'http503');
      expect((await rpc(a, 'status', {})).status).toBe(503);
      expect((await rpc(b, 'status', {})).status).toBe(200);
      devnet.setFault(0, null);
      devnet.faults.inject({ listener: 1, target: 'status' }, 'http429', 1);
      expect((await rpc(b, 'status', {})).status).toBe(429);
      expect((await rpc(b, 'status', {})).status).toBe(200);
      expect((await rpc(a, 'status', {})).status).toBe(200);

      expect(devnet.truth.of('nobody')).toEqual({ paid: 0n, slashed: 0n, net: 0n });
    });
  }
});
