/**
 * `pallet-utility` `batch_all` (pallet 40 of the served metadata), as
 * `substrate/frame/utility/src/lib.rs` dispatches it: each call in order
 * with the caller's origin, `ItemCompleted` after each; the first failure
 * fails the whole batch with that call's error and rolls back every call
 * before it (the extrinsic's storage layer drops the overlay); all done:
 * `BatchCompleted`.
 *
 * Devnet simplification: the batch's weight is a fixed figure, not the sum
 * of its calls' benchmarks.
 */
import type { Codec } from '@polkadot/types/types';

import { type CallSpec, DispatchFailure } from './dispatch.js';

/** A call inside a batch, as `@polkadot/types` decodes `RuntimeCall`. */
interface InnerCall {
  section: string;
  method: string;
  args: Codec[];
}

/** The utility calls, dispatching inner calls through `find` (the devnet's call table). */
export function utilityCalls(find: (section: string, method: string) => CallSpec | undefined): Record<string, CallSpec> {
  return {
    'utility.batchAll': {
      weight: { refTime: 700_000_000n, proofSize: 25_000n },
      run(ctx, [calls]) {
        for (const call of calls as unknown as InnerCall[]) {
          const spec = find(call.section, call.method);
          // A call the devnet does not carry out fails as chain.ts fails one outside a batch.
          if (spec === undefined) throw new DispatchFailure('Other');
          spec.run(ctx, [...call.args]);
          ctx.emit('Utility', 'ItemCompleted', []);
        }
        ctx.emit('Utility', 'BatchCompleted', []);
      },
    },
  };
}
