import { readFileSync } from 'node:fs';

import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

import { parseConfig, redactConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { propertyRuns } from '../helpers/runs.js';

// Bad input at the config loader's door: whatever an operator writes (the
// shipped devnet config with fields replaced, removed or added, or text
// that is not YAML at all), loading it either yields a config or throws a
// ConfigError naming the file; never another error, a stack trace, or the
// content of a secret file or a password in an environment URL.

const FILE = 'operator.yaml';
const SECRET = 'file-S3cr3t-value-0123456789';
const ENV_PASSWORD = 'env-P4ssw0rd-value';
const ENV = { SOFTSTAKE_DATABASE_URL: `postgres://soft:${ENV_PASSWORD}@127.0.0.1:5432/softstake` };
const readSecret = () => SECRET;
const SHIPPED = parseYaml(readFileSync(new URL('../../config/devnet.yaml', import.meta.url), 'utf8')) as unknown;

/** Every path in the shipped config, containers included. */
function paths(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [at];
  const keys: (string | number)[] = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return [at, ...keys.flatMap((k) => paths((value as Record<string | number, unknown>)[k], [...at, k]))];
}
const PATHS = paths(SHIPPED).filter((p) => p.length > 0);

type Edit = { path: (string | number)[]; value: unknown } | { path: (string | number)[]; remove: true } | { path: (string | number)[]; extra: string; value: unknown };

function apply(base: unknown, edits: Edit[]): unknown {
  const copy = structuredClone(base) as Record<string | number, unknown>;
  for (const edit of edits) {
    let parent: Record<string | number, unknown> | undefined = copy;
    for (const key of edit.path.slice(0, -1)) {
      const next: unknown = parent?.[key];
      parent = next !== null && typeof next === 'object' ? (next as Record<string | number, unknown>) : undefined;
    }
    if (parent === undefined) continue;
    const last = edit.path.at(-1)!;
    if ('remove' in edit) delete parent[last];
    else if ('extra' in edit) {
      const target = parent[last];
      if (target !== null && typeof target === 'object' && !Array.isArray(target)) (target as Record<string, unknown>)[edit.extra] = edit.value;
    } else parent[last] = edit.value;
  }
  return copy;
}

const plausible = fc.constantFrom(
  '10%', '100%', '101%', '-1%', '0.001%', '1s', '0s', '-5m', '1 h', '1d', '0 0 * * *', '* * *', 'UTC', 'Mars/Olympus', '1', '-1', '0', '1.5', '1e9',
  '99999999999999999999999999999999999999999999999999999999999999999999999999999999', 'cosmos', 'near', 'nope', '', ' ',
  `postgres://u:${ENV_PASSWORD}@127.0.0.1/x`, 'redis://:pw@127.0.0.1:6379', 'http://127.0.0.1:1', 'ftp://x', '../../etc/passwd', './devnet-secrets/api-token', 'softstake',
);
const value = fc.oneof({ weight: 3, arbitrary: plausible as fc.Arbitrary<unknown> }, { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: fc.constant(null) });
const path = fc.nat({ max: PATHS.length - 1 }).map((i) => PATHS[i]!);
const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ path, value }),
  fc.record({ path, remove: fc.constant(true as const) }),
  fc.record({ path, extra: fc.oneof(fc.constantFrom('url', 'password', 'token', 'secret', 'module', '__proto__', 'constructor'), fc.string({ maxLength: 8 })), value }),
);

/** YAML text: the shipped config edited, sometimes cut short or with a character of noise; or any text at all. */
const configText = fc.oneof(
  { weight: 6, arbitrary: fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => stringifyYaml(apply(SHIPPED, edits))) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.array(edit, { maxLength: 2 }), fc.nat(), fc.string({ maxLength: 3 })).map(([edits, at, noise]) => {
      const text = stringifyYaml(apply(SHIPPED, edits));
      const cut = at % (text.length + 1);
      return text.slice(0, cut) + noise + text.slice(cut);
    }),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) },
);

const outcomes = { accepted: 0, refused: 0 };

function load(text: string): void {
  let error: unknown;
  let config;
  try {
    config = parseConfig(text, FILE, ENV, readSecret);
  } catch (e) {
    error = e;
  }
  if (error === undefined) {
    outcomes.accepted += 1;
    const shown = JSON.stringify(redactConfig(config!), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    expect(shown.includes(SECRET), 'the redacted config shows a secret').toBe(false);
    expect(shown.includes(ENV_PASSWORD), 'the redacted config shows a password').toBe(false);
    return;
  }
  outcomes.refused += 1;
  expect(error, `not a ConfigError for:\n${text.slice(0, 500)}\n${String((error as Error).stack)}`).toBeInstanceOf(ConfigError);
  const message = (error as ConfigError).message;
  expect(message.startsWith(`${FILE}: `), message).toBe(true);
  expect(message.includes(SECRET), `a secret in: ${message}`).toBe(false);
  expect(message.includes(ENV_PASSWORD), `a password in: ${message}`).toBe(false);
  expect(/\n\s+at |\.ts:\d+/.test(message), `a stack trace in: ${message}`).toBe(false);
}

describe('the config loader under fuzzing', () => {
  const runs = propertyRuns();

  test.prop([configText], { numRuns: 500 })('yields a config or a ConfigError naming the file, never a secret', runs.count(500, (text) => load(text)));

  test('the fuzzer reached both outcomes', () => {
    expect(outcomes.accepted).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  });
});
