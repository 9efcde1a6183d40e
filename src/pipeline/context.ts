import type pg from 'pg';
import type { Logger } from 'pino';

import type { ChainAdapter } from '../../adapters/types.js';
import type { SoftstakeConfig } from '../config/index.js';

/** What every job processor works with. Built once per worker process. */
export interface PipelineContext {
  config: SoftstakeConfig;
  pool: pg.Pool;
  /** By chain name. */
  adapters: Map<string, ChainAdapter>;
  logger: Logger;
  /** The clock (tests move it); milliseconds. @defaultValue Date.now */
  now: () => number;
}
