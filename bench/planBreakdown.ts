import type pg from 'pg';

import type { StatementCost } from './statementTrace.js';

/** Where one run's time went, plan node by plan node, and what its sorts and hashes held. */
export interface PlanBreakdown {
  /** Exclusive time per kind of plan node, most expensive first (`statement` names the node). */
  nodes: StatementCost[];
  /** Time not in `nodes`: CTE scans, scalar subqueries, plain aggregates. */
  other: number;
  /** Seconds of the statements explained. */
  seconds: number;
  /** Memory the plan's sorts, hashes and aggregates report, summed, in KiB; and the largest one. */
  sortHashKiB: number;
  largestKiB: number;
  /** Spilled to disk by sorts, hashes and aggregates, KiB. */
  diskKiB: number;
}

export interface PlanCapture {
  /** Starts collecting plans of the statements the pool's clients run from now on. */
  start(): void;
  /** Stops and sums what was collected. */
  stop(): PlanBreakdown;
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Operation?: string;
  'Subplan Name'?: string;
  'Sort Key'?: string[];
  'Group Key'?: string[];
  'Actual Total Time'?: number;
  'Actual Loops'?: number;
  'Sort Space Used'?: number;
  'Sort Space Type'?: string;
  'Peak Memory Usage'?: number;
  'Disk Usage'?: number;
  Plans?: PlanNode[];
}

const KEY_LENGTH = 40;

function labelOf(node: PlanNode, cte: string | undefined): string {
  let label = node['Node Type'] === 'ModifyTable' ? (node.Operation ?? 'ModifyTable') : node['Node Type'];
  if (node['Relation Name']) label += ` on ${node['Relation Name']}`;
  const keys = node['Sort Key'] ?? node['Group Key'];
  if (keys?.length) {
    const text = keys.join(', ').replace(/\s+/g, ' ');
    label += ` by ${text.length > KEY_LENGTH ? `${text.slice(0, KEY_LENGTH - 1)}…` : text}`;
  }
  return cte ? `${label} [${cte}]` : label;
}

const totalMs = (n: PlanNode): number => (n['Actual Total Time'] ?? 0) * (n['Actual Loops'] ?? 1);

/**
 * Collects EXPLAIN ANALYZE plans of what the code under test runs, through
 * auto_explain (loaded per session, plans sent back as NOTICEs), without
 * touching that code. Timing every plan node slows the statement down, so a
 * run explained this way is for the breakdown only, never for the timed
 * figure. Needs a superuser (LOAD); `undefined` without.
 */
export async function capturePlans(pool: pg.Pool, minDurationMs = 200): Promise<PlanCapture | undefined> {
  const probe = await pool.connect();
  try {
    await probe.query("LOAD 'auto_explain'");
  } catch {
    return undefined;
  } finally {
    probe.release(true);
  }
  const plans: { ms: number; plan: PlanNode }[] = [];
  let on = false;
  const prepared = new WeakSet<pg.PoolClient>();
  pool.on('acquire', (client) => {
    if (prepared.has(client)) return;
    prepared.add(client);
    client.on('notice', (notice) => {
      if (!on) return;
      const match = /^duration: ([\d.]+) ms\s+plan:\s*([\s\S]*)$/.exec(notice.message ?? '');
      if (!match) return;
      const parsed = JSON.parse(match[2]!) as { Plan: PlanNode };
      plans.push({ ms: Number(match[1]), plan: parsed.Plan });
    });
    // Session settings, sent before the client's first query of the caller.
    void client.query(
      `LOAD 'auto_explain';
       SET auto_explain.log_min_duration = ${minDurationMs}; SET auto_explain.log_analyze = on;
       SET auto_explain.log_timing = on; SET auto_explain.log_format = json; SET auto_explain.log_level = notice;
       SET client_min_messages = notice`,
    );
  });
  return {
    start() {
      plans.length = 0;
      on = true;
    },
    stop() {
      on = false;
      const costs = new Map<string, StatementCost>();
      let sortHashKiB = 0;
      let largestKiB = 0;
      let diskKiB = 0;
      // A CTE runs when something first pulls from it, and a scalar subquery
      // when an expression first needs it, often below the node it hangs off:
      // their time shows up in whichever node pulled first. Those wrappers
      // (CTE Scan, Result, and the plain Aggregates of InitPlans) are left out
      // of the list and their time falls into "other"; the nodes that do the
      // work (scans, hash aggregates, sorts, joins, inserts, updates) keep
      // their own time: their total minus their children's.
      const visit = (node: PlanNode, cte: string | undefined): void => {
        const name = node['Subplan Name'];
        const context = name?.startsWith('CTE ') ? name.slice(4) : cte;
        const children = node.Plans ?? [];
        const wrapper =
          node['Node Type'] === 'CTE Scan' || node['Node Type'] === 'Result' || (node['Node Type'] === 'Aggregate' && !node['Group Key']);
        if (!wrapper) {
          const own = totalMs(node) - children.filter((c) => !c['Subplan Name']).reduce((sum, c) => sum + totalMs(c), 0);
          const label = labelOf(node, context);
          const cost = costs.get(label) ?? { statement: label, calls: 0, seconds: 0 };
          cost.calls += 1;
          cost.seconds += Math.max(0, own) / 1000;
          costs.set(label, cost);
        }
        const memory = node['Sort Space Type'] === 'Disk' ? 0 : (node['Sort Space Used'] ?? node['Peak Memory Usage'] ?? 0);
        sortHashKiB += memory;
        largestKiB = Math.max(largestKiB, memory);
        diskKiB += (node['Sort Space Type'] === 'Disk' ? (node['Sort Space Used'] ?? 0) : 0) + (node['Disk Usage'] ?? 0);
        for (const child of children) visit(child, context);
      };
      for (const { plan } of plans) visit(plan, undefined);
      const total = plans.reduce((sum, p) => sum + p.ms / 1000, 0);
      const nodes = [...costs.values()].filter((c) => c.seconds >= 0.0005).sort((a, b) => b.seconds - a.seconds);
      const shown = nodes.reduce((sum, c) => sum + c.seconds, 0);
      return {
        nodes,
        other: Math.max(0, total - shown),
        seconds: total,
        sortHashKiB,
        largestKiB,
        diskKiB,
      };
    },
  };
}
