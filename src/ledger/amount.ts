/**
 * Money at the edges. Inside softstake every amount is a `bigint` in the
 * asset's base unit; these functions are the only places text becomes money
 * and money becomes text.
 */

const BASE_UNITS = /^-?(0|[1-9][0-9]*)$/;

/** The largest magnitude a `NUMERIC(78,0)` column holds. */
export const MAX_AMOUNT = 10n ** 78n - 1n;

/**
 * Parses a signed base-unit integer string ("-1500", "0", "42").
 * @returns the amount, or `undefined` when the text is not one.
 */
export function parseBaseUnits(text: unknown): bigint | undefined {
  if (typeof text !== 'string' || text.length > 79 || !BASE_UNITS.test(text) || text === '-0') return undefined;
  const value = BigInt(text);
  return value > MAX_AMOUNT || value < -MAX_AMOUNT ? undefined : value;
}

/**
 * Parses a human amount of whole tokens ("12.5", "1 ATOM", "0.000001 ATOM")
 * into base units with the asset's decimals. Rejects more fractional digits
 * than the asset has, signs, exponents and other symbols.
 * @returns the amount, or `undefined` when the text is not one.
 */
export function parseTokenAmount(text: string, symbol: string, decimals: number): bigint | undefined {
  const match = /^\s*([0-9]+)(?:\.([0-9]+))?\s*([A-Za-z][A-Za-z0-9]*)?\s*$/.exec(text);
  if (!match) return undefined;
  const [, whole = '', fraction = '', unit] = match;
  if (unit !== undefined && unit.toUpperCase() !== symbol.toUpperCase()) return undefined;
  if (fraction.length > decimals) return undefined;
  const value = BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, '0') || '0');
  return value > MAX_AMOUNT ? undefined : value;
}

/** Formats base units as whole tokens: 12500000n, 6 → "12.5". */
export function formatTokenAmount(amount: bigint, decimals: number): string {
  const negative = amount < 0n;
  const magnitude = negative ? -amount : amount;
  const scale = 10n ** BigInt(decimals);
  const whole = magnitude / scale;
  const fraction = (magnitude % scale).toString().padStart(decimals, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}
