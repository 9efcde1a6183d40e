/** The soak's one table: what was injected, what the daemon did, what it cost, and each invariant. */
import type { SoakResult } from './run.js';
import { FAULT_KINDS } from './schedule.js';

const mib = (bytes: number | undefined) => (bytes === undefined ? '?' : `${(bytes / 1048576).toFixed(1)}`);

export function formatReport(r: SoakResult): string {
  const rows: [string, string, string][] = [];
  const add = (section: string, what: string, value: string) => rows.push([section, what, value]);
  add('run', 'seed / schedule', `${r.seed} / ${r.scheduleDigest}`);
  add('run', 'steady part', `${Math.round(r.steadyMs / 1000)} s; chains ${r.chains.join(', ')}`);
  add('run', 'load average (1 min) start → end', `${r.load.start[0]!.toFixed(2)} → ${r.load.end[0]!.toFixed(2)}`);
  for (const kind of FAULT_KINDS) add('faults', kind, String(r.faults.get(kind) ?? 0));
  add('jobs', 'run / retried', `${r.jobsRun} / ${r.jobsRetried}`);
  add('jobs', 'by name', [...r.jobsByName.entries()].sort().map(([n, c]) => `${n} ${c}`).join(', '));
  add('chain', 'transactions included (failed on chain)', `${r.txs.included} (${r.txs.failedOnChain})`);
  add('chain', 'intents signed', String(r.txs.intents));
  add('ledger', 'reward events', [...r.rewardEvents.entries()].sort().map(([s, n]) => `${s} ${n}`).join(', ') || '0');
  add('ledger', 'distributions (non-zero)', String(r.distributions));
  add('api', 'balance changes accepted / refused', `${r.client.accepted} / ${r.client.refused} (${r.client.duplicates} duplicates of retried requests)`);
  add('api', 'requests / errors retried', `${r.client.requests} / ${r.client.errors}`);
  add('api', 'POST /v1/balance-changes p50 / p99', `${r.client.p50.toFixed(1)} ms / ${r.client.p99.toFixed(1)} ms`);
  for (const m of r.memory) {
    const growth = m.start && m.end ? ` (heap ${m.end.heapUsed >= m.start.heapUsed ? '+' : ''}${mib(m.end.heapUsed - m.start.heapUsed)})` : '';
    const restarts = m.restarts > 0 ? `, ${m.restarts} restarts` : '';
    const mark = m.start?.uncollected || m.end?.uncollected ? ' (a reading without GC)' : '';
    add('memory MiB', `${m.label} RSS, heap: start → end${mark}`, `${mib(m.start?.rss)}, ${mib(m.start?.heapUsed)} → ${mib(m.end?.rss)}, ${mib(m.end?.heapUsed)}${growth}${restarts}`);
  }
  add('run', 'database', r.database);
  for (const inv of r.invariants) add('invariant', inv.name, `${inv.ok ? 'ok' : 'VIOLATED'}: ${inv.detail}`);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i]!.length), ['', 'measure', 'value'][i]!.length));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(['', 'measure', 'value']), ...rows.map(line)].join('\n');
}
