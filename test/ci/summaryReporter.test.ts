/**
 * The closing line CI reads must count every failure: a file that fails in
 * setup used to print `0 failed`. Runs vitest itself on three small files.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
let dir: string | undefined;

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const files: Record<string, string> = {
  // Its beforeAll fails: vitest marks both tests skipped, not failed.
  'setup.test.ts': `import { beforeAll, describe, expect, it } from 'vitest';
describe('needs a browser', () => {
  beforeAll(() => { throw new Error('chromium: not found'); });
  it('a', () => expect(1).toBe(1));
  it('b', () => expect(1).toBe(1));
});`,
  'import.test.ts': `import { expect, it } from 'vitest';
throw new Error('module fails on import');
it('c', () => expect(1).toBe(1));`,
  'plain.test.ts': `import { expect, it } from 'vitest';
it('passes', () => expect(1).toBe(1));
it('fails', () => expect(1).toBe(2));
it.skip('skipped', () => {});`,
};

it('counts a failed setup, a failed import and a failed test, and exits non-zero', async () => {
  dir = await mkdtemp(join(tmpdir(), 'softstake-reporter-'));
  await mkdir(join(dir, 'test'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, 'test', name), text);
  await symlink(join(root, 'node_modules'), join(dir, 'node_modules'));
  const vitest = join(root, 'node_modules/vitest/vitest.mjs');
  const reporter = join(root, 'test/helpers/summaryReporter.ts');
  const outcome = await run(process.execPath, [vitest, 'run', '--root', dir, '--reporter', reporter], { cwd: dir, timeout: 60_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout }),
    (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
  );
  expect(outcome.code).not.toBe(0);
  expect(outcome.stdout.trim().split('\n').at(-1)).toBe('vitest: 1 passed, 3 failed, 3 skipped');
});
