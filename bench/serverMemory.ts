import { readFile } from 'node:fs/promises';

import pg from 'pg';

/** The peaks one run reached on the server. */
export interface ServerMemoryPeak {
  /**
   * Largest private memory (RssAnon: heap, sorts, hash tables, tuplestores)
   * of any backend working in the database, KiB; `undefined` when the server
   * is not on this machine (its /proc is not ours to read).
   */
  backendKiB: number | undefined;
  /** Largest total size of PostgreSQL's temp files (spilled sorts, hashes, tuplestores), bytes. */
  tempBytes: number;
  samples: number;
}

export interface ServerMemorySampler {
  stop(): Promise<ServerMemoryPeak>;
}

async function rssAnonKiB(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^RssAnon:\s+(\d+) kB/m.exec(status);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Samples, every `intervalMs` until stopped, the private memory of the
 * database's active backends (from /proc, when the server runs here) and the
 * size of the server's temp files (pg_ls_tmpdir, superuser or pg_monitor).
 * Shared buffers are not counted: they are allocated once at server start.
 */
export async function sampleServerMemory(url: string, intervalMs = 50): Promise<ServerMemorySampler> {
  const client = new pg.Client({ connectionString: url, application_name: 'softstake-bench-sampler' });
  await client.connect();
  let backendKiB: number | undefined;
  let tempBytes = 0;
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await client.query<{ pids: number[]; temp: string }>(
        `SELECT array(SELECT pid FROM pg_stat_activity
                       WHERE datname = current_database() AND backend_type IN ('client backend', 'parallel worker')
                         AND state <> 'idle' AND pid <> pg_backend_pid()) AS pids,
                (SELECT coalesce(sum(size), 0) FROM pg_ls_tmpdir()) AS temp`,
      );
      for (const pid of rows[0]!.pids) {
        const kib = await rssAnonKiB(pid);
        if (kib !== undefined) backendKiB = Math.max(backendKiB ?? 0, kib);
      }
      tempBytes = Math.max(tempBytes, Number(rows[0]!.temp));
      samples += 1;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await client.end();
      return { backendKiB, tempBytes, samples };
    },
  };
}
