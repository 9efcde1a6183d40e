/**
 * Moved to the devnet kit: adapters/devnet/listeners.ts (plain listeners
 * with per-listener faults) and adapters/devnet/server.ts (routers over HTTP
 * and WebSocket, faults per method or route). Kept for test/chain/devnet.ts
 * until that stand-in chain is deleted; new code imports from the kit.
 */
export { sendJson, startListeners, type ListenerFault, type Listeners } from './devnet/listeners.js';
