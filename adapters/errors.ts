/**
 * Errors an adapter throws. Each says whether a retry can help, so the
 * pipeline knows whether to back off and try again or to stop and alert.
 */
import { SoftstakeError } from '../src/errors.js';

/** Strips credentials and query strings from an RPC URL before it reaches a message. */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return '<invalid url>';
  }
}

/** One endpoint's failure, as tried during failover. */
export interface EndpointFailure {
  /** The endpoint without credentials. */
  endpoint: string;
  reason: string;
}

/**
 * No endpoint answered usefully (timeouts, 429, 5xx, refused connections).
 * Retryable: the chain is still there, the network or the nodes are not.
 */
export class ChainUnavailableError extends SoftstakeError {
  override readonly retryable = true;

  constructor(
    readonly chain: string,
    readonly failures: readonly EndpointFailure[],
    options?: { cause?: unknown },
  ) {
    super(
      `${chain}: no endpoint answered (${failures.map((f) => `${f.endpoint}: ${f.reason}`).join('; ') || 'none configured'})`,
      options,
    );
  }
}

/**
 * The chain refused or failed a transaction. Not retryable with the same
 * bytes. `included` tells whether it made it into a block (and so paid a
 * fee) or can never be included (bad signature, stale sequence, expired).
 */
export class TxRejectedError extends SoftstakeError {
  constructor(
    readonly chain: string,
    readonly hash: string | undefined,
    readonly code: number | string,
    readonly log: string,
    readonly included: boolean,
    readonly fee: bigint = 0n,
  ) {
    super(`${chain}: transaction ${hash ?? '(unsigned)'} ${included ? 'failed' : 'was rejected'} (code ${code}): ${log}`);
  }
}

/**
 * The chain refused signed bytes because their time is up (NEAR: the
 * reference block is older than `transaction_validity_period`; TRON, Aptos:
 * past the expiration time; Polkadot: a mortal era ended). The pipeline asks
 * `status()` once more and signs the intent again only when they were not
 * included. Code `expired`, never included.
 */
export class TxExpiredError extends TxRejectedError {
  constructor(chain: string, hash: string, log: string) {
    super(chain, hash, 'expired', log, false);
  }
}

/**
 * The chain's answer made no sense to the adapter (a malformed response, an
 * unknown validator in the config). Not retryable: an operator must look.
 */
export class ChainProtocolError extends SoftstakeError {
  constructor(
    readonly chain: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${chain}: ${message}`, options);
  }
}

/**
 * A node accepted the transaction but it was not seen in a block within the
 * adapter's wait (lost from a mempool, a stalled chain). Retryable: broadcast
 * the same signed bytes again later. They land at most once, because the
 * chain keys them by hash and sequence number; never sign a new transaction
 * for the same intent instead.
 */
export class TxNotIncludedError extends SoftstakeError {
  override readonly retryable = true;

  constructor(
    readonly chain: string,
    readonly hash: string,
    /** How long the adapter waited for inclusion, milliseconds. */
    readonly waitedMs: number,
  ) {
    super(`${chain}: transaction ${hash} was not included within ${waitedMs} ms; broadcast the same bytes again`);
  }
}
