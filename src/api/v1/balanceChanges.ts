/**
 * `POST /v1/balance-changes`: the exchange reports deposits and withdrawals.
 * Same records, rules and idempotency as `softstake balances import`: one
 * transaction, all or nothing, a repeated id with the same content skipped.
 */
import type { FastifyInstance } from 'fastify';
import * as z from 'zod';

import { LedgerInputError, type InputProblem } from '../../errors.js';
import { applyBalanceChanges, type NumberedRecord } from '../../ledger/balanceChanges.js';
import { windowOf } from '../../ledger/inputRules.js';
import type { ApiDeps } from '../deps.js';
import { ledgerProblem, parseRequest } from '../problems.js';
import { strictObject } from './params.js';

/** Most changes in one request; larger batches go in several requests (or through `balances import`). */
export const MAX_BATCH = 10_000;

const NOT_AN_OBJECT = 'expected an object with id, user, asset, delta, at';

const body = strictObject(
  {
    changes: z
      .array(z.unknown(), { error: (issue) => (issue.input === undefined ? 'required: the list of balance changes' : 'expected an array of balance changes') })
      .min(1, { error: 'send at least one change' })
      .max(MAX_BATCH, { error: `at most ${MAX_BATCH} changes per request; split the batch` }),
  },
  'a JSON object {"changes": [{"id", "user", "asset", "delta", "at"}, …]}',
);

const FIELD = /^(id|user|asset|delta|at): /;

/** Where a refused record is: its index, and the field when the reason names one. */
function locate(problem: InputProblem & { line: number }) {
  const field = FIELD.exec(problem.reason)?.[1];
  return { index: problem.line, path: `changes.${problem.line}${field ? `.${field}` : ''}` };
}

/** Registers `POST /balance-changes` (under `/v1`). */
export function registerBalanceChangeRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const assets = new Set(Object.keys(deps.config.assets));
  const now = deps.now ?? Date.now;

  app.post('/balance-changes', async (request) => {
    const { changes } = parseRequest(body, request.body);
    // Records are numbered by their index, so problems name `changes[index]`.
    // A string element would read as a parse error's reason: refuse it as a non-object.
    const records: NumberedRecord[] = changes.map((record, index) => ({ line: index, record: typeof record === 'string' ? NOT_AN_OBJECT : record }));
    try {
      const result = await applyBalanceChanges(deps.pool, records, { assets, window: windowOf(deps.config, now()) });
      return { received: result.received, inserted: result.inserted, duplicates: result.duplicates };
    } catch (error) {
      if (error instanceof LedgerInputError) throw ledgerProblem(error, locate);
      throw error;
    }
  });
}
