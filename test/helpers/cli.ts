import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = new URL('../../bin/softstake.js', import.meta.url).pathname;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts the real `softstake` command as an operator would. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const child = spawnCli(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Writes a config file for a test database; returns its path. */
export async function writeConfig(databaseUrl: string, assetsYaml?: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'softstake-cli-'));
  const file = join(dir, 'softstake.yaml');
  await writeFile(
    file,
    `database:\n  url: ${databaseUrl}\nassets:\n${
      assetsYaml ??
      `  ATOM:\n    decimals: 6\n    minHolding: "0"\n    commission: "10%"\n    distribution: { schedule: "0 0 * * *", timezone: UTC }\n`
    }`,
  );
  return file;
}

/** Writes a file of test input next to nothing in particular; returns its path. */
export async function writeTemp(name: string, content: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'softstake-in-'));
  const file = join(dir, name);
  await writeFile(file, content);
  return file;
}

/**
 * The summary `softstake devnet --json` prints at the end: stdout minus the
 * one JSON line it prints once every devnet is up (`{"devnets":[…]}`).
 */
export function summaryOf(stdout: string): string {
  return stdout.startsWith('{"devnets":') ? stdout.slice(stdout.indexOf('\n') + 1) : stdout;
}
