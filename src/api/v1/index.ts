/**
 * The versioned REST API under `/v1`, for the exchange's backend and the
 * operator's scripts. Served only when a token is configured; every route,
 * unknown ones included, needs `Authorization: Bearer <token>`.
 */
import type { FastifyInstance } from 'fastify';

import { bearerAuth } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { notFound } from '../problems.js';
import { registerAssetRoutes } from './assets.js';
import { registerBalanceChangeRoutes } from './balanceChanges.js';
import { registerDistributionRoutes } from './distributions.js';
import { registerIntentRoutes } from './intents.js';
import { registerRewardEventRoutes } from './rewardEvents.js';
import { registerUserRoutes } from './users.js';

/** Registers every `/v1` route behind the bearer token. */
export async function registerV1(app: FastifyInstance, deps: ApiDeps, token: string): Promise<void> {
  await app.register(
    async (v1) => {
      v1.addHook('onRequest', bearerAuth(token));
      // Inside the scope, so a client without the token cannot tell which routes exist.
      v1.setNotFoundHandler(notFound);
      registerBalanceChangeRoutes(v1, deps);
      registerUserRoutes(v1, deps);
      registerAssetRoutes(v1, deps);
      registerDistributionRoutes(v1, deps);
      registerRewardEventRoutes(v1, deps);
      registerIntentRoutes(v1, deps);
    },
    { prefix: '/v1' },
  );
}
