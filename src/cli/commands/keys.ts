/**
 * `softstake keys new|show`: custody keys in each chain's own format.
 * `new` writes a fresh key to the signer file the chain block names (mode
 * 0600, never over an existing file) and prints its address and where to
 * fund it; `show` prints the address of the key there. Neither prints the
 * secret, and neither needs PostgreSQL, Redis or the network.
 */
import { mkdir, open, stat } from 'node:fs/promises';
import path from 'node:path';

import type { Command } from 'commander';

import { readSigningSecret } from '../../../adapters/signer.js';
import { loadConfig, type SoftstakeConfig } from '../../config/index.js';
import { ConfigError, SoftstakeError } from '../../errors.js';
import { loadChains, type LoadedChain } from '../../pipeline/adapters.js';
import { configPath, type GlobalOptions } from '../context.js';
import { printJson } from '../output.js';

/** `keys new` found a file where the key would go (EX_CANTCREAT): nothing was written. */
export const EXIT_KEY_EXISTS = 73;

export class KeyFileExistsError extends SoftstakeError {
  constructor(readonly file: string) {
    super(`${file} already exists: not overwriting a key (move it away first if it really is to be replaced; its funds stay with its address)`);
  }
}

async function chainOf(config: SoftstakeConfig, name: string): Promise<LoadedChain> {
  if (config.chains[name] === undefined) {
    const known = Object.keys(config.chains);
    throw new ConfigError(config.file, [{ path: `chains.${name}`, message: `no such chain block${known.length ? `; the config has ${known.join(', ')}` : ''}` }]);
  }
  // Only this chain's module: another block's problems do not stop a key for this one.
  const loaded = await loadChains({ ...config, chains: { [name]: config.chains[name] } });
  return loaded.get(name)!;
}

/** Writes `content` to a new file, mode 0600, refusing an existing one; the directory is made (0700) if missing. */
async function writeNewKeyFile(file: string, content: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  let handle;
  try {
    handle = await open(file, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new KeyFileExistsError(file);
    throw error;
  }
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function registerKeysCommands(program: Command, globals: () => GlobalOptions): void {
  const keys = program.command('keys').description('custody keys: a new one in the signer file, or the address of the one there (the secret is never printed)');

  keys
    .command('new')
    .description('write a new custody key to the chain block\'s signer file (mode 0600, never over an existing file); print its address and how to fund it')
    .requiredOption('--chain <name>', 'the chain block')
    .action(async (opts: { chain: string }) => {
      const g = globals();
      const config = await loadConfig(configPath(g));
      const { chain, module, adapterConfig } = await chainOf(config, opts.chain);
      if (!('file' in chain.signer)) {
        throw new ConfigError(config.file, [{ path: `chains.${chain.name}.signer`, message: `the signer is the environment variable ${chain.signer.env}: keys new writes a file; set signer: { file: … } to make one` }]);
      }
      const file = chain.signer.file;
      try {
        await stat(file);
        throw new KeyFileExistsError(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      const key = await module.newKey(adapterConfig);
      await writeNewKeyFile(file, key.secret);
      const mismatch = chain.address !== null && chain.address !== key.address;
      if (g.json) {
        printJson({ chain: chain.name, kind: chain.kind, address: key.address, file, format: key.format, ...(key.publicKey === undefined ? {} : { publicKey: key.publicKey }), funding: key.funding, ...(mismatch ? { configuredAddress: chain.address } : {}) });
        return;
      }
      const lines = [
        `${chain.name}: a new custody key is in ${file} (mode 0600; ${key.format})`,
        `address     ${key.address}`,
        ...(key.publicKey === undefined ? [] : [`public key  ${key.publicKey}`]),
        'fund it:',
        ...key.funding.map((line) => `  - ${line}`),
      ];
      if (mismatch) lines.push(`the chain block's address is ${chain.address}: set it to ${key.address} (or remove it) before starting`);
      else if (chain.address === null) lines.push(`set address: ${key.address} in the chain block so the api and scheduler roles never read the key`);
      lines.push('keep a copy of the key file somewhere safe and offline: whoever holds it holds the custody funds');
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  keys
    .command('show')
    .description('print the address of the key in each chain block\'s signer (or one block\'s), never the key')
    .option('--chain <name>', 'only this chain block')
    .action(async (opts: { chain?: string }) => {
      const g = globals();
      const config = await loadConfig(configPath(g));
      const names = opts.chain === undefined ? Object.keys(config.chains) : [opts.chain];
      const rows: { chain: string; address: string; signer: string; mode?: string; configuredAddress?: string }[] = [];
      for (const name of names) {
        const { chain, module, adapterConfig } = await chainOf(config, name);
        const secret = await readSigningSecret(chain.name, chain.signer);
        const address = await module.addressOf(secret, adapterConfig);
        const signer = 'file' in chain.signer ? chain.signer.file : `$${chain.signer.env}`;
        const mode = 'file' in chain.signer ? ((await stat(chain.signer.file)).mode & 0o777).toString(8).padStart(4, '0') : undefined;
        rows.push({ chain: chain.name, address, signer, ...(mode === undefined ? {} : { mode }), ...(chain.address !== null && chain.address !== address ? { configuredAddress: chain.address } : {}) });
      }
      if (g.json) {
        printJson({ keys: rows });
        return;
      }
      for (const r of rows) {
        const notes = [r.mode !== undefined && (Number.parseInt(r.mode, 8) & 0o077) !== 0 ? `readable by other users (mode ${r.mode}): chmod 600 ${r.signer}` : '', r.configuredAddress ? `NOT the chain block's address ${r.configuredAddress}` : ''].filter(Boolean);
        process.stdout.write(`${r.chain}  ${r.address}  (${r.signer}${r.mode ? `, mode ${r.mode}` : ''})${notes.length ? `  ${notes.join('; ')}` : ''}\n`);
      }
      if (rows.length === 0) process.stdout.write('no chains configured\n');
    });
}
