import type pg from 'pg';
import type { Logger } from 'pino';

import type { SoftstakeConfig } from '../config/index.js';
import type { Queues } from '../pipeline/queues.js';

/** What the HTTP server of the api role works with. Built once by the daemon; the server owns none of it. */
export interface ApiDeps {
  config: SoftstakeConfig;
  /** The ledger. The server never ends it. */
  pool: pg.Pool;
  /** The daemon's queues (`openQueues(config)`), for `/ready`, `/metrics` and the dashboard. */
  queues: Queues;
  /**
   * Fastify's logger: one line per request at info (method, url, status,
   * time; never bodies or headers), and unexpected errors with their stack.
   */
  logger: Logger;
  /** The clock, milliseconds. @defaultValue Date.now */
  now?: () => number;
}
