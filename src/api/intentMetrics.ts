/**
 * The intent gauges of `/metrics`, read at scrape time from PostgreSQL:
 * how many intents are open per chain, how many of those are stuck (the
 * chain signs nothing new while one is: alert on `softstake_intents_stuck
 * > 0`), and for how long the oldest has been. Every configured chain gets
 * a value, 0 included, so an alert never waits on a series that is absent.
 */
import type pg from 'pg';
import { Gauge, type Registry } from 'prom-client';

export interface IntentMetrics {
  gauges: Gauge[];
  read(pool: pg.Pool, chains: readonly string[], now: number): Promise<void>;
}

export function createIntentMetrics(registers: Registry[]): IntentMetrics {
  const open = new Gauge({ name: 'softstake_intents_open', help: 'Signed transactions whose outcome is not known yet, per chain.', labelNames: ['chain'], registers });
  const stuck = new Gauge({
    name: 'softstake_intents_stuck',
    help: 'Open intents that resuming could not move (an error no retry fixes); the chain plans nothing while one is. See softstake intents list --stuck.',
    labelNames: ['chain'],
    registers,
  });
  const stuckFor = new Gauge({ name: 'softstake_intents_stuck_seconds', help: 'How long the oldest stuck intent of the chain has been stuck; 0 when none is.', labelNames: ['chain'], registers });
  return {
    gauges: [open, stuck, stuckFor],
    async read(pool, chains, now) {
      const { rows } = await pool.query<{ chain: string; open: string; stuck: string; oldest: Date | null }>(
        `SELECT chain, count(*) AS open, count(*) FILTER (WHERE stuck_since IS NOT NULL) AS stuck, min(stuck_since) AS oldest
           FROM tx_intents WHERE status = 'signed' AND chain = ANY($1::text[]) GROUP BY chain`,
        [chains],
      );
      const byChain = new Map(rows.map((r) => [r.chain, r]));
      for (const chain of chains) {
        const r = byChain.get(chain);
        open.set({ chain }, Number(r?.open ?? 0));
        stuck.set({ chain }, Number(r?.stuck ?? 0));
        stuckFor.set({ chain }, r?.oldest ? Math.max(0, now - r.oldest.getTime()) / 1000 : 0);
      }
    },
  };
}
