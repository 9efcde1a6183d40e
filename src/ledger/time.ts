/**
 * Ledger time is integer milliseconds since the Unix epoch, UTC. Text
 * becomes time here and only here.
 */

// A full date and time with an explicit zone; at most millisecond precision,
// because a finer stamp could not be stored exactly.
const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Parses an ISO-8601 instant with an explicit zone ("2026-01-01T00:00:00Z",
 * "2026-01-01T02:00:00.250+02:00").
 * @returns milliseconds since the epoch, or `undefined` when the text is not
 * such an instant (no zone, sub-millisecond digits, 2026-02-30, …).
 */
export function parseInstant(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const m = ISO_INSTANT.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[] as [number, number, number, number, number, number, number];
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) return undefined;
  // Date.parse rolls 2026-02-30 over to March; a ledger must not.
  const probe = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  if (probe.getUTCFullYear() !== y || probe.getUTCMonth() !== mo - 1 || probe.getUTCDate() !== d) return undefined;
  if (h > 23 || mi > 59 || s > 59) return undefined;
  return ms;
}

/** Formats ledger time the one way softstake prints it: "2026-01-01T00:00:00.000Z". */
export function formatInstant(ms: number): string {
  return new Date(ms).toISOString();
}
