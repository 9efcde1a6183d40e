/**
 * Endpoint failover (adapters/failover.ts), which every adapter's client
 * goes through: which failures move on to the next endpoint and which stop,
 * how a request carries an endpoint's credentials (a header, never a
 * message), and what the error says when every endpoint failed. The
 * endpoints are the devnet kit's plain listeners over real HTTP, with their
 * per-listener faults.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { sendJson, startListeners, type Listeners } from '../../adapters/devnet/listeners.js';
import { ChainUnavailableError, TxRejectedError } from '../../adapters/errors.js';
import { EndpointHttpError, fetchJson, withFailover } from '../../adapters/failover.js';

/** A local port nothing listens on (just released), so connecting is refused. */
async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('withFailover', () => {
  it('rethrows a rejection at once, without trying the next endpoint', async () => {
    const tried: string[] = [];
    const rejected = new TxRejectedError('c', 'H', 5, 'insufficient funds', false);
    const error = await withFailover('c', ['http://a', 'http://b'], 1000, async (endpoint) => {
      tried.push(endpoint);
      throw rejected;
    }).catch((e: unknown) => e);
    expect(error).toBe(rejected);
    expect(tried).toEqual(['http://a']);
  });

  it('HTTP 400 stops; 429, 5xx, refused connections and timeouts move on', async () => {
    const tried: string[] = [];
    const error = await withFailover('c', ['http://a', 'http://b'], 1000, async (endpoint) => {
      tried.push(endpoint);
      throw new EndpointHttpError(400, endpoint);
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EndpointHttpError);
    expect(tried).toEqual(['http://a']);

    const dead = `http://127.0.0.1:${await refusedPort()}`;
    const answers = ['http://x', 'http://y', dead, 'http://z', 'http://ok'];
    const result = await withFailover('c', answers, 200, async (endpoint, signal) => {
      if (endpoint === 'http://x') throw new EndpointHttpError(429, endpoint);
      if (endpoint === 'http://y') throw new EndpointHttpError(502, endpoint);
      if (endpoint === dead) return fetchJson(endpoint, '/status', { signal });
      if (endpoint === 'http://z') return new Promise<never>(() => undefined); // ignores its signal
      return 'answered';
    });
    expect(result).toBe('answered');
  });

  it('names every endpoint and its fault when all fail, and is retryable', async () => {
    const port = await refusedPort();
    const error = await withFailover('c', [`http://u:pw@127.0.0.1:${port}/rpc?key=s3cret`, 'http://b'], 100, async (endpoint, signal) => {
      if (endpoint === 'http://b') return new Promise<never>(() => undefined);
      return fetchJson(endpoint, '/status', { signal });
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChainUnavailableError);
    const unavailable = error as ChainUnavailableError;
    expect(unavailable.retryable).toBe(true);
    expect(unavailable.failures).toEqual([
      { endpoint: `http://127.0.0.1:${port}/rpc`, reason: 'network error (ECONNREFUSED)' },
      { endpoint: 'http://b', reason: 'timeout after 100 ms' },
    ]);
    expect(unavailable.message).not.toMatch(/s3cret|pw/);
  });

  it('no endpoints configured is a retryable ChainUnavailableError', async () => {
    const error = await withFailover('c', [], 100, async () => 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChainUnavailableError);
  });
});

describe('fetchJson through withFailover, against real listeners', () => {
  let listeners: Listeners | undefined;
  afterEach(async () => {
    await listeners?.close();
    listeners = undefined;
  });

  /** Two listeners answering `/status` with the Authorization header they got. */
  async function start(): Promise<Listeners> {
    listeners = await startListeners({ name: 'failover test', count: 2 }, (req, res) => sendJson(res, 200, { path: req.url, authorization: req.headers.authorization ?? null }));
    return listeners;
  }

  const status = (endpoints: string[]) => withFailover('c', endpoints, 300, (endpoint, signal) => fetchJson(endpoint, '/status?x=1', { signal }));

  it('credentials in an endpoint go in a Basic header, never into an error message', async () => {
    const { urls, setFault } = await start();
    const withCredentials = urls.map((url) => url.replace('http://', 'http://operator:hunter2@'));
    expect(await status(withCredentials)).toEqual({ path: '/status?x=1', authorization: `Basic ${Buffer.from('operator:hunter2').toString('base64')}` });
    setFault(0, 'http503');
    setFault(1, 'http429');
    const error = await status(withCredentials).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChainUnavailableError);
    const message = (error as Error).message;
    expect(message).not.toMatch(/hunter2|operator/);
    expect(message).toContain(`${urls[0]}: HTTP 503`);
    expect(message).toContain(`${urls[1]}: HTTP 429`);
  });

  it('a reset connection is an endpoint fault: the call moves on, and fails only when every endpoint resets', async () => {
    const { urls, setFault } = await start();
    setFault(0, 'reset');
    expect(await status(urls)).toMatchObject({ path: '/status?x=1' });
    setFault(1, 'reset');
    const error = await status(urls).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChainUnavailableError);
    expect((error as ChainUnavailableError).failures.map((x) => x.reason)).toEqual([expect.stringMatching(/^network error/), expect.stringMatching(/^network error/)]);
  });

  it('a listener that never answers is a timeout; the next endpoint answers', async () => {
    const { urls, setFault } = await start();
    setFault(0, 'timeout');
    expect(await status(urls)).toMatchObject({ path: '/status?x=1' });
    setFault(1, 'timeout');
    const error = await status(urls).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChainUnavailableError);
    expect((error as ChainUnavailableError).failures.map((x) => x.reason)).toEqual(['timeout after 300 ms', 'timeout after 300 ms']);
  });
});
