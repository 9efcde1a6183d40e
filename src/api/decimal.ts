/**
 * Exact ratios as decimal strings, for numbers the API reports but the ledger
 * does not store (ratios, APRs). bigint all the way: no float ever rounds a
 * money figure.
 */

/**
 * `numerator / denominator` with `scale` decimals, rounded half away from
 * zero: (1n, 3n, 4) → "0.3333", (-2n, 3n, 2) → "-0.67".
 * @throws RangeError when the denominator is 0.
 */
export function ratioString(numerator: bigint, denominator: bigint, scale: number): string {
  if (denominator === 0n) throw new RangeError('ratioString: denominator is 0');
  const negative = numerator < 0n !== denominator < 0n && numerator !== 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  const factor = 10n ** BigInt(scale);
  const scaled = (n * factor * 2n + d) / (2n * d);
  const whole = scaled / factor;
  const fraction = (scaled % factor).toString().padStart(scale, '0');
  const text = scale > 0 ? `${whole}.${fraction}` : `${whole}`;
  return negative && scaled !== 0n ? `-${text}` : text;
}

/** Basis points as a percentage: 1000 → "10%", 250 → "2.5%", 25 → "0.25%". */
export function bpsPercent(bps: number): string {
  const whole = Math.trunc(bps / 100);
  const fraction = String(bps % 100).padStart(2, '0').replace(/0+$/, '');
  return `${whole}${fraction ? `.${fraction}` : ''}%`;
}
