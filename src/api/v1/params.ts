/**
 * The request fields `/v1` routes share, as zod schemas whose messages name
 * what to send instead. Rules match the CLI's: the same instants, the same
 * id limits, asset symbols matched as `--asset` matches them.
 */
import * as z from 'zod';

import { configuredAsset, type AssetConfig, type SoftstakeConfig } from '../../config/index.js';
import { echo, idProblem, MAX_ID_LENGTH } from '../../ledger/inputRules.js';
import { parseInstant } from '../../ledger/time.js';

/** Page size when `limit` is not given. */
export const DEFAULT_PAGE = 100;
/** Largest `limit`: a page is one query and one response held in memory. */
export const MAX_PAGE = 1000;
export { MAX_ID_LENGTH };

/** An ISO-8601 instant with a zone, as milliseconds. */
export const instant = z
  .string({ error: 'expected an ISO-8601 instant with a zone like "2026-01-01T00:00:00Z"' })
  .transform((text, ctx) => {
    const ms = parseInstant(text);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected an ISO-8601 instant with a zone like "2026-01-01T00:00:00Z", got ${echo(text)}` });
      return z.NEVER;
    }
    return ms;
  });

/** An id of the exchange or the operator: 1 to 256 characters of well-formed Unicode, no control or bidirectional characters. */
export const idString = z.string({ error: 'expected a non-empty string' }).superRefine((text, ctx) => {
  const problem = idProblem(text);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

/** `limit` from a query string: 1 to 1000, default 100. */
export const limit = z
  .string({ error: `expected a whole number from 1 to ${MAX_PAGE}, given once` })
  .regex(/^[0-9]{1,7}$/, { error: `expected a whole number from 1 to ${MAX_PAGE}` })
  .transform(Number)
  .pipe(z.number().min(1, { error: `expected a whole number from 1 to ${MAX_PAGE}` }).max(MAX_PAGE, { error: `at most ${MAX_PAGE}` }))
  .default(DEFAULT_PAGE);

/** A configured asset by symbol (case-insensitive, like `--asset`). */
export function assetSymbol(config: SoftstakeConfig) {
  const known = Object.keys(config.assets).sort().join(', ');
  return z.string({ error: `expected an asset symbol (one of ${known})` }).transform((text, ctx): AssetConfig => {
    const asset = configuredAsset(config, text);
    if (asset === undefined) {
      ctx.addIssue({ code: 'custom', message: `unknown asset ${echo(text)}; the config lists ${known}` });
      return z.NEVER;
    }
    return asset;
  });
}

/** A JSON object with only the given fields; an unknown field is reported by name (a typo must not be ignored). */
export function strictObject<S extends z.core.$ZodLooseShape>(shape: S, what: string) {
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? `unexpected field ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}` : `expected ${what}`,
  });
}
