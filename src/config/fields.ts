/**
 * Field parsers shared by every section of the config file and the command
 * line: durations, percentages and amounts of whole tokens. One place, so
 * `commission` and `targetRatio`, `minHolding` and `minBuffer`, or
 * `intervals.poll` and `--duration`, accept and refuse the same things.
 */
import * as z from 'zod';
import { parseTokenAmount } from '../ledger/amount.js';

const PERCENT = /^([0-9]{1,3})(?:\.([0-9]{1,2}))?%$/;
/** "1e6" would otherwise read as 1 of a token called "e6". */
const EXPONENT = /^\s*-?[0-9]+(?:\.[0-9]+)?[eE][+-]?[0-9]+\s*$/;
const AMOUNT = /^\s*(-)?\s*([0-9]+)(?:\.([0-9]+))?\s*([A-Za-z][A-Za-z0-9]*)?\s*$/;

/** A field's own type message, but "required" when the key is missing. */
export function orRequired(message: string) {
  return (issue: { input?: unknown }) => (issue.input === undefined ? 'required' : message);
}

/**
 * `"10%"`, `"2.5%"`, `"0.25%"` → basis points. Numbers are refused: is `10`
 * 10% or 1000%? `example` is the percentage the messages suggest.
 */
export function percentage(example = '10%') {
  return z
    .string({ error: orRequired(`expected a percentage like "${example}"`) })
    .superRefine((text, ctx) => {
      const match = PERCENT.exec(text);
      if (!match) {
        ctx.addIssue({ code: 'custom', message: `expected a percentage like "${example}" (at most 2 decimals, e.g. "2.5%")` });
      } else if (percentToBps(match) > 10_000) {
        ctx.addIssue({ code: 'custom', message: 'must be between 0% and 100%' });
      }
    })
    .transform((text) => percentToBps(PERCENT.exec(text)!));
}

function percentToBps(match: RegExpExecArray): number {
  return Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
}

/**
 * An amount of whole tokens, as written. Checked with `checkAmount` where the
 * asset's symbol and decimals are known.
 */
export const amount = z.union([z.string(), z.number()], { error: orRequired('expected an amount like "1" or "1.5 ATOM"') });

/**
 * Reads an amount field. Unquoted YAML numbers are taken only when they are
 * exact integers: a float would silently round "0.1234567890123456789".
 */
function amountText(value: unknown): string | { problem?: string } {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value === 'number') return { problem: 'write fractional or very large amounts in quotes, e.g. "0.5": YAML reads bare numbers as floating point' };
  return {}; // neither string nor number: the field's schema reports it
}

/** Why an amount is wrong for this asset, or its value in base units. `decimals` unknown: syntax checks only. */
export function checkAmount(value: unknown, symbol: string, decimals: number | undefined): { value?: bigint; problem?: string } {
  if (value === undefined) return {};
  const text = amountText(value);
  if (typeof text !== 'string') return text;
  const match = EXPONENT.test(text) ? null : AMOUNT.exec(text);
  if (!match) return { problem: `expected an amount of whole tokens like "1" or "1.5 ${symbol}"` };
  const [, minus, , fraction = '', unit] = match;
  if (minus) return { problem: 'must not be negative' };
  if (unit !== undefined && unit.toUpperCase() !== symbol.toUpperCase()) {
    return { problem: `is in ${unit}, but this is the ${symbol} asset` };
  }
  if (decimals === undefined) return {};
  if (fraction.length > decimals) {
    return { problem: `has ${fraction.length} fractional digits, but ${symbol} has ${decimals} decimals` };
  }
  const parsed = parseTokenAmount(text, symbol, decimals);
  return parsed === undefined ? { problem: 'is too large' } : { value: parsed };
}

const DURATION = /^([0-9]+)(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * `"30s"`, `"5m"`, `"1h"`, `"250ms"`, `"1d"` → milliseconds; `undefined` for
 * anything else. A bare number is refused: seconds or milliseconds?
 */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** A config field holding a duration (see {@link parseDuration}), between `min` and `max` milliseconds. */
export function duration(min: number, max: number) {
  return z
    .string({ error: 'expected a duration like "30s", "5m" or "1h"' })
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: 'expected a duration like "30s", "5m" or "1h" (units ms, s, m, h, d)' });
        return z.NEVER;
      }
      if (ms < min || ms > max) {
        ctx.addIssue({ code: 'custom', message: `must be between ${formatDuration(min)} and ${formatDuration(max)}` });
        return z.NEVER;
      }
      return ms;
    });
}

/** Milliseconds in the largest unit that divides them: 90000 → "90s", 3600000 → "1h". */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
