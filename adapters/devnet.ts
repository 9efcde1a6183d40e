/**
 * The contract between a chain's local devnet and `softstake devnet`: each
 * `adapters/<chain>/devnet.ts` exports `devnet: DevnetModule`, so the command
 * can run any configured chain locally without knowing its kind.
 */

/** A devnet started for `softstake devnet`. */
export interface LocalDevnet {
  /** RPC endpoints to put in the chain block, in failover order. */
  endpoints: string[];
  /** Validators to delegate to, as the chain block names them. */
  validators: string[];
  /**
   * Creates an account holding `amount` base units and returns its signing
   * secret, in the form the chain's adapter reads from its signer file.
   */
  createFundedAccount(amount: bigint): Promise<{ secret: string; address: string }>;
  /** Stops its listeners and timers. */
  close(): Promise<void>;
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
