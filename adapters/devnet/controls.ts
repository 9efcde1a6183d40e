/**
 * The controls every devnet built on the kit offers a test, whatever its
 * chain: the conformance suite, the fault tests and the benches drive any
 * chain's devnet through this interface alone. A chain's devnet adds its own
 * (Cosmos `jail`, NEAR `nextEpoch`, …) next to these.
 */
import type { DevnetClock } from './clock.js';
import type { Faults } from './faults.js';
import type { GroundTruth } from './groundTruth.js';
import type { ListenerFault } from './listeners.js';

/** `Included` is what the chain tells `onIncluded` about an included transaction. */
export interface DevnetControls<Included = unknown> {
  /** One `http://127.0.0.1:<port>` per listener, in failover order. */
  readonly endpoints: readonly string[];
  /** The chain's clock. */
  readonly clock: DevnetClock;
  /** Moves chain time forward by `ms`, making the blocks (and epochs) it covers. */
  advance(ms: number): void;
  /** Faults per listener, per method or route, or both. */
  readonly faults: Faults;
  /** Makes listener `index` show `fault` on every request from now on; `null` heals it. */
  setFault(index: number, fault: ListenerFault | null): void;
  /** The next new transaction is accepted and lost; the same bytes sent again land. */
  dropNextTx(): void;
  /** The next new transaction is included and fails on chain (fee charged, nothing else happens). */
  failNextTx(): void;
  /** The next new transaction stays out of blocks for `ms` of real time. */
  delayNextTx(ms: number): void;
  /** The next new transaction is included and the answer to the request that sent it is lost. */
  loseNextResponse(): void;
  /** Runs `hook` for every included transaction, before any client can have seen it included; `null` removes it. */
  onIncluded(hook: ((tx: Included) => void | Promise<void>) | null): void;
  /** What the chain paid and slashed per account: `truth.of(account)` is `{ paid, slashed, net }`. */
  readonly truth: GroundTruth;
  /** Stops listeners and timers, cutting every connection. */
  close(): Promise<void>;
}

/** What a devnet's listeners, mempool and chain hand to {@link kitControls}. */
export interface KitParts<Included> {
  server: { readonly faults: Faults; setFault(index: number, fault: ListenerFault | null): void; close(): Promise<void> };
  mempool: {
    dropNext(): void;
    failNext(): void;
    delayNext(ms: number): void;
    loseNextResponse(): void;
    onIncluded(hook: ((tx: Included) => void | Promise<void>) | null): void;
  };
  truth: GroundTruth;
  /** Stops the chain's own timers; runs once, before the listeners close. */
  stop(): void;
}

/**
 * The controls every devnet wires alike from the kit's parts: listener
 * faults, the mempool's transaction faults and hook, the ground truth, and a
 * close that runs once however often it is called.
 */
export function kitControls<Included>(
  parts: KitParts<Included>,
): Pick<DevnetControls<Included>, 'faults' | 'setFault' | 'dropNextTx' | 'failNextTx' | 'delayNextTx' | 'loseNextResponse' | 'onIncluded' | 'truth' | 'close'> {
  const { server, mempool } = parts;
  let closing: Promise<void> | undefined;
  return {
    faults: server.faults,
    setFault: (index, fault) => server.setFault(index, fault),
    dropNextTx: () => mempool.dropNext(),
    failNextTx: () => mempool.failNext(),
    delayNextTx: (ms) => mempool.delayNext(ms),
    loseNextResponse: () => mempool.loseNextResponse(),
    onIncluded: (hook) => mempool.onIncluded(hook),
    truth: parts.truth,
    close: () => {
      closing ??= (async () => {
        parts.stop();
        await server.close();
      })();
      return closing;
    },
  };
}
