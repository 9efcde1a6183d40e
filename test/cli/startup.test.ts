/**
 * Start-up says what is wrong and exits with a code a supervisor can act
 * on: Redis unreachable is one log line per retry and exit 75 after a
 * bounded wait (not a hang with stack dumps); PostgreSQL refusing
 * connections is 75; an unknown role, or a database the role may not
 * create, is 78.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli, writeTemp } from '../helpers/cli.js';
import { freshDatabase, TEST_SERVER_URL, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
const ROLE = `softstake_nocreate_${process.pid}`;

beforeAll(async () => {
  db = await freshDatabase();
  const admin = new pg.Client({ connectionString: TEST_SERVER_URL });
  await admin.connect();
  await admin.query(`DROP ROLE IF EXISTS ${ROLE}`);
  await admin.query(`CREATE ROLE ${ROLE} LOGIN NOCREATEDB`);
  await admin.end();
});
afterAll(async () => {
  await db?.drop();
  const admin = new pg.Client({ connectionString: TEST_SERVER_URL });
  await admin.connect();
  await admin.query(`DROP ROLE IF EXISTS ${ROLE}`);
  await admin.end();
});

const ASSETS = 'assets:\n  ATOM: { decimals: 6, commission: "10%" }\n';

function urlWith(change: (url: URL) => void): string {
  const url = new URL(db.url);
  change(url);
  return url.toString();
}

/** No stack trace line ("    at f (file:line)") in the output. */
const NO_STACK = /^\s+at .+:\d+/m;

describe('start-up failures', () => {
  it('Redis unreachable: one clear log line per retry, then exit 75 after redis.startupWait', async () => {
    const config = await writeTemp('redis-down.yaml', `database:\n  url: ${db.url}\nredis:\n  startupWait: 3s\n${ASSETS}api: { listen: "127.0.0.1:0" }\n`);
    const started = performance.now();
    // The URL with a password comes from the environment, as an operator would pass it.
    const result = await runCli(['-c', config, 'start', '--role', 'api'], { SOFTSTAKE_REDIS_URL: 'redis://:hunter2@127.0.0.1:1/0' });
    const took = performance.now() - started;
    expect(result.code, result.stderr).toBe(75);
    expect(took).toBeLessThan(12_000);
    const lines = result.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string; level: string; attempt?: number });
    const retries = lines.filter((l) => /^Redis at redis:\/\/127\.0\.0\.1:1 is not reachable \(ECONNREFUSED\); trying again in \d+ ms$/.test(l.msg));
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(retries.length).toBeLessThanOrEqual(5);
    expect(retries.map((l) => l.attempt)).toEqual(retries.map((_, i) => i + 1));
    expect(lines.some((l) => l.msg === 'softstake ready')).toBe(false);
    expect(result.stderr).toBe('softstake: Redis at redis://127.0.0.1:1 did not answer within 3 s (ECONNREFUSED); try again once it is up\n');
    expect(result.stdout + result.stderr).not.toMatch(NO_STACK);
    expect(result.stdout + result.stderr).not.toContain('hunter2');
  });

  it('PostgreSQL refusing connections: exit 75, for the daemon and for a command', async () => {
    const config = await writeTemp('pg-down.yaml', `database:\n  url: ${urlWith((u) => (u.port = '1'))}\n${ASSETS}`);
    for (const args of [['start', '--role', 'api'], ['migrate'], ['balances', 'show', '--user', 'alice']]) {
      const result = await runCli(['-c', config, ...args]);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(75);
      expect(result.stderr).toMatch(/^softstake: PostgreSQL at postgres:\/\/[^ ]*127\.0\.0\.1:1 is not reachable \(.*ECONNREFUSED.*\); try again once it is up\n$/);
      expect(result.stdout + result.stderr).not.toMatch(NO_STACK);
    }
  });

  it('an unknown role, or a database the role may not create: exit 78 naming database.url', async () => {
    const unknownRole = await writeTemp('pg-role.yaml', `database:\n  url: ${urlWith((u) => (u.username = 'no_such_role_xyz'))}\n${ASSETS}`);
    const noDatabase = await writeTemp('pg-db.yaml', `database:\n  url: ${urlWith((u) => {
      u.username = ROLE;
      u.pathname = '/softstake_no_such_db_xyz';
    })}\n${ASSETS}`);
    for (const [config, reason] of [[unknownRole, /role "no_such_role_xyz" does not exist/], [noDatabase, /permission denied to create database/]] as const) {
      for (const args of [['start', '--role', 'api'], ['migrate']]) {
        const result = await runCli(['-c', config, ...args]);
        expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(78);
        expect(result.stderr).toMatch(/database\.url: PostgreSQL at postgres:\/\//);
        expect(result.stderr).toMatch(reason);
        expect(result.stdout + result.stderr).not.toMatch(NO_STACK);
      }
    }
  });
});
