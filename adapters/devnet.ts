/**
 * The contract between a chain's local devnet and `softstake devnet`: each
 * `adapters/<chain>/devnet.ts` exports `devnet: DevnetModule`, so the command
 * can run any configured chain locally without knowing its kind.
 *
 * Every devnet builds on the kit in `adapters/devnet/`: the clock
 * (`clock.ts`), block production (`blocks.ts`), the mempool and its
 * transaction faults (`mempool.ts`), JSON-RPC and REST routers
 * (`jsonRpc.ts`, `rest.ts`) served over HTTP and WebSocket with faults per
 * listener, method or route (`server.ts`, `listeners.ts`, `faults.ts`), and
 * the ground-truth ledger tests compare against (`groundTruth.ts`); every
 * devnet offers tests the kit's `DevnetControls` (`controls.ts`).
 */
import type { DevnetControls } from './devnet/controls.js';

/** A devnet started for `softstake devnet`. */
export interface LocalDevnet {
  /** RPC endpoints to put in the chain block, in failover order. */
  endpoints: string[];
  /** Validators to delegate to, as the chain block names them. */
  validators: string[];
  /** The chain id a wallet or SDK must name (Cosmos chain id, NEAR network id), where the chain has one. */
  chainId?: string;
  /** Further endpoints a person may point a client at, by name (e.g. `websocket`). */
  extraEndpoints?: Record<string, string[]>;
  /**
   * Creates an account holding `amount` base units and returns its signing
   * secret, in the form the chain's adapter reads from its signer file, and
   * the key in the form the chain's own wallets and SDKs import (a mnemonic,
   * `ed25519:…`, a hex private key), when that differs from `secret`.
   * `label` (`custody`, `test`) may name the account where the chain lets
   * accounts have names (NEAR).
   */
  createFundedAccount(amount: bigint, label?: string): Promise<FundedAccount>;
  /**
   * The kit's controls of the running chain (faults, transaction faults,
   * the ground truth, `onIncluded`), so a chaos run (`npm run soak`) drives
   * any configured chain alike. `onIncluded` reports objects with the
   * transaction's `hash` (or TRON's `txid`).
   */
  controls?: DevnetControls;
  /** What the chain can do to a validator, where the devnet offers it; each optional. */
  validatorFaults?: ValidatorFaults;
  /** Stops its listeners and timers. */
  close(): Promise<void>;
}

/** Validator events a chaos run may cause; a devnet offers those its chain has. */
export interface ValidatorFaults {
  /** Slashes `bps` basis points of the validator's (pool's) stake. */
  slash?(validator: string, bps: number): void;
  /** Jails the validator: it leaves the active set and earns nothing until {@link unjail}. */
  jail?(validator: string): void;
  unjail?(validator: string): void;
  /** The validator leaves the active set for good. */
  leave?(validator: string): void;
}

/** An account a devnet created and funded. */
export interface FundedAccount {
  address: string;
  /** What the adapter's signer file holds. */
  secret: string;
  /** The key as the chain's wallets and SDKs import it. @defaultValue `secret` */
  key?: string;
  /** What `key` is, for a person: `mnemonic`, `ed25519 secret key`, … */
  keyFormat?: string;
}

export interface DevnetStartOptions {
  /**
   * How much faster than real time rewards accrue, so a person sees a
   * reward within seconds. @defaultValue 1
   */
  speedup: number;
  /** Ports to listen on (127.0.0.1); 0 or absent: any free port. */
  ports?: number[];
}

export interface DevnetModule {
  kind: string;
  start(options: DevnetStartOptions): Promise<LocalDevnet>;
}
