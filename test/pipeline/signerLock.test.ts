/**
 * The signer lock against a real PostgreSQL: one holder per chain across
 * pools (as across processes), released with its session when the holder
 * dies, and a holder whose connection dropped stores nothing more.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createPool } from '../../src/ledger/db.js';
import { lockHeld, SignerBusyError, withSignerLock } from '../../src/pipeline/signerLock.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
let other: ReturnType<typeof createPool>;

beforeAll(async () => {
  db = await freshDatabase();
  // A second pool: another process, as far as PostgreSQL can tell.
  other = createPool({ url: db.url, applicationName: 'softstake-test-other', onIdleError: () => undefined });
});

afterAll(async () => {
  await other?.end();
  await db?.drop();
});

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('signer lock', () => {
  it('one holder per chain: a second waits, gives up retryably, and gets it once the first is done; other chains are free', async () => {
    const release = deferred();
    const held = deferred();
    const first = withSignerLock(db.pool, 'hub', async () => {
      held.resolve();
      await release.promise;
      return 'first';
    });
    await held.promise;
    const busy = await withSignerLock(other, 'hub', async () => 'second', { waitMs: 200 }).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(SignerBusyError);
    expect((busy as SignerBusyError).retryable).toBe(true);
    expect(await withSignerLock(other, 'near', async () => 'another chain', { waitMs: 200 })).toBe('another chain');

    const waiting = withSignerLock(other, 'hub', async () => 'second', { waitMs: 10_000 });
    release.resolve();
    expect(await first).toBe('first');
    expect(await waiting).toBe('second');
  });

  it('the session holds it: statements on the lock client see it held, others do not', async () => {
    await withSignerLock(db.pool, 'hub', async (lock) => {
      const mine = await lock.client.query<{ held: boolean }>(`SELECT ${lockHeld('$1::text')} AS held`, ['hub']);
      expect(mine.rows[0]!.held).toBe(true);
      const elsewhere = await other.query<{ held: boolean }>(`SELECT ${lockHeld('$1::text')} AS held`, ['hub']);
      expect(elsewhere.rows[0]!.held).toBe(false);
      const wrongChain = await lock.client.query<{ held: boolean }>(`SELECT ${lockHeld('$1::text')} AS held`, ['near']);
      expect(wrongChain.rows[0]!.held).toBe(false);
    });
  });

  it('a holder whose connection dies loses the lock at once; the next holder gets it and the dead one stores nothing', async () => {
    const killed = deferred();
    const dead = withSignerLock(db.pool, 'hub', async (lock) => {
      const { rows } = await lock.client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      // The worker's machine vanishes: PostgreSQL ends its session.
      await other.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      killed.resolve();
      await lock.client.query(`SELECT ${lockHeld('$1::text')}`, ['hub']);
    }).catch((e: unknown) => e);
    await killed.promise;
    expect(await withSignerLock(other, 'hub', async () => 'taken over', { waitMs: 5_000 })).toBe('taken over');
    expect(await dead).toBeInstanceOf(Error);
  });
});
