/**
 * An operator's first hour, with the devnets standing in for a testnet:
 * `softstake keys new` writes a custody key (0600, never over a file, never
 * printed), `keys show` names its address, the faucet funds it, `softstake
 * preflight` passes; against a node without a tx index `preflight` fails
 * naming it, and `softstake start` refuses to run unless told to skip it.
 */
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createFundedAccount, startCosmosDevnet, type CosmosDevnet } from '../../adapters/cosmos/devnet.js';
import type { NearDevnet } from '../../adapters/near/devnet.js';
import type { PreflightReport } from '../../src/pipeline/preflight.js';
import { startDaemonChain, type DaemonChain } from '../helpers/chains.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { DaemonProcess, freePort, writeDaemonConfig } from '../helpers/daemon.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
let cosmos: DaemonChain;
let near: DaemonChain;
let noIndex: CosmosDevnet;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  db = await freshDatabase();
  cosmos = await startDaemonChain('cosmos');
  near = await startDaemonChain('near');
  noIndex = await startCosmosDevnet({ clock: 'wall', blockMs: 500, txIndex: false });
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await noIndex?.close();
  await near?.close();
  await cosmos?.close();
  await db?.drop();
});

/** A config for `chain` whose signer file does not exist yet. */
async function configWithoutKey(chain: DaemonChain, options?: string): Promise<{ file: string; keyFile: string }> {
  const base = chain.daemonConfig();
  const { file, dir } = await writeDaemonConfig({
    databaseUrl: db.url,
    redisUrl: 'redis://127.0.0.1:6379',
    port: await freePort(),
    ...base,
    ...(options === undefined ? {} : { chain: { ...base.chain!, options } }),
  });
  const keyFile = join(dir, 'secrets/custody.key');
  await rm(keyFile);
  return { file, keyFile };
}

/** No three words of the secret in a row, and none of its long words, in `text`. */
function expectNoSecret(text: string, secret: string, open: string[] = []): void {
  const words = secret.split(/[^A-Za-z0-9]+/).filter((w) => w.length >= 3 && !open.some((o) => o.includes(w)));
  expect(words.length).toBeGreaterThan(0);
  for (const w of words.filter((w) => w.length >= 12)) expect(text).not.toContain(w);
  for (let i = 0; i + 3 <= words.length; i += 1) expect(text).not.toContain(words.slice(i, i + 3).join(' '));
}

describe('softstake keys and preflight', () => {
  it('cosmos: keys new writes a 0600 mnemonic file and never overwrites it; keys show names its address; funded, preflight passes', async () => {
    const { file, keyFile } = await configWithoutKey(cosmos);
    const created = await runCli(['-c', file, '--json', 'keys', 'new', '--chain', 'cosmoshub-devnet']);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout) as { address: string; file: string; funding: string[]; format: string };
    expect(key.address).toMatch(/^cosmos1[0-9a-z]{38}$/);
    expect(key.file).toBe(keyFile);
    expect(key.funding.join(' ')).toContain(key.address);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const secret = await readFile(keyFile, 'utf8');
    expect(secret.trim().split(/\s+/)).toHaveLength(24);
    expectNoSecret(created.stdout + created.stderr, secret);

    const again = await runCli(['-c', file, 'keys', 'new', '--chain', 'cosmoshub-devnet']);
    expect(again.code).toBe(73);
    expect(again.stderr).toContain('already exists');
    expect(await readFile(keyFile, 'utf8')).toBe(secret);

    const shown = await runCli(['-c', file, 'keys', 'show']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`cosmoshub-devnet  ${key.address}`);
    expect(shown.stdout).toContain('mode 0600');
    expectNoSecret(shown.stdout, secret);

    // Unfunded: the custody fails the preflight, naming what to do.
    const unfunded = await runCli(['-c', file, 'preflight']);
    expect(unfunded.code).toBe(69);
    expect(unfunded.stdout).toMatch(new RegExp(`failure\\s+custody\\s+${key.address}\\s+the account does not exist`));
    expect(unfunded.stdout).toContain('fix: send uatom');

    (cosmos.devnet as CosmosDevnet).fund(key.address, 50_000_000n);
    const funded = await runCli(['-c', file, 'preflight']);
    expect(funded.stderr).toBe('');
    expect(funded.code).toBe(0);
    expect(funded.stdout).toMatch(/ok\s+custody\s+signer\s+key file/);
    expect(funded.stdout).toMatch(/ok\s+dependency\s+tx-index/);
    expect(funded.stdout).toContain('0 failure(s)');
    expectNoSecret(funded.stdout, secret);
  }, 60_000);

  it('near: keys new writes a near-cli key file for the implicit account; a transfer creates it; preflight passes', async () => {
    const chainId = (near.devnet as unknown as NearDevnet).chainId;
    const { file, keyFile } = await configWithoutKey(near, `{ networkId: ${chainId} }`);
    const created = await runCli(['-c', file, '--json', 'keys', 'new', '--chain', 'near-devnet']);
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout) as { address: string; publicKey: string };
    expect(key.address).toMatch(/^[0-9a-f]{64}$/);
    const content = JSON.parse(await readFile(keyFile, 'utf8')) as { account_id: string; public_key: string; private_key: string };
    expect(content).toMatchObject({ account_id: key.address, public_key: key.publicKey });
    expect(created.stdout).not.toContain(content.private_key.slice('ed25519:'.length, 'ed25519:'.length + 20));
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);

    (near.devnet as unknown as NearDevnet).fund(key.address, 100n * 10n ** 24n);
    const funded = await runCli(['-c', file, '--json', 'preflight']);
    expect(funded.code).toBe(0);
    const report = JSON.parse(funded.stdout) as PreflightReport;
    expect(report.ok).toBe(true);
    const checks = report.chains[0]!.checks;
    expect(checks.find((c) => c.kind === 'custody' && c.name === key.address)?.status).toBe('ok');
    expect(checks.filter((c) => c.kind === 'validator').map((c) => c.status)).toEqual(near.validators.map(() => 'ok'));
    expect(funded.stdout).not.toContain(content.private_key.slice('ed25519:'.length, 'ed25519:'.length + 20));
  }, 60_000);

  it('a node without a tx index: preflight fails naming it; start refuses to run (69); --skip-preflight starts', async () => {
    const account = await createFundedAccount(noIndex, 1_000_000_000n);
    const { file } = await writeDaemonConfig({
      databaseUrl: db.url,
      redisUrl: 'redis://127.0.0.1:6379',
      port: await freePort(),
      endpoints: [...noIndex.urls],
      keyHex: account.mnemonic,
      validators: noIndex.validators.map((address) => ({ address })),
      chain: { name: 'cosmoshub-devnet', kind: 'cosmos', options: `{ chainId: ${noIndex.chainId} }` },
    });
    const result = await runCli(['-c', file, 'preflight']);
    expect(result.code).toBe(69);
    expect(result.stdout).toMatch(/failure\s+dependency\s+tx-index\s+no transaction index on .*tx_index off/);
    expect(result.stdout).toContain('fix: use nodes with [tx_index] indexer = "kv"');
    expect(result.stdout).toMatch(/ok\s+endpoint/);

    const refused = DaemonProcess.start(file);
    cleanups.push(() => (refused.child.exitCode === null ? refused.kill() : Promise.resolve()));
    expect(await refused.exited).toBe(69);
    expect(refused.stderr).toContain('preflight failed, not starting');
    expect(refused.stderr).toContain('tx-index');
    expect(refused.logs.some((l) => l.msg === 'softstake ready')).toBe(false);

    // The api role alone never talks to the chains: no preflight.
    const api = DaemonProcess.start(file, ['api']);
    cleanups.push(() => (api.child.exitCode === null ? api.kill() : Promise.resolve()));
    await api.ready();
    expect(await api.kill('SIGTERM')).toBe(0);

    const skipped = new DaemonProcess(spawnCli(['start', '-c', file, '--skip-preflight'], { SOFTSTAKE_LOG_LEVEL: 'debug' }));
    cleanups.push(() => (skipped.child.exitCode === null ? skipped.kill() : Promise.resolve()));
    await skipped.ready();
    expect(skipped.logs.some((l) => l.msg === 'preflight skipped (--skip-preflight)')).toBe(true);
    expect(await skipped.kill('SIGTERM')).toBe(0);
  }, 90_000);
});
