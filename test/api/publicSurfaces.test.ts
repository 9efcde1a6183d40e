/**
 * What anyone who reaches the API's address can do and see, over real
 * sockets: requests are bounded in time, an unauthenticated request is
 * refused before its body is read and its connection closed, Fastify's own
 * refusals (408, 413, 431) are problems like the rest, request logs carry no
 * query string, and `/metrics` can be put behind the token or on an address
 * of its own.
 */
import { connect, type Socket } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Writable } from 'node:stream';

import { buildMetricsServer } from '../../src/api/server.js';
import { redactUrlsHook } from '../../src/logger.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { auth, get, startApi, testConfig, TOKEN, type Api } from './harness.js';

let db: TestDatabase;
let api: Api;
let port: number;

const REQUEST_TIMEOUT_MS = 1_500;

beforeAll(async () => {
  db = await freshDatabase();
  api = await startApi(db, { api: { requestTimeoutMs: REQUEST_TIMEOUT_MS, headersTimeoutMs: 1_000, keepAliveTimeoutMs: 500 } });
  await api.server.listen({ host: '127.0.0.1', port: 0 });
  port = (api.server.server.address() as { port: number }).port;
});
afterAll(async () => {
  await api?.close({ obliterate: true });
  await db?.drop();
});

/** A raw connection: what it received, and when it was closed (ms after opening), if it was. */
function open(): Promise<{ socket: Socket; received: () => string; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let text = '';
    const socket = connect(port, '127.0.0.1');
    const closed = new Promise<number>((done) => socket.on('close', () => done(performance.now() - started)));
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, received: () => text, closed }));
    socket.once('error', reject);
  });
}

/** The status line's code and the body of a raw HTTP answer. */
function parse(raw: string): { status: number; headers: string; body: string } {
  const [head = '', body = ''] = raw.split('\r\n\r\n');
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), headers: head.toLowerCase(), body };
}

describe('requests are bounded in time', () => {
  it('a body trickling in a byte at a time gets a 408 problem and the connection closed', async () => {
    const c = await open();
    c.socket.write(`POST /v1/balance-changes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`);
    const timer = setInterval(() => c.socket.write('{'), 200);
    try {
      const closedAfter = await c.closed;
      // Node looks for late requests once a second.
      expect(closedAfter).toBeGreaterThan(REQUEST_TIMEOUT_MS - 100);
      expect(closedAfter).toBeLessThan(REQUEST_TIMEOUT_MS + 2_500);
    } finally {
      clearInterval(timer);
    }
    const answer = parse(c.received());
    expect(answer.status).toBe(408);
    expect(answer.headers).toContain('content-type: application/problem+json');
    expect(JSON.parse(answer.body)).toMatchObject({ status: 408, title: 'Request Timeout' });
  });

  it('headers trickling in get the same', async () => {
    const c = await open();
    c.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n');
    const timer = setInterval(() => c.socket.write('X-A: b\r\n'), 200);
    try {
      expect(await c.closed).toBeLessThan(4_000);
    } finally {
      clearInterval(timer);
    }
    expect(parse(c.received()).status).toBe(408);
  });

  it('an idle keep-alive connection is closed', async () => {
    const c = await open();
    c.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await c.closed).toBeLessThan(2_500);
    expect(parse(c.received()).status).toBe(200);
  });
});

describe('unauthenticated requests', () => {
  it('are refused before their body is read, and the connection is closed', async () => {
    for (const url of ['/v1/balance-changes', '/admin/queues/api/queues/distribute/add', '/no-such-route', '/health']) {
      const c = await open();
      // Headers only: the 4 MB body is never sent, and never waited for.
      c.socket.write(`POST ${url} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4000000\r\n\r\n`);
      expect(await c.closed, url).toBeLessThan(1_000);
      const answer = parse(c.received());
      expect(answer.status, url).toBe(url.startsWith('/no-such') ? 404 : url === '/health' ? 404 : 401);
      expect(answer.headers).toContain('connection: close');
      expect(answer.headers).toContain('content-type: application/problem+json');
    }
  });
});

describe("Fastify's own refusals are problems", () => {
  it('431 for headers too large', async () => {
    const c = await open();
    c.socket.write(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    await c.closed;
    const answer = parse(c.received());
    expect(answer.status).toBe(431);
    expect(answer.headers).toContain('content-type: application/problem+json');
    expect(JSON.parse(answer.body)).toMatchObject({ status: 431, title: 'Request Header Fields Too Large' });
  });

  it('413 for a body over the limit', async () => {
    const res = await api.server.inject({ method: 'POST', url: '/v1/balance-changes', headers: { ...auth, 'content-type': 'application/json' }, payload: `{"changes":["${'x'.repeat(5 * 1024 * 1024)}"]}` });
    expect(res.statusCode).toBe(413);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});

describe('logs', () => {
  it('request log lines carry the path, never the query string', async () => {
    await get(api, '/v1/users/alice/rewards?asset=ATOM&apikey=SECRET-IN-QUERY');
    await get(api, '/no-such-route?apikey=SECRET-IN-QUERY');
    const lines = api.logs.filter((l) => (l.req as { path?: string } | undefined)?.path !== undefined);
    expect(lines.map((l) => (l.req as { path: string }).path)).toEqual(expect.arrayContaining(['/v1/users/alice/rewards', '/no-such-route']));
    expect(JSON.stringify(api.logs)).not.toContain('SECRET-IN-QUERY');
  });

  it("every URL in a log line (a message, an error's message and stack) is cut to scheme, host and port", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _e, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = pino({ hooks: { logMethod: redactUrlsHook } }, sink);
    logger.warn({ err: new Error('GET https://rpc.example:8443/v2/API-KEY-1?x=1 failed'), endpoint: 'wss://user:pw@node.example/ws?token=API-KEY-2' }, 'failing over from https://rpc.example/v2/API-KEY-3');
    const text = lines.join('');
    expect(text).not.toMatch(/API-KEY|user:pw/);
    expect(text).toContain('https://rpc.example:8443 failed');
    expect(text).toContain('wss://node.example');
  });
});

describe('/metrics access', () => {
  it('behind the token: 401 without it, 200 with it', async () => {
    const guarded = await startApi(db, { api: { metrics: { mode: 'token' } } });
    try {
      const without = await guarded.server.inject('/metrics');
      expect(without.statusCode).toBe(401);
      expect(without.headers['content-type']).toMatch(/^application\/problem\+json/);
      const withToken = await get(guarded, '/metrics');
      expect(withToken.statusCode).toBe(200);
      expect(withToken.body).toContain('softstake_metrics_source_up');
    } finally {
      await guarded.close({ obliterate: true });
    }
  });

  it('on an address of its own: not on the API server, served by the metrics server', async () => {
    const config = testConfig(db, { api: { metrics: { mode: 'listen', host: '127.0.0.1', port: 0 } } });
    const apart = await startApi(db, { api: config.api });
    try {
      expect((await apart.server.inject('/metrics')).statusCode).toBe(404);
      const metrics = await buildMetricsServer({ config: apart.config, pool: db.pool, queues: apart.queues, logger: pino({ level: 'silent' }) });
      try {
        const res = await metrics.inject('/metrics');
        expect(res.statusCode).toBe(200);
        expect(res.body).toContain('softstake_queue_jobs');
        expect((await metrics.inject('/v1/assets')).statusCode).toBe(404);
      } finally {
        await metrics.close();
      }
    } finally {
      await apart.close({ obliterate: true });
    }
  });
});
