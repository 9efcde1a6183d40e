/**
 * `softstake devnet` tells a person how to reach each chain once every
 * devnet is up: one line per chain (one JSON line with `--json`) with the
 * asset, the endpoints, the custody address and a funded test account whose
 * key the chain's own SDK takes, as anvil and hardhat do. Here cosmjs,
 * near-api-js, tronweb and the Aptos ts-sdk make transactions of their own
 * with the printed keys while the daemon runs.
 */
import type { ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DirectSecp256k1HdWallet } from '@cosmjs/proto-signing';
import { GasPrice, SigningStargateClient, StargateClient } from '@cosmjs/stargate';
import { Account as AptosAccount, Aptos, AptosConfig, Ed25519PrivateKey, Network } from '@aptos-labs/ts-sdk';
import { Account, type KeyPairString } from 'near-api-js';
import { TronWeb } from 'tronweb';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import type { DevnetChainInfo } from '../../src/cli/commands/devnet.js';
import { spawnCli } from '../helpers/cli.js';
import { freePort } from '../helpers/daemon.js';
import { dropDatabases, TEST_SERVER_URL } from '../helpers/db.js';

const name = `softstake_t_devacc_${process.pid}`;
const databaseUrl = new URL(TEST_SERVER_URL);
databaseUrl.pathname = `/${name}`;

afterAll(() => dropDatabases(name, `${name}_devnet`));

/** config/devnet.yaml as shipped, on this test's database, port and Redis prefix. */
async function shippedConfig(): Promise<string> {
  const shipped = await readFile(new URL('../../config/devnet.yaml', import.meta.url), 'utf8');
  const dir = await mkdtemp(join(tmpdir(), 'softstake-devnet-accounts-'));
  await cp(new URL('../../config/devnet-secrets', import.meta.url), join(dir, 'devnet-secrets'), { recursive: true });
  const config = join(dir, 'devnet.yaml');
  await writeFile(
    config,
    shipped
      .replace(/url: postgres:\/\/\S+/, `url: ${databaseUrl.href}`)
      .replace(/listen: 127\.0\.0\.1:8080/, `listen: 127.0.0.1:${await freePort()}`)
      .replace(/^redis:\n {2}url: (\S+)/m, `redis:\n  url: $1\n  prefix: t-devacc-${process.pid}`),
  );
  return config;
}

interface Run {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** The first stdout line matching `pattern`, waiting up to `timeoutMs`. */
  line(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGINT, then the exit code. */
  stop(): Promise<number | null>;
}

let run: Run | undefined;
afterEach(async () => {
  if (run !== undefined && run.child.exitCode === null) await run.stop();
  run = undefined;
});

function start(args: string[]): Run {
  const child = spawnCli(args);
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    async line(pattern, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = out.split('\n').find((l) => pattern.test(l));
        if (found !== undefined) return found;
        if (child.exitCode !== null) throw new Error(`softstake devnet exited ${child.exitCode} before printing ${pattern}: ${err.slice(-2000)}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; stderr: ${err.slice(-2000)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async stop() {
      child.kill('SIGINT');
      return exited;
    },
  };
}

describe('softstake devnet: how to reach each chain', () => {
  it('--json: one line naming every chain\'s endpoints, custody and a test account the chain\'s own SDK can spend from', async () => {
    run = start(['devnet', '-c', await shippedConfig(), '--json']);
    const ready = JSON.parse(await run.line(/^\{"devnets":/)) as { devnets: DevnetChainInfo[] };
    expect(ready.devnets.map((d) => [d.asset, d.chain, d.kind])).toEqual([
      ['ATOM', 'cosmoshub-devnet', 'cosmos'],
      ['NEAR', 'near-devnet', 'near'],
      ['TRX', 'tron-devnet', 'tron'],
      ['APT', 'aptos-devnet', 'aptos'],
      ['DOT', 'polkadot-devnet', 'polkadot'],
    ]);
    const [atom, near, trx, apt] = ready.devnets as [DevnetChainInfo, DevnetChainInfo, DevnetChainInfo, DevnetChainInfo];
    for (const d of ready.devnets) {
      expect(d.endpoints.length).toBeGreaterThanOrEqual(2);
      for (const url of d.endpoints) expect(url).toMatch(/^(http|ws):\/\/127\.0\.0\.1:\d+$/);
      expect(d.testAccount.address).not.toBe(d.custody);
    }
    expect(atom.chainId).toBe('softstake-devnet-1');
    expect(atom.extraEndpoints?.websocket?.[0]).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/websocket$/);
    expect(atom.testAccount.balance).toBe('1000000000'); // 1,000 ATOM
    expect(atom.testAccount.key.split(' ')).toHaveLength(24); // a mnemonic, as Keplr and gaiad import it
    expect(near.testAccount.key).toMatch(/^ed25519:[1-9A-HJ-NP-Za-km-z]+$/);
    expect(near.testAccount.balance).toBe(String(1_000n * 10n ** 24n));
    expect(trx.testAccount.key).toMatch(/^[0-9a-f]{64}$/); // a hex private key, as tronweb and TronLink import it
    expect(trx.testAccount.balance).toBe('1000000000'); // 1,000 TRX
    expect(apt.testAccount.key).toMatch(/^ed25519-priv-0x[0-9a-f]{64}$/);
    expect(apt.testAccount.balance).toBe(String(1_000n * 10n ** 8n));
    expect(apt.chainId).toBe('4');

    // cosmjs, with the printed mnemonic: a send of 1 ATOM to a fresh address.
    const wallet = await DirectSecp256k1HdWallet.fromMnemonic(atom.testAccount.key);
    const [me] = await wallet.getAccounts();
    expect(me!.address).toBe(atom.testAccount.address);
    const signing = await SigningStargateClient.connectWithSigner(atom.endpoints[0]!, wallet, { gasPrice: GasPrice.fromString('0.025uatom') });
    const receiver = (await (await DirectSecp256k1HdWallet.generate(12)).getAccounts())[0]!.address;
    const sent = await signing.sendTokens(me!.address, receiver, [{ denom: 'uatom', amount: '1000000' }], 'auto');
    expect(sent.code).toBe(0);
    const reader = await StargateClient.connect(atom.endpoints[1]!);
    expect(await reader.getBalance(receiver, 'uatom')).toEqual({ denom: 'uatom', amount: '1000000' });
    signing.disconnect();
    reader.disconnect();

    // near-api-js, with the printed key: 5 NEAR staked in a pool.
    const account = new Account(near.testAccount.address, near.endpoints[0]!, near.testAccount.key as KeyPairString);
    const before = await account.getBalance();
    await account.callFunction({ contractId: 'alpha.poolv1.near', methodName: 'deposit_and_stake', args: {}, deposit: 5n * 10n ** 24n, gas: 50_000_000_000_000n });
    const staked = await account.provider.callFunction<string>({ contractId: 'alpha.poolv1.near', method: 'get_account_staked_balance', args: { account_id: near.testAccount.address } });
    expect(BigInt(staked!)).toBeGreaterThanOrEqual(5n * 10n ** 24n - 1n);
    expect(await account.getBalance()).toBeLessThan(before - 5n * 10n ** 24n);

    // tronweb, with the printed key: 5 TRX frozen for bandwidth.
    const tw = new TronWeb({ fullHost: trx.endpoints[0]!, privateKey: trx.testAccount.key });
    expect(tw.defaultAddress.base58).toBe(trx.testAccount.address);
    const freeze = await tw.trx.sign(await tw.transactionBuilder.freezeBalanceV2(5_000_000, 'BANDWIDTH', trx.testAccount.address));
    expect(await tw.trx.sendRawTransaction(freeze)).toMatchObject({ result: true });
    const frozen = async (): Promise<unknown> => ((await tw.trx.getUnconfirmedAccount(trx.testAccount.address)) as unknown as { frozenV2?: unknown[] }).frozenV2?.[0];
    expect(await frozen()).toEqual({ amount: 5_000_000 });

    // The Aptos ts-sdk, with the printed key: 1 APT sent to a fresh account.
    const aptos = new Aptos(new AptosConfig({ network: Network.CUSTOM, fullnode: `${apt.endpoints[0]!}/v1` }));
    const sender = AptosAccount.fromPrivateKey({ privateKey: new Ed25519PrivateKey(apt.testAccount.key) });
    expect(sender.accountAddress.toStringLong()).toBe(apt.testAccount.address);
    const receiverApt = AptosAccount.generate().accountAddress;
    const { ledger_timestamp } = await aptos.getLedgerInfo();
    const transfer = await aptos.transaction.build.simple({
      sender: sender.accountAddress,
      data: { function: '0x1::aptos_account::transfer', functionArguments: [receiverApt, 100_000_000] },
      // Chain time, not the local clock; gas well under the 2 APT the SDK's default would hold back.
      options: { expireTimestamp: Number(BigInt(ledger_timestamp) / 1_000_000n) + 60, maxGasAmount: 10_000 },
    });
    const pending = await aptos.signAndSubmitTransaction({ signer: sender, transaction: transfer });
    expect((await aptos.waitForTransaction({ transactionHash: pending.hash })).success).toBe(true);
    expect(await aptos.getBalance({ accountAddress: receiverApt, asset: '0x1::aptos_coin::AptosCoin' })).toBe(100_000_000);

    // Ctrl-C is handled once the daemon runs (the log says so); with four devnets it may still be starting.
    for (let i = 0; i < 1200 && !run.stderr().includes('"msg":"devnet running'); i += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await run.stop()).toBe(0);
    // The custody key stays in its key file: the log never carries a key.
    expect(run.stderr()).not.toContain(atom.testAccount.key);
    expect(run.stderr()).not.toContain(near.testAccount.key);
    expect(run.stderr()).not.toContain(trx.testAccount.key);
    expect(run.stderr()).not.toContain(apt.testAccount.key);
  }, 240_000);

  it('without --json: one line per chain, for a person', async () => {
    run = start(['devnet', '-c', await shippedConfig()]);
    const atom = await run.line(/^devnet ATOM /);
    const near = await run.line(/^devnet NEAR /);
    const trx = await run.line(/^devnet TRX /);
    const apt = await run.line(/^devnet APT /);
    const dot = await run.line(/^devnet DOT /);
    expect(atom).toMatch(
      /^devnet ATOM {2}cosmoshub-devnet \(cosmos, chain id softstake-devnet-1\) {2}endpoints http:\/\/127\.0\.0\.1:\d+, http:\/\/127\.0\.0\.1:\d+ {2}websocket ws:\/\/\S+, ws:\/\/\S+ {2}custody cosmos1\w+ {2}test account cosmos1\w+ holding 1000 ATOM, key \(mnemonic, HD path m\/44'\/118'\/0'\/0\/0\): (\w+ ){23}\w+$/,
    );
    expect(near).toMatch(/^devnet NEAR {2}near-devnet \(near, chain id near-devnet\) {2}endpoints \S+, \S+ {2}custody custody-[0-9a-f]{8}\.devnet {2}test account test-[0-9a-f]{8}\.devnet holding 1000 NEAR, key \([^)]+\): ed25519:\w+$/);
    expect(trx).toMatch(
      /^devnet TRX {2}tron-devnet \(tron\) {2}endpoints http:\/\/127\.0\.0\.1:\d+, http:\/\/127\.0\.0\.1:\d+ {2}custody T\w{33} {2}test account T\w{33} holding 1000 TRX, key \(hex private key, as tronweb and TronLink import it\): [0-9a-f]{64}$/,
    );
    expect(apt).toMatch(/^devnet APT {2}aptos-devnet \(aptos, chain id 4\) {2}endpoints \S+, \S+ {2}custody 0x[0-9a-f]{64} {2}test account 0x[0-9a-f]{64} holding 1000 APT, key \(.+\): ed25519-priv-0x[0-9a-f]{64}$/);
    expect(dot).toMatch(/^devnet DOT {2}polkadot-devnet \(polkadot\) {2}endpoints ws:\/\/127\.0\.0\.1:\d+, ws:\/\/127\.0\.0\.1:\d+ {2}custody 1\w+ {2}test account 1\w+ holding 1000 DOT, key \([^)]+\): (\w+ ){11}\w+$/);
    await run.line(/"msg":"devnet running/); // the log, on stdout without --json; Ctrl-C is handled from here on
    expect(await run.stop()).toBe(0);
  }, 240_000);
});
