/**
 * Structured JSON logs (pino) on stdout. Anything that could carry a secret
 * is redacted by path, and URLs go through `redactConfig` before they are
 * logged at all; keys and tokens are never passed to the logger.
 */
import { pino, type Logger } from 'pino';

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

/** @param options.fd - 1 (stdout, the default) or 2, when stdout carries a command's own output. */
export function createLogger(options: { level?: string; name?: string; fd?: 1 | 2 } = {}): Logger {
  return pino(
    {
      name: options.name ?? 'softstake',
      level: options.level ?? process.env.SOFTSTAKE_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd: options.fd ?? 1, sync: false }),
  );
}
