/**
 * What a devnet itself says it paid: one ledger per devnet, with the same
 * convention on every chain, that end-to-end and conformance tests compare
 * the adapter's reward events (and the daemon's distributions) against.
 *
 * Convention, per account, in the chain's base units:
 *
 * - `paid`: rewards the chain credited to the account: Cosmos
 *   `withdraw_rewards` payouts; on auto-compounding chains (NEAR, Aptos) the
 *   growth of the stake that no deposit or withdrawal of the account
 *   explains; TRON WithdrawBalance credits; Polkadot era payouts.
 * - `slashed`: stake and unbonding funds the account lost to slashes, > 0.
 * - `net = paid − slashed`: what the sum of every reward event the adapter
 *   reports for the account must equal.
 *
 * Pending (unpaid) rewards are in none of them.
 */

/** One credit or loss, as the chain booked it. */
export interface GroundTruthEntry {
  account: string;
  kind: 'reward' | 'slash';
  /** > 0, base units. */
  amount: bigint;
  /** Chain time of the block, ms. */
  at: number;
  /** The block's height. */
  height: bigint;
  /** What caused it: a transaction hash, `slash:<validator>`, `epoch:<n>`. */
  ref: string;
}

/** Totals for one account; see the module comment. */
export interface GroundTruthTotals {
  paid: bigint;
  slashed: bigint;
  net: bigint;
}

/** The read side every devnet exposes as `truth`. */
export interface GroundTruth {
  /** The account's totals so far. */
  of(account: string): GroundTruthTotals;
  /** The entries the devnet booked for the account, oldest first (empty where the chain only knows totals). */
  entries(account: string): readonly GroundTruthEntry[];
}

/** An append-only ledger of entries, with totals kept per account. */
export class GroundTruthLedger implements GroundTruth {
  private readonly byAccount = new Map<string, { entries: GroundTruthEntry[]; paid: bigint; slashed: bigint }>();

  /** Books one entry; a zero amount is ignored, a negative one is a devnet bug. */
  record(entry: GroundTruthEntry): void {
    if (entry.amount < 0n) throw new RangeError(`ground truth: ${entry.kind} of ${entry.amount} for ${entry.account}: amounts are > 0 (a slash is kind 'slash')`);
    if (entry.amount === 0n) return;
    let account = this.byAccount.get(entry.account);
    if (account === undefined) {
      account = { entries: [], paid: 0n, slashed: 0n };
      this.byAccount.set(entry.account, account);
    }
    account.entries.push(entry);
    if (entry.kind === 'reward') account.paid += entry.amount;
    else account.slashed += entry.amount;
  }

  of(account: string): GroundTruthTotals {
    const found = this.byAccount.get(account);
    const paid = found?.paid ?? 0n;
    const slashed = found?.slashed ?? 0n;
    return { paid, slashed, net: paid - slashed };
  }

  entries(account: string): readonly GroundTruthEntry[] {
    return this.byAccount.get(account)?.entries ?? [];
  }
}
