/**
 * Structured JSON logs (pino) on stdout. Anything that could carry a secret
 * is redacted by path, URLs go through `redactConfig` before they are
 * logged at all, and every URL in a logged string or error (an adapter's
 * failover message, a driver's connection error) is cut to scheme, host
 * and port; keys and tokens are never passed to the logger.
 */
import { pino, type Logger, type LoggerOptions } from 'pino';

import { redactUrls } from './redactUrls.js';

/** Paths pino censors wherever they appear (one level of nesting, and request headers). */
export const REDACT_PATHS = [
  'password',
  'token',
  'mnemonic',
  'secret',
  'privateKey',
  '*.password',
  '*.token',
  '*.mnemonic',
  '*.secret',
  '*.privateKey',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
];

/** How deep `redactLogArgs` looks into a logged object. */
const MAX_DEPTH = 3;

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactUrls(value);
  if (depth >= MAX_DEPTH || typeof value !== 'object' || value === null) return value;
  if (value instanceof Error) {
    // As pino's error serializer would print it, with URLs cut.
    const code = (value as { code?: unknown }).code;
    return { type: value.name, message: redactUrls(value.message), stack: redactUrls(value.stack ?? ''), ...(code !== undefined ? { code } : {}) };
  }
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v, depth + 1)]));
}

/** pino's `logMethod` hook: every URL in the message and the logged object, cut to scheme, host and port. */
export const redactUrlsHook: NonNullable<LoggerOptions['hooks']>['logMethod'] = function (this: Logger, args, method) {
  return method.apply(this, args.map((arg) => redactValue(arg, 0)) as Parameters<typeof method>);
};

/** @param options.fd - 1 (stdout, the default) or 2, when stdout carries a command's own output. */
export function createLogger(options: { level?: string; name?: string; fd?: 1 | 2 } = {}): Logger {
  return pino(
    {
      name: options.name ?? 'softstake',
      level: options.level ?? process.env.SOFTSTAKE_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      hooks: { logMethod: redactUrlsHook },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd: options.fd ?? 1, sync: false }),
  );
}
