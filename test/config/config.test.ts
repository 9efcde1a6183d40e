import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig, redactConfig, type SoftstakeConfig } from '../../src/config/index.js';
import { ConfigError, type ConfigIssue } from '../../src/errors.js';

const FILE = 'devnet.yaml';
const NO_ENV: NodeJS.ProcessEnv = {};
const SECRET = 'hunter2-S3cr3t';

/** The ledger part of the format, as operators write it. */
const EXAMPLE = `
database:
  url: postgres://postgres@127.0.0.1:5432/softstake
redis:
  url: redis://127.0.0.1:6379
assets:
  ATOM:
    decimals: 6
    minHolding: "1"
    cap: "100000"
    commission: "10%"
    distribution: { schedule: "0 0 * * *", timezone: UTC }
`;

/** A valid file with one ATOM asset whose fields are replaced by `asset` (YAML flow mapping body). */
function withAsset(asset: string, symbol = 'ATOM'): string {
  return `database:\n  url: postgres://postgres@127.0.0.1:5432/softstake\nassets:\n  ${symbol}: { ${asset} }\n`;
}

/** Parses and returns the ConfigError it must throw. */
function rejection(text: string, env: NodeJS.ProcessEnv = NO_ENV, file = FILE): ConfigError {
  try {
    parseConfig(text, file, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, but the config was accepted');
}

async function loadRejection(file: string, env: NodeJS.ProcessEnv = NO_ENV): Promise<ConfigError> {
  const error: unknown = await loadConfig(file, env).then(
    () => new Error('expected a ConfigError, but the config was accepted'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

/** Asserts the error has exactly one issue, at `field`, and that the message names file and field. */
function expectOnlyIssue(error: ConfigError, field: string, message: string | RegExp): ConfigIssue {
  expect(error.file).toBe(FILE);
  expect(error.issues.map((i) => i.path)).toEqual([field]);
  const issue = error.issues[0]!;
  if (typeof message === 'string') expect(issue.message).toBe(message);
  else expect(issue.message).toMatch(message);
  expect(error.message).toBe(`${FILE}: ${field ? `${field}: ` : ''}${issue.message}`);
  return issue;
}

describe('parseConfig: the example file', () => {
  it('normalizes amounts to base units and commission to basis points', () => {
    const config = parseConfig(EXAMPLE, FILE, NO_ENV);
    expect(config).toEqual<SoftstakeConfig>({
      file: FILE,
      database: { url: 'postgres://postgres@127.0.0.1:5432/softstake' },
      redis: { url: 'redis://127.0.0.1:6379', prefix: 'softstake', startupWaitMs: 30_000 },
      assets: {
        ATOM: {
          symbol: 'ATOM',
          decimals: 6,
          minHolding: 1_000_000n,
          cap: 100_000_000_000n,
          commissionBps: 1000,
          distribution: { schedule: '0 0 * * *', timezone: 'UTC' },
        },
      },
      chains: {},
      ledger: { clockSkewMs: 300_000 },
      api: {
        host: '127.0.0.1',
        port: 8080,
        token: null,
        dashboard: null,
        bodyLimitBytes: 4 * 1024 * 1024,
        headersTimeoutMs: 10_000,
        requestTimeoutMs: 30_000,
        keepAliveTimeoutMs: 5_000,
        metrics: { mode: 'public' },
        readyMaxAgeMs: null,
      },
      worker: { lockDurationMs: 30_000, attempts: 8, backoffMs: 5_000, shutdownTimeoutMs: 30_000 },
    });
  });

  it('fills the defaults: minHolding 0, no cap, daily at midnight UTC, local Redis', () => {
    const config = parseConfig(withAsset('decimals: 18, commission: "5%"', 'DOT'), FILE, NO_ENV);
    expect(config.redis.url).toBe('redis://127.0.0.1:6379');
    expect(config.assets.DOT).toEqual({
      symbol: 'DOT',
      decimals: 18,
      minHolding: 0n,
      cap: null,
      commissionBps: 500,
      distribution: { schedule: '0 0 * * *', timezone: 'UTC' },
    });
  });

  it('accepts amounts with the asset symbol, fractions up to the decimals, and bare integers', () => {
    const config = parseConfig(withAsset('decimals: 6, minHolding: "1.5 ATOM", cap: 250, commission: "0%"'), FILE, NO_ENV);
    expect(config.assets.ATOM!.minHolding).toBe(1_500_000n);
    expect(config.assets.ATOM!.cap).toBe(250_000_000n);
    const tiny = parseConfig(withAsset('decimals: 6, minHolding: "0.000001", commission: "1%"'), FILE, NO_ENV);
    expect(tiny.assets.ATOM!.minHolding).toBe(1n);
  });

  it('keeps 24-decimal amounts exact', () => {
    const config = parseConfig(withAsset('decimals: 24, minHolding: "0.000000000000000000000001 NEAR", cap: "123456789.123456789012345678901234", commission: "1%"', 'NEAR'), FILE, NO_ENV);
    expect(config.assets.NEAR!.minHolding).toBe(1n);
    expect(config.assets.NEAR!.cap).toBe(123_456_789_123_456_789_012_345_678_901_234n);
  });

  it.each([
    ['10%', 1000],
    ['2.5%', 250],
    ['0.25%', 25],
    ['0%', 0],
    ['100%', 10_000],
    ['100.00%', 10_000],
  ])('reads commission %s as %i bps', (commission, bps) => {
    const config = parseConfig(withAsset(`decimals: 6, commission: "${commission}"`), FILE, NO_ENV);
    expect(config.assets.ATOM!.commissionBps).toBe(bps);
  });

  it('accepts a schedule in another time zone and 2- to 10-character symbols with digits', () => {
    const text = `database: { url: "postgresql://app@db.internal/softstake" }
assets:
  AB: { decimals: 0, commission: "1%", distribution: { schedule: "30 6 * * 1", timezone: Europe/Berlin } }
  A1B2C3D4E5: { decimals: 30, commission: "1%" }
`;
    const config = parseConfig(text, FILE, NO_ENV);
    expect(Object.keys(config.assets)).toEqual(['AB', 'A1B2C3D4E5']);
    expect(config.assets.AB!.distribution).toEqual({ schedule: '30 6 * * 1', timezone: 'Europe/Berlin' });
    expect(config.database.url).toBe('postgresql://app@db.internal/softstake');
  });
});

describe('parseConfig: rejections name the file and the field', () => {
  it.each([
    ['"10"', 'expected a percentage like "10%" (at most 2 decimals, e.g. "2.5%")'],
    ['10', 'expected a percentage like "10%"'],
    ['"2.555%"', 'expected a percentage like "10%" (at most 2 decimals, e.g. "2.5%")'],
    ['"-1%"', 'expected a percentage like "10%" (at most 2 decimals, e.g. "2.5%")'],
    ['"100.01%"', 'must be between 0% and 100%'],
    ['"250%"', 'must be between 0% and 100%'],
  ])('commission %s', (commission, message) => {
    expectOnlyIssue(rejection(withAsset(`decimals: 6, commission: ${commission}`)), 'assets.ATOM.commission', message);
  });

  it('a missing commission is an error, not 0%; so are missing decimals', () => {
    expectOnlyIssue(rejection(withAsset('decimals: 6')), 'assets.ATOM.commission', 'required');
    expectOnlyIssue(rejection(withAsset('commission: "1%"')), 'assets.ATOM.decimals', 'required');
  });

  it.each([
    ['"0.0000001"', 'has 7 fractional digits, but ATOM has 6 decimals'],
    ['"-1"', 'must not be negative'],
    ['-1', 'must not be negative'],
    ['"1 DOT"', 'is in DOT, but this is the ATOM asset'],
    ['"one"', 'expected an amount of whole tokens like "1" or "1.5 ATOM"'],
    ['"1e6"', 'expected an amount of whole tokens like "1" or "1.5 ATOM"'],
    ['1.5', /in quotes/],
    ['true', 'expected an amount like "1" or "1.5 ATOM"'],
  ])('minHolding %s', (amount, message) => {
    expectOnlyIssue(rejection(withAsset(`decimals: 6, commission: "1%", minHolding: ${amount}`)), 'assets.ATOM.minHolding', message);
  });

  it.each([
    ['"0"', '"0"', 'must be greater than 0 (leave cap out for no cap)'],
    ['"4.999999"', '"5"', 'must be at least minHolding'],
    ['"1 NEAR"', '"0"', 'is in NEAR, but this is the ATOM asset'],
    ['"1.1234567"', '"0"', 'has 7 fractional digits, but ATOM has 6 decimals'],
    ['"-5"', '"0"', 'must not be negative'],
  ])('cap %s with minHolding %s', (cap, minHolding, message) => {
    const error = rejection(withAsset(`decimals: 6, commission: "1%", minHolding: ${minHolding}, cap: ${cap}`));
    expectOnlyIssue(error, 'assets.ATOM.cap', message);
  });

  it('accepts cap equal to minHolding', () => {
    const config = parseConfig(withAsset('decimals: 6, commission: "1%", minHolding: "5", cap: "5 ATOM"'), FILE, NO_ENV);
    expect(config.assets.ATOM!.cap).toBe(config.assets.ATOM!.minHolding);
  });

  it.each([['-1'], ['31'], ['6.5'], ['"6"']])('decimals %s', (decimals) => {
    expectOnlyIssue(rejection(withAsset(`decimals: ${decimals}, commission: "1%"`)), 'assets.ATOM.decimals', 'must be an integer from 0 to 30');
  });

  it.each([['atom'], ['A'], ['ABCDEFGHIJK'], ['1INCH'], ['AT-OM']])('asset symbol %s', (symbol) => {
    expectOnlyIssue(
      rejection(withAsset('decimals: 6, commission: "1%"', symbol)),
      `assets.${symbol}`,
      'asset symbols are 2–10 uppercase letters or digits, starting with a letter',
    );
  });

  it('a typo in a key is an error naming the key, not a silent default', () => {
    const issue = expectOnlyIssue(rejection(withAsset('decimals: 6, commission: "1%", comission: "10%"')), 'assets.ATOM.comission', /^unknown key/);
    expect(issue.message).toContain('commission');
  });

  it('unknown keys are errors at every level', () => {
    const text = `databse: { url: "postgres://a@b/c" }
database: { url: "postgres://a@b/c", user: x }
assets:
  ATOM: { decimals: 6, commission: "1%", distribution: { shedule: "0 0 * * *" } }
`;
    const error = rejection(text);
    expect(error.issues.map((i) => i.path)).toEqual(['databse', 'database.user', 'assets.ATOM.distribution.shedule']);
    expect(error.issues[0]!.message).toBe('unknown key (expected one of: database, redis, assets, chains, ledger, api, worker)');
    expect(error.issues[2]!.message).toBe('unknown key (expected one of: schedule, timezone)');
  });

  it('an invalid cron schedule', () => {
    expectOnlyIssue(
      rejection(withAsset('decimals: 6, commission: "1%", distribution: { schedule: "61 0 * * *" }')),
      'assets.ATOM.distribution.schedule',
      /^not a valid cron expression: .*61/,
    );
    expectOnlyIssue(
      rejection(withAsset('decimals: 6, commission: "1%", distribution: { schedule: "" }')),
      'assets.ATOM.distribution.schedule',
      /^must not be empty/,
    );
  });

  it('an unknown time zone', () => {
    expectOnlyIssue(
      rejection(withAsset('decimals: 6, commission: "1%", distribution: { timezone: Mars/Olympus_Mons }')),
      'assets.ATOM.distribution.timezone',
      'unknown time zone "Mars/Olympus_Mons"; use an IANA name like "UTC" or "Europe/Berlin"',
    );
  });

  it('needs at least one asset', () => {
    expectOnlyIssue(rejection('database: { url: "postgres://a@b/c" }\nassets: {}\n'), 'assets', 'list at least one asset');
    expectOnlyIssue(rejection('database: { url: "postgres://a@b/c" }\n'), 'assets', 'required');
  });

  it('an empty file or a file that is not a mapping', () => {
    expectOnlyIssue(rejection(''), '', 'expected a YAML mapping with assets (and database, redis, chains, ledger, api, worker)');
    expectOnlyIssue(rejection('- a\n- b\n'), '', 'expected a YAML mapping with assets (and database, redis, chains, ledger, api, worker)');
  });

  it('YAML syntax errors name the line', () => {
    const error = rejection('assets:\n  ATOM: { decimals: 6\nredis: x\n');
    expect(error.file).toBe(FILE);
    expect(error.issues.length).toBeGreaterThan(0);
    expect(error.message).toMatch(/^devnet\.yaml: line \d+, column \d+: /);
  });

  it('a duplicated key is a syntax error on its line', () => {
    const error = rejection(`${EXAMPLE}  ATOM:\n    decimals: 6\n    commission: "1%"\n`);
    expect(error.issues[0]!.message).toMatch(/^line 13, column 3: .*unique/i);
  });

  it('collects every issue of the file in one error', () => {
    const text = `
database:
  url: mysql://app@db/softstake
redis:
  url: http://127.0.0.1:6379
assets:
  atom: { decimals: 6, commission: "1%" }
  ATOM:
    decimals: 6
    minHolding: "1 DOT"
    cap: "0.0000001"
    comission: "10%"
    commission: 10
    distribution: { schedule: "61 0 * * *", timezone: Mars/Base }
  DOT: { decimals: 31, minHolding: "-1", commission: "100.01%" }
`;
    const error = rejection(text);
    expect(error.issues.map((i) => i.path)).toEqual([
      'database.url',
      'redis.url',
      'assets.atom',
      'assets.ATOM.commission',
      'assets.ATOM.distribution.schedule',
      'assets.ATOM.distribution.timezone',
      'assets.ATOM.comission',
      'assets.ATOM.minHolding',
      'assets.ATOM.cap',
      'assets.DOT.decimals',
      'assets.DOT.commission',
      'assets.DOT.minHolding',
    ]);
    expect(error.message.split('\n')).toHaveLength(12);
    expect(error.message.split('\n').every((line) => line.startsWith('devnet.yaml: '))).toBe(true);
    expect(error.message).toContain('devnet.yaml: database.url: expected a postgres:// or postgresql:// URL');
    expect(error.message).toContain('devnet.yaml: redis.url: expected a redis:// or rediss:// URL');
  });
});

describe('parseConfig: connections, environment and secrets', () => {
  const assetsOnly = 'assets:\n  ATOM: { decimals: 6, commission: "1%" }\n';

  it('requires database.url unless SOFTSTAKE_DATABASE_URL is set', () => {
    expectOnlyIssue(rejection(assetsOnly), 'database.url', 'required (or set SOFTSTAKE_DATABASE_URL)');
    const config = parseConfig(assetsOnly, FILE, { SOFTSTAKE_DATABASE_URL: 'postgres://app@db/softstake' });
    expect(config.database.url).toBe('postgres://app@db/softstake');
  });

  it('SOFTSTAKE_DATABASE_URL and SOFTSTAKE_REDIS_URL replace the file URLs and may carry passwords', () => {
    const config = parseConfig(EXAMPLE, FILE, {
      SOFTSTAKE_DATABASE_URL: `postgresql://app:${SECRET}@db.internal:6432/prod`,
      SOFTSTAKE_REDIS_URL: `rediss://:${SECRET}@cache.internal:6380`,
    });
    expect(config.database.url).toBe(`postgresql://app:${SECRET}@db.internal:6432/prod`);
    expect(config.redis.url).toBe(`rediss://:${SECRET}@cache.internal:6380`);
  });

  it('an empty environment variable does not override', () => {
    const config = parseConfig(EXAMPLE, FILE, { SOFTSTAKE_DATABASE_URL: '', SOFTSTAKE_REDIS_URL: '' });
    expect(config.database.url).toBe('postgres://postgres@127.0.0.1:5432/softstake');
  });

  it('rejects an environment URL of the wrong kind without printing it', () => {
    const error = rejection(EXAMPLE, {
      SOFTSTAKE_DATABASE_URL: `mysql://app:${SECRET}@db/x`,
      SOFTSTAKE_REDIS_URL: `not a url ${SECRET}`,
    });
    expect(error.issues).toEqual([
      { path: 'database.url', message: 'SOFTSTAKE_DATABASE_URL, which replaces it, is not a postgres:// or postgresql:// URL' },
      { path: 'redis.url', message: 'SOFTSTAKE_REDIS_URL, which replaces it, is not a valid URL; expected redis:// or rediss://…' },
    ]);
    expect(error.message).not.toContain(SECRET);
  });

  it.each([
    ['database', `postgres://app:${SECRET}@db/softstake`, 'SOFTSTAKE_DATABASE_URL'],
    ['database', `postgres://app@db/softstake?password=${SECRET}`, 'SOFTSTAKE_DATABASE_URL'],
    ['redis', `redis://:${SECRET}@127.0.0.1:6379`, 'SOFTSTAKE_REDIS_URL'],
  ])('rejects an inline password in %s.url: %s', (section, url, envName) => {
    const text = section === 'database' ? `database: { url: "${url}" }\n${assetsOnly}` : `${EXAMPLE}`.replace('redis://127.0.0.1:6379', url);
    const error = rejection(text);
    expectOnlyIssue(error, `${section}.url`, `must not contain a password: put it in ${section}.passwordFile, or pass the whole URL in ${envName}`);
    expect(error.message).not.toContain(SECRET);
  });

  it('rejects an inline password in the file even when the environment overrides the URL', () => {
    const error = rejection(`database: { url: "postgres://a:${SECRET}@b/c" }\n${assetsOnly}`, { SOFTSTAKE_DATABASE_URL: 'postgres://a@b/c' });
    expectOnlyIssue(error, 'database.url', /^must not contain a password/);
  });
});

describe('loadConfig: files', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'softstake-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function writeConfig(name: string, text: string): Promise<string> {
    const file = path.join(dir, name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text);
    return file;
  }

  it('loads config/devnet.yaml', async () => {
    const config = await loadConfig('config/devnet.yaml', NO_ENV);
    expect(config.file).toBe('config/devnet.yaml');
    expect(config.database.url).toBe('postgres://postgres@127.0.0.1:5432/softstake');
    expect(config.redis.url).toBe('redis://127.0.0.1:6379');
    expect(config.assets).toEqual({
      ATOM: {
        symbol: 'ATOM',
        decimals: 6,
        minHolding: 1_000_000n,
        cap: 100_000_000_000n,
        commissionBps: 1000,
        distribution: { schedule: '0 0 * * *', timezone: 'UTC' },
      },
      NEAR: {
        symbol: 'NEAR',
        decimals: 24,
        minHolding: 10n ** 24n,
        cap: null,
        commissionBps: 1000,
        distribution: { schedule: '0 0 * * *', timezone: 'UTC' },
      },
      ...Object.fromEntries(
        (
          [
            ['TRX', 6],
            ['APT', 8],
            ['DOT', 10],
          ] as const
        ).map(([symbol, decimals]) => [
          symbol,
          { symbol, decimals, minHolding: 10n ** BigInt(decimals), cap: null, commissionBps: 1000, distribution: { schedule: '0 0 * * *', timezone: 'UTC' } },
        ]),
      ),
    });
    expect(Object.values(config.chains).map((c) => [c.kind, c.asset])).toEqual([
      ['cosmos', 'ATOM'],
      ['near', 'NEAR'],
      ['tron', 'TRX'],
      ['aptos', 'APT'],
      ['polkadot', 'DOT'],
    ]);
  });

  it('a missing file is a ConfigError saying it could not be read', async () => {
    const file = path.join(dir, 'missing.yaml');
    const error = await loadRejection(file);
    expect(error.file).toBe(file);
    expect(error.message).toBe(`${file}: could not read the file (ENOENT)`);
  });

  it('merges database.passwordFile, relative to the config file, URL-encoded, trailing newline trimmed', async () => {
    const password = `p@ss/w:rd%#${SECRET}`;
    await writeConfig('merge/secrets/pg-password', `${password}\n`);
    await writeConfig('merge/secrets/redis-password', `${SECRET}\r\n`);
    const file = await writeConfig(
      'merge/softstake.yaml',
      `database:
  url: postgres://app@127.0.0.1:5432/softstake
  passwordFile: secrets/pg-password
redis:
  passwordFile: ./secrets/redis-password
${assetsBlock()}`,
    );
    const config = await loadConfig(file, NO_ENV);
    const db = new URL(config.database.url);
    expect(decodeURIComponent(db.password)).toBe(password);
    expect(db.username).toBe('app');
    expect(db.host).toBe('127.0.0.1:5432');
    expect(db.pathname).toBe('/softstake');
    expect(config.database.url).not.toContain(password); // encoded, so '@' and '/' cannot break the URL
    const redis = new URL(config.redis.url);
    expect(decodeURIComponent(redis.password)).toBe(SECRET);
    expect(redis.host).toBe('127.0.0.1:6379');

    const redacted = JSON.stringify(redactConfig(config));
    expect(redacted).not.toContain(SECRET);
    expect(redacted).not.toContain(encodeURIComponent(password));
    expect(redactConfig(config)).toEqual({
      file,
      database: { url: 'postgres://app:***@127.0.0.1:5432/softstake' },
      redis: { url: 'redis://:***@127.0.0.1:6379', prefix: 'softstake', startupWaitMs: 30_000 },
      assets: {
        ATOM: {
          symbol: 'ATOM',
          decimals: 6,
          minHolding: '1000000',
          cap: '100000000000',
          commissionBps: 1000,
          distribution: { schedule: '0 0 * * *', timezone: 'UTC' },
        },
      },
      chains: {},
      ledger: { clockSkewMs: 300_000 },
      api: {
        host: '127.0.0.1',
        port: 8080,
        token: null,
        dashboard: null,
        bodyLimitBytes: 4 * 1024 * 1024,
        headersTimeoutMs: 10_000,
        requestTimeoutMs: 30_000,
        keepAliveTimeoutMs: 5_000,
        metrics: { mode: 'public' },
        readyMaxAgeMs: null,
      },
      worker: { lockDurationMs: 30_000, attempts: 8, backoffMs: 5_000, shutdownTimeoutMs: 30_000 },
    });
  });

  it('an unreadable or empty passwordFile is an error at that field, with no secret in it', async () => {
    await writeConfig('bad/empty-password', '\n');
    const file = await writeConfig(
      'bad/softstake.yaml',
      `database:\n  url: postgres://app@db/softstake\n  passwordFile: nowhere/pg-password\nredis:\n  passwordFile: empty-password\n${assetsBlock()}`,
    );
    const error = await loadRejection(file);
    expect(error.issues).toEqual([
      { path: 'database.passwordFile', message: `could not read ${path.join(dir, 'bad/nowhere/pg-password')} (ENOENT)` },
      { path: 'redis.passwordFile', message: `${path.join(dir, 'bad/empty-password')} is empty` },
    ]);
  });

  it('a password in SOFTSTAKE_DATABASE_URL wins over passwordFile, which is then not read', async () => {
    const file = await writeConfig(
      'env-wins/softstake.yaml',
      `database:\n  url: postgres://app@db/softstake\n  passwordFile: does-not-exist\n${assetsBlock()}`,
    );
    const config = await loadConfig(file, { SOFTSTAKE_DATABASE_URL: `postgres://app:${SECRET}@db2/softstake` });
    expect(config.database.url).toBe(`postgres://app:${SECRET}@db2/softstake`);
    expect(JSON.stringify(redactConfig(config))).not.toContain(SECRET);
  });

  it('passwordFile is merged into a SOFTSTAKE_DATABASE_URL without a password', async () => {
    await writeConfig('env-merge/pw', SECRET);
    const file = await writeConfig('env-merge/softstake.yaml', `database:\n  passwordFile: pw\n${assetsBlock()}`);
    const config = await loadConfig(file, { SOFTSTAKE_DATABASE_URL: 'postgres://app@db2/softstake' });
    expect(config.database.url).toBe(`postgres://app:${SECRET}@db2/softstake`);
  });

  it('no error message carries the secret, whichever way it was given', async () => {
    await writeConfig('leak/pw', SECRET);
    const file = await writeConfig(
      'leak/softstake.yaml',
      `database:\n  url: postgres://app:${SECRET}@db/softstake\n  passwordFile: pw\nredis:\n  url: "redis://:${SECRET}@x:1"\nassets:\n  ATOM: { decimals: 6, commission: "1%", minHolding: "1 DOT" }\n`,
    );
    const error = await loadRejection(file, { SOFTSTAKE_REDIS_URL: `http://:${SECRET}@x` });
    expect(error.issues.map((i) => i.path)).toEqual(['database.url', 'redis.url', 'redis.url', 'assets.ATOM.minHolding']);
    expect(error.message).not.toContain(SECRET);
  });
});

function assetsBlock(): string {
  return 'assets:\n  ATOM:\n    decimals: 6\n    minHolding: "1"\n    cap: "100000"\n    commission: "10%"\n';
}

describe('redactConfig', () => {
  it('redacts secret-named fields and URL passwords, keeps the rest readable', () => {
    const config = parseConfig(EXAMPLE, FILE, {
      SOFTSTAKE_DATABASE_URL: `postgres://app@db/softstake?sslmode=require&password=${SECRET}`,
      SOFTSTAKE_REDIS_URL: `redis://default:${SECRET}@cache:6379/0`,
    });
    const withExtra = { ...config, signer: { privateKey: SECRET, keyFile: '/run/secrets/k' } } as SoftstakeConfig;
    const view = redactConfig(withExtra) as Record<string, Record<string, unknown>>;
    expect(view.database!.url).toBe('postgres://app@db/softstake?sslmode=require&password=***');
    expect(view.redis!.url).toBe('redis://default:***@cache:6379/0');
    expect(view.signer).toEqual({ privateKey: '[redacted]', keyFile: '/run/secrets/k' });
    expect(JSON.stringify(view)).not.toContain(SECRET);
  });
});

describe('parseConfig: chains', () => {
  const chain = (stake: string) =>
    `${withAsset('decimals: 6, commission: "10%"')}chains:\n  hub:\n    kind: cosmos\n    asset: ATOM\n    endpoints: [http://127.0.0.1:26657]\n    signer: { env: MNEMONIC }\n    validators: [{ address: cosmosvaloper1a, weight: 2 }]\n    stake: ${stake}\n`;

  it('normalizes the stake policy with the asset\'s decimals, as the assets section does', () => {
    const config = parseConfig(chain('{ targetRatio: "92.5%", minBuffer: "10 ATOM", minMove: 1 }'), FILE, NO_ENV);
    expect(config.chains.hub!.stake).toEqual({ targetRatioBps: 9250, minBuffer: 10_000_000n, minMove: 1_000_000n });
  });

  it('refuses what the assets section refuses: a ratio over 100%, an unsafe bare number, a wrong unit', () => {
    const error = rejection(chain('{ targetRatio: "150%", minBuffer: 9007199254740993, minMove: "1 NEAR" }'));
    expect(error.issues).toEqual([
      { path: 'chains.hub.stake.targetRatio', message: 'must be between 0% and 100%' },
    ]);
    const amounts = rejection(chain('{ minBuffer: 9007199254740993, minMove: "1 NEAR" }'));
    expect(amounts.issues).toEqual([
      { path: 'chains.hub.stake.minBuffer', message: 'write fractional or very large amounts in quotes, e.g. "0.5": YAML reads bare numbers as floating point' },
      { path: 'chains.hub.stake.minMove', message: 'is in NEAR, but this is the ATOM asset' },
    ]);
  });
});

describe('redactConfig: chain endpoints', () => {
  it('reduces endpoints to scheme, host and port: a path or a query can hold an API key', () => {
    const text = `${withAsset('decimals: 6, commission: "10%"')}chains:\n  hub:\n    kind: cosmos\n    asset: ATOM\n    endpoints: ["https://rpc.example/v1?apikey=${SECRET}&network=hub", "https://user:${SECRET}@rpc-b.example:8443/v2/${SECRET}"]\n    signer: { env: MNEMONIC }\n    validators: [{ address: cosmosvaloper1a }]\n`;
    const view = redactConfig(parseConfig(text, FILE, NO_ENV)) as { chains: { hub: { endpoints: string[] } } };
    expect(JSON.stringify(view)).not.toContain(SECRET);
    expect(view.chains.hub.endpoints).toEqual(['https://rpc.example', 'https://rpc-b.example:8443']);
  });
});

describe('parseConfig: the api and ledger sections', () => {
  const secrets: Record<string, string> = {};
  const readSecret = (file: string) => {
    const text = secrets[path.basename(file)];
    if (text === undefined) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
    return text;
  };
  const withApi = (api: string, extra = '') => `${withAsset('decimals: 6, commission: "10%"')}api:\n${api}${extra}`;

  it('a token file whose content cannot be a bearer token (spaces) fails, without quoting it', () => {
    secrets['token-spaces'] = 'correct horse battery staple 0123\n';
    const error = (() => {
      try {
        parseConfig(withApi('  tokenFile: ./token-spaces\n'), FILE, NO_ENV, readSecret);
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('accepted');
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expectOnlyIssue(error, 'api.tokenFile', /one word of letters, digits/);
    expect(error.message).not.toContain('horse');
    secrets['token-ok'] = 'abcdefABCDEF0123456789-._~+/==\n';
    expect(parseConfig(withApi('  tokenFile: ./token-ok\n'), FILE, NO_ENV, readSecret).api.token).toBe('abcdefABCDEF0123456789-._~+/==');
  });

  it('the dashboard is read-only unless actions are listed; unknown actions are refused', () => {
    secrets.pw = 'dashboard-password';
    const base = '  dashboard:\n    user: operator\n    passwordFile: ./pw\n';
    expect(parseConfig(withApi(base), FILE, NO_ENV, readSecret).api.dashboard).toEqual({ user: 'operator', password: 'dashboard-password', actions: [] });
    expect(parseConfig(withApi(`${base}    actions: [retry-failed-poll]\n`), FILE, NO_ENV, readSecret).api.dashboard?.actions).toEqual(['retry-failed-poll']);
    expect(() => parseConfig(withApi(`${base}    actions: [obliterate]\n`), FILE, NO_ENV, readSecret)).toThrow(/api\.dashboard\.actions\.0: expected one of retry-failed-poll, retry-failed/);
  });

  it('request timeouts, /metrics access and the /ready bound', () => {
    secrets.token = 'a-token-of-at-least-16-chars';
    const config = parseConfig(
      withApi('  tokenFile: ./token\n  headersTimeout: 5s\n  requestTimeout: 1m\n  keepAliveTimeout: 2s\n  metrics: token\n  readyMaxAge: 10m\n'),
      FILE,
      NO_ENV,
      readSecret,
    );
    expect(config.api).toMatchObject({ headersTimeoutMs: 5_000, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 2_000, metrics: { mode: 'token' }, readyMaxAgeMs: 600_000 });
    expect(parseConfig(withApi('  metrics: "127.0.0.1:9100"\n'), FILE, NO_ENV, readSecret).api.metrics).toEqual({ mode: 'listen', host: '127.0.0.1', port: 9100 });
    expect(() => parseConfig(withApi('  metrics: token\n'), FILE, NO_ENV, readSecret)).toThrow(/api\.metrics: "token" needs api\.tokenFile/);
    expect(() => parseConfig(withApi('  requestTimeout: 30\n'), FILE, NO_ENV, readSecret)).toThrow(/api\.requestTimeout: /);
    expect(() => parseConfig(withApi('  requestTimeout: 5s\n'), FILE, NO_ENV, readSecret)).toThrow(/api\.headersTimeout: must not be longer than api\.requestTimeout/);
  });

  it("an asset's first period and the ledger's clock skew", () => {
    const config = parseConfig(`${withAsset('decimals: 6, commission: "10%", since: "2026-01-01T00:00:00Z"')}ledger:\n  clockSkew: 1m\n`, FILE, NO_ENV);
    expect(config.assets.ATOM?.since).toBe(Date.parse('2026-01-01T00:00:00Z'));
    expect(config.ledger).toEqual({ clockSkewMs: 60_000 });
    expect(parseConfig(withAsset('decimals: 6, commission: "10%"'), FILE, NO_ENV).ledger).toEqual({ clockSkewMs: 300_000 });
    expect(() => parseConfig(withAsset('decimals: 6, commission: "10%", since: "2026-01-01"'), FILE, NO_ENV)).toThrow(/assets\.ATOM\.since: expected an ISO-8601 instant/);
  });
});
