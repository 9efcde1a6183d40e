/**
 * The chaos soak, short: `npm run soak` with a one-minute steady part and a
 * fixed seed, 3, whose schedule has a worker SIGKILL, a Redis restart and
 * the flush, PostgreSQL terminations, a lost response and a slash. It runs
 * every chain of config/devnet.yaml, the daemon as four processes, its own
 * redis-server on a free port and its own database, and must end with every
 * invariant holding; its table is in the output.
 */
import { spawn } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { freePort } from '../helpers/daemon.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const MAIN = new URL('../../bench/soak/main.ts', import.meta.url).pathname;

describe('chaos soak (short, seed 3)', () => {
  it('every invariant holds after a minute of faults (about two minutes in all, longer under load)', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--duration', '60s', '--seed', '3', '--redis-port', String(port), '--quiet'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const report = `${stdout}\n${stderr.slice(-3000)}`;
    expect(code, report).toBe(0);
    expect(stdout, report).toContain('soak passed, seed 3');
    // Every invariant row says ok, and the flush and worker kills did happen.
    const invariants = stdout.split('\n').filter((l) => l.startsWith('invariant'));
    expect(invariants.length, report).toBeGreaterThanOrEqual(10);
    expect(invariants.filter((l) => !/ ok: /.test(l)), report).toEqual([]);
    expect(stdout, report).toMatch(/faults\s+redis-flush\s+1\b/);
    expect(stdout, report).toMatch(/faults\s+worker-sigkill\s+[1-9]/);
  }, 600_000);
});
