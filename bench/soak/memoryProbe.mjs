/* global setInterval */
// Preloaded into each daemon process of a soak run (NODE_OPTIONS=--import):
// writes the process's memory every second to $SOFTSTAKE_SOAK_PROBE_DIR/<pid>.json,
// so the soak reads RSS and V8 heap from outside without a hook in the daemon.
// On SIGUSR2 it collects garbage first (with --expose-gc) and writes at once:
// the soak's start and end readings are the live heap, not the garbage of the moment.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.SOFTSTAKE_SOAK_PROBE_DIR;
if (dir) {
  const write = (collected) => {
    const m = process.memoryUsage();
    // The reading after a collection has a file of its own, so the next periodic one cannot overwrite it unread.
    const file = join(dir, `${process.pid}${collected ? '.gc' : ''}.json`);
    try {
      writeFileSync(`${file}.tmp`, JSON.stringify({ at: Date.now(), rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, collected }));
      renameSync(`${file}.tmp`, file);
    } catch {
      // the soak removed the directory: nothing to report to
    }
  };
  write(false);
  setInterval(() => write(false), 1000).unref();
  process.on('SIGUSR2', () => {
    if (typeof globalThis.gc === 'function') globalThis.gc();
    write(true);
  });
}
