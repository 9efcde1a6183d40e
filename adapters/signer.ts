/**
 * Reads a chain's signing secret (mnemonic, private key) from where the
 * config says: a file or an environment variable. The secret goes straight
 * to the adapter's signer and nowhere else: not into the config object, a
 * log line, an error message or Redis.
 */
import { readFile } from 'node:fs/promises';
import { ChainProtocolError } from './errors.js';
import type { SignerSource } from './types.js';

export async function readSigningSecret(chain: string, source: SignerSource, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if ('env' in source) {
    const value = env[source.env];
    if (value === undefined || value.trim() === '') {
      throw new ChainProtocolError(chain, `signer: environment variable ${source.env} is not set`);
    }
    return value.trim();
  }
  try {
    const text = (await readFile(source.file, 'utf8')).trim();
    if (text === '') throw new ChainProtocolError(chain, `signer: key file ${source.file} is empty`);
    return text;
  } catch (error) {
    if (error instanceof ChainProtocolError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new ChainProtocolError(chain, `signer: could not read key file ${source.file}${code ? ` (${code})` : ''}`);
  }
}
