/**
 * The soak's fault schedule: a pure function of the seed, the run's length
 * and what each chain's devnet offers, so the same seed replays the same
 * faults at the same offsets (what the pipeline happens to be doing at that
 * moment is the only thing a replay does not fix).
 */
import { createHash } from 'node:crypto';

/** A small seeded PRNG (mulberry32): the same seed, the same sequence. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from nothing');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** A new generator whose sequence depends only on this seed and `label`. */
  fork(label: string): Rng {
    const digest = createHash('sha256').update(`${this.state}:${label}`).digest();
    return new Rng(digest.readUInt32LE(0));
  }
}

/** Every kind of fault the soak injects, in the table's order. */
export const FAULT_KINDS = [
  'worker-sigkill',
  'redis-restart',
  'redis-flush',
  'pg-terminate',
  'rpc-5xx',
  'rpc-429',
  'rpc-timeout',
  'tx-lost-response',
  'tx-dropped',
  'tx-failed',
  'validator-slash',
  'validator-jail',
  'validator-leave',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** What one chain's devnet offers the schedule. */
export interface ChainCapabilities {
  name: string;
  validators: readonly string[];
  listeners: number;
  slash: boolean;
  jail: boolean;
  leave: boolean;
}

export interface ScheduledFault {
  /** Offset from the start of the steady part, ms. */
  at: number;
  kind: FaultKind;
  /** The chain it hits, for chain faults. */
  chain?: string;
  validator?: string;
  /** The RPC listener (endpoint index), for RPC faults. */
  listener?: number;
  /** How many requests an RPC fault hits. */
  times?: number;
  /** Slash size, basis points. */
  bps?: number;
  /** Worker faults: which worker slot (0-based); the restart comes `restartAfter` ms later. */
  worker?: number;
  restartAfter?: number;
  /** Jail: unjailed this long after. */
  releaseAfter?: number;
}

/** Relative weights of the kinds that fire many times (the flush fires once). */
const WEIGHTS: [FaultKind, number][] = [
  ['worker-sigkill', 4],
  ['redis-restart', 1],
  ['pg-terminate', 2],
  ['rpc-5xx', 3],
  ['rpc-429', 3],
  ['rpc-timeout', 2],
  ['tx-lost-response', 2],
  ['tx-dropped', 2],
  ['tx-failed', 2],
  ['validator-slash', 1],
  ['validator-jail', 1],
  ['validator-leave', 0.25],
];

export interface ScheduleOptions {
  seed: number;
  /** Length of the steady part, ms: faults fire in its first 85 %, so the pipeline has time to work through the last ones. */
  steadyMs: number;
  chains: readonly ChainCapabilities[];
  workers: number;
  /** Mean gap between faults, ms. @defaultValue 5000 */
  meanGapMs?: number;
  /** Only these kinds (besides the one flush). @defaultValue every kind */
  only?: readonly FaultKind[];
}

/** The faults of one run, in time order. */
export function faultSchedule(o: ScheduleOptions): ScheduledFault[] {
  const rng = new Rng(o.seed).fork('faults');
  const meanGap = o.meanGapMs ?? 5_000;
  const end = Math.floor(o.steadyMs * 0.85);
  const faults: ScheduledFault[] = [];
  const chainsWith = (p: (c: ChainCapabilities) => boolean) => o.chains.filter(p);
  // One validator may leave the set for good per chain, and never the last one.
  const left = new Set<string>();
  // The one full flush of Redis, somewhere in the middle.
  faults.push({ at: Math.floor(o.steadyMs * (0.35 + 0.2 * rng.next())), kind: 'redis-flush' });
  for (let at = rng.int(meanGap / 2, meanGap); at < end; at += rng.int(Math.floor(meanGap / 2), Math.floor(meanGap * 1.5))) {
    const possible = WEIGHTS.filter(([kind]) => {
      if (o.only !== undefined && !o.only.includes(kind)) return false;
      if (kind === 'validator-slash') return chainsWith((c) => c.slash).length > 0;
      if (kind === 'validator-jail') return chainsWith((c) => c.jail && c.validators.length > 1).length > 0;
      if (kind === 'validator-leave') return chainsWith((c) => c.leave && c.validators.length > 1 && !left.has(c.name)).length > 0;
      if (kind.startsWith('rpc-') || kind.startsWith('tx-')) return o.chains.length > 0;
      return true;
    });
    if (possible.length === 0) break;
    const total = possible.reduce((s, [, w]) => s + w, 0);
    let r = rng.next() * total;
    let kind: FaultKind = possible[0]![0];
    for (const [k, w] of possible) {
      r -= w;
      if (r < 0) {
        kind = k;
        break;
      }
    }
    const fault: ScheduledFault = { at, kind };
    switch (kind) {
      case 'worker-sigkill':
        fault.worker = rng.int(0, o.workers - 1);
        fault.restartAfter = rng.int(500, 3_000);
        break;
      case 'rpc-5xx':
      case 'rpc-429':
      case 'rpc-timeout': {
        const chain = rng.pick(o.chains);
        fault.chain = chain.name;
        fault.listener = rng.int(0, chain.listeners - 1);
        fault.times = kind === 'rpc-timeout' ? rng.int(1, 2) : rng.int(1, 6);
        break;
      }
      case 'tx-lost-response':
      case 'tx-dropped':
      case 'tx-failed':
        fault.chain = rng.pick(o.chains).name;
        break;
      case 'validator-slash': {
        const chain = rng.pick(chainsWith((c) => c.slash));
        fault.chain = chain.name;
        fault.validator = rng.pick(chain.validators);
        fault.bps = rng.int(1, 50);
        break;
      }
      case 'validator-jail': {
        const chain = rng.pick(chainsWith((c) => c.jail && c.validators.length > 1));
        fault.chain = chain.name;
        fault.validator = rng.pick(chain.validators);
        fault.releaseAfter = rng.int(3_000, 15_000);
        break;
      }
      case 'validator-leave': {
        const chain = rng.pick(chainsWith((c) => c.leave && c.validators.length > 1 && !left.has(c.name)));
        left.add(chain.name);
        fault.chain = chain.name;
        fault.validator = rng.pick(chain.validators.slice(1));
        break;
      }
      default:
        break;
    }
    faults.push(fault);
  }
  return faults.sort((a, b) => a.at - b.at);
}

/** A short fingerprint of a schedule, printed so two runs can be seen to share one. */
export function scheduleDigest(faults: readonly ScheduledFault[]): string {
  return createHash('sha256').update(JSON.stringify(faults)).digest('hex').slice(0, 12);
}
