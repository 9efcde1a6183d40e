/**
 * How withTransaction classifies what PostgreSQL says: a unique violation is
 * a conflict to surface (never retried as if it were luck), a dropped
 * connection a transient failure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ConflictError, RetryableError } from '../../src/errors.js';
import { withTransaction } from '../../src/ledger/db.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  await db?.drop();
});

describe('withTransaction', () => {
  it('a unique violation is a ConflictError naming the constraint, not retryable, and nothing is written', async () => {
    const insert = 'INSERT INTO reward_events (id, asset, amount, at, source) VALUES ($1, $2, $3, $4, $5)';
    await db.pool.query(insert, ['dup', 'ATOM', '1', 0, 'manual']);
    const error = await withTransaction(db.pool, async (tx) => {
      await tx.query(insert, ['fresh', 'ATOM', '1', 0, 'manual']);
      await tx.query(insert, ['dup', 'ATOM', '2', 0, 'manual']);
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ retryable: false, constraint: 'reward_events_pkey' });
    const { rows } = await db.pool.query('SELECT id FROM reward_events ORDER BY id');
    expect(rows).toEqual([{ id: 'dup' }]);
  });

  it('a connection terminated mid-transaction is a RetryableError', async () => {
    const error = await withTransaction(db.pool, async (tx) => {
      await tx.query('SELECT pg_terminate_backend(pg_backend_pid())');
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryableError);
  });
});
