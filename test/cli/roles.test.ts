/**
 * Only the worker holds a key: with the custody `address` in the chain
 * block, the adapter reads the chain's position without the signer file, and
 * `softstake start --role api` starts, `/ready` judges the chain by its stored
 * position and `/v1` answers while the signer file cannot be read at all.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createFundedAccount, startCosmosDevnet, type CosmosDevnet } from '../../adapters/cosmos/devnet.js';
import { loadConfig } from '../../src/config/load.js';
import { createAdapters } from '../../src/pipeline/adapters.js';
import { storePosition } from '../../src/pipeline/positions.js';
import { api, DaemonProcess, freePort, writeDaemonConfig } from '../helpers/daemon.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
let devnet: CosmosDevnet;
let daemon: DaemonProcess | undefined;

beforeAll(async () => {
  db = await freshDatabase();
  devnet = await startCosmosDevnet();
});

afterAll(async () => {
  if (daemon && daemon.child.exitCode === null) await daemon.kill();
  await devnet?.close();
  await db?.drop();
});

describe('softstake start --role api', () => {
  it('starts and answers /ready and /v1 with the signer file unreadable, reading the chain from the custody address', async () => {
    const account = await createFundedAccount(devnet, 5_000_000n);
    const port = await freePort();
    const { file, dir } = await writeDaemonConfig({
      databaseUrl: db.url,
      redisUrl: 'redis://127.0.0.1:6379',
      endpoints: [...devnet.urls],
      keyHex: account.mnemonic,
      address: account.address,
      validators: devnet.validators.map((address) => ({ address })),
      port,
      // /ready allows three poll intervals since the stored read: longer than this test.
      intervals: { poll: '1h' },
      chain: { name: 'cosmoshub-devnet', kind: 'cosmos', options: `{ chainId: ${devnet.chainId} }` },
    });
    // Not a file any more: no process (not even root) can read it as one.
    const keyFile = join(dir, 'secrets/custody.key');
    await rm(keyFile);
    await mkdir(keyFile, { mode: 0o000 });
    await expect(readFile(keyFile, 'utf8')).rejects.toThrow();

    // What the poll job does, from the address alone: the key is never read.
    const config = await loadConfig(file);
    const adapters = await createAdapters(config);
    const adapter = adapters.get('cosmoshub-devnet')!;
    try {
      const position = await adapter.position();
      expect(position.liquid).toBe(5_000_000n);
      await storePosition(db.pool, adapter.name, adapter.asset, position);
    } finally {
      await adapter.close();
    }

    daemon = DaemonProcess.start(file, ['api']);
    await daemon.ready();
    const ready = await fetch(`http://127.0.0.1:${port}/ready`);
    const body = (await ready.json()) as { checks: Record<string, { status: string; error?: string }> };
    expect(body.checks['chain:cosmoshub-devnet'], JSON.stringify(body)).toMatchObject({ status: 'ok' });
    expect(ready.status).toBe(200);
    const assets = await api(port, 'GET', '/v1/assets');
    expect(assets.status).toBe(200);
    // Nothing failed for want of the key.
    expect(daemon.logs.filter((l) => ['warn', 'error', 'fatal', '40', '50', '60'].includes(String(l.level)) && /signer|custody\.key/.test(JSON.stringify(l)))).toEqual([]);
    await daemon.kill();
  });
});
