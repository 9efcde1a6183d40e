/**
 * What may enter the books, checked at the door: the rules every input path
 * (file import, `/v1`, `softstake rewards record`) applies to ids, amounts
 * and instants before anything is written. A value that passes cannot later
 * stop a distribution (an overflowing sum, a change stamped in year 9999) or
 * merge two users (a lone surrogate becomes U+FFFD in UTF-8).
 */
import type { SoftstakeConfig } from '../config/index.js';
import { parseBaseUnits } from './amount.js';
import { formatInstant } from './time.js';

/** Longest id or user id, in UTF-16 code units. */
export const MAX_ID_LENGTH = 256;

/**
 * Most digits of one input amount (a balance change, a reward event). No
 * token's supply comes near 10^60 base units (10^30 decimals × 10^30
 * tokens), and with every input below it a NUMERIC(78,0) sum (a balance, an
 * undistributed reward total, a distribution's gross) needs 10^18 records to
 * overflow: far beyond what a ledger stores. So no sum the ledger forms later
 * can overflow, and the refusal names the record that would cause it.
 */
export const MAX_INPUT_DIGITS = 60;
export const MAX_INPUT_AMOUNT = 10n ** BigInt(MAX_INPUT_DIGITS) - 1n;

/** How far into the future an instant may lie: clocks of two machines disagree a little. @defaultValue 5 minutes */
export const DEFAULT_CLOCK_SKEW_MS = 5 * 60_000;

/** Characters an id may not contain: C0 and C1 controls, DEL, and bidirectional marks, embeddings, overrides and isolates. */
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
/** With the `u` flag a surrogate pair is one code point: only a lone surrogate matches. */
const LONE_SURROGATE = /[\ud800-\udfff]/u;
/** Printable ASCII only: none of the characters above can be in it, so one test settles the common id. */
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/** Longest piece of a refused value quoted back in a message. */
export const MAX_ECHO = 64;

/** A value as a message may quote it: JSON, cut after MAX_ECHO characters. */
export function echo(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' && value.length > MAX_ECHO ? JSON.stringify(value.slice(0, MAX_ECHO)) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  if (typeof value === 'string' && value.length > MAX_ECHO) return `${text.slice(0, -1)}…" (${value.length} characters)`;
  return text.length > MAX_ECHO + 2 ? `${text.slice(0, MAX_ECHO)}…` : text;
}

/** What is wrong with an id or user id, or `undefined` when it is well formed. */
export function idProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return 'expected a non-empty string';
  if (value.length > MAX_ID_LENGTH) return `longer than ${MAX_ID_LENGTH} characters`;
  if (PRINTABLE_ASCII.test(value)) return undefined;
  if (LONE_SURROGATE.test(value)) return 'is not well-formed Unicode (a lone surrogate: \\ud800 to \\udfff without its pair)';
  const bad = FORBIDDEN.exec(value);
  if (bad) return `contains the control or bidirectional character U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  return undefined;
}

/**
 * Parses an input amount: a signed integer string of base units, not 0, of
 * at most MAX_INPUT_DIGITS digits.
 * @returns the amount, or why it is refused.
 */
export function parseInputAmount(text: unknown, example = '"-1500"'): bigint | string {
  // Only a text longer than the limit can have too many digits.
  if (typeof text === 'string' && text.length > MAX_INPUT_DIGITS && /^-?[0-9]+$/.test(text) && text.replace(/^-?0*/, '').length > MAX_INPUT_DIGITS) {
    return `at most ${MAX_INPUT_DIGITS} digits (larger amounts could overflow the ledger's sums), got ${text.length} characters`;
  }
  const value = parseBaseUnits(text);
  if (value === undefined) return `expected a signed integer string of base units like ${example}, got ${echo(text)}`;
  if (value === 0n) return 'must not be 0 (a change of nothing is a mistake upstream)';
  return value;
}

/** The instants inputs may carry: not before their asset's first period, not further than the skew into the future. */
export interface LedgerWindow {
  /** Now, milliseconds. */
  now: number;
  /** How far past `now` an instant may lie. @defaultValue DEFAULT_CLOCK_SKEW_MS */
  clockSkewMs?: number;
  /** Each asset's first period start, milliseconds; an asset left out starts at the epoch. */
  since?: Readonly<Record<string, number | undefined>>;
}

/** The window of a loaded config at `now`. */
export function windowOf(config: Pick<SoftstakeConfig, 'assets' | 'ledger'>, now: number): LedgerWindow {
  const since = Object.fromEntries(Object.values(config.assets).map((a) => [a.symbol, a.since]));
  return { now, clockSkewMs: config.ledger.clockSkewMs, since };
}

/** What is wrong with `at` for `asset`, or `undefined` when it lies in the window. */
export function timeProblem(at: number, asset: string, window: LedgerWindow): string | undefined {
  const since = (window.since !== undefined && Object.hasOwn(window.since, asset) ? window.since[asset] : undefined) ?? 0;
  if (at < since) return `${formatInstant(at)} is before ${asset}'s first period (${formatInstant(since)})`;
  const skew = window.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  if (at > window.now + skew) {
    return `${formatInstant(at)} is in the future (now ${formatInstant(window.now)}, at most ${Math.round(skew / 1000)} s of clock skew allowed)`;
  }
  return undefined;
}
