/**
 * Completes the daemon's sections of a schema-valid config file (chains, api,
 * worker): amounts in base units, paths absolute, secrets read. Problems are
 * returned, not thrown, so the loader reports them with the rest.
 */
import { resolveApi, type ApiConfig, type ApiFile } from './api.js';
import { resolveChains, type ChainConfig, type ChainFile } from './chains.js';
import type { Issue } from './secrets.js';
import { resolveWorker, type WorkerConfig, type workerSchema } from './worker.js';
import type * as z from 'zod';

interface DaemonSections {
  assets: Record<string, { decimals: number }>;
  chains: Record<string, ChainFile>;
  api?: ApiFile | undefined;
  worker: z.output<typeof workerSchema>;
}

export function resolveDaemonSections(
  file: DaemonSections,
  configDir: string,
  readSecret: (absolutePath: string) => string,
): { chains: Record<string, ChainConfig>; api: ApiConfig; worker: WorkerConfig; issues: Issue[] } {
  const issues: Issue[] = [];
  const chains = resolveChains(file.chains, file.assets, configDir, issues);
  const api = resolveApi(file.api, configDir, readSecret, issues);
  return { chains, api, worker: resolveWorker(file.worker), issues };
}
