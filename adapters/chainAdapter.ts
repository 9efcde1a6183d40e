/**
 * The one ChainAdapter class: every chain's adapter is this, assembled from
 * a record of that chain's functions over its own client (viem's shape: a
 * client, and one function per thing the chain is asked to do). What differs
 * between chains lives in their files; nothing here knows a chain.
 */
import type {
  AdapterConfig,
  ChainAdapter,
  ChainLimits,
  DueAction,
  HarvestResult,
  Position,
  PreflightCheck,
  SignedTx,
  StakeAction,
  TxReceipt,
  TxStatus,
} from './types.js';

/** What the adapter asks of a chain's client itself. */
export interface AdapterClient {
  /** The custody account's address. */
  address(): Promise<string>;
  /** Requests sent to the endpoints so far, failovers included. */
  requests(): number;
  /** Releases sockets and timers. Absent: nothing outlives a call (fetch's shared pool). */
  close?(): Promise<void>;
}

/** A chain's functions over its client `C`: what {@link chainAdapter} forwards each ChainAdapter call to. */
export interface ChainFunctions<C extends AdapterClient> {
  client: C;
  readPosition(client: C): Promise<Position>;
  readLimits(client: C): Promise<ChainLimits>;
  readDue(client: C, checkpoint: string | null): Promise<DueAction[]>;
  /** How many transactions an action takes. @defaultValue 1 for every action */
  stepsOf?(action: StakeAction): number;
  signAction(client: C, action: StakeAction, step?: number): Promise<SignedTx>;
  /**
   * Sends signed bytes and waits for finality. `lookFirst`: ask the chain
   * for the bytes before sending (a retry's bytes may have landed); false
   * only for bytes signed a moment ago, which cannot have.
   */
  send(client: C, tx: SignedTx, lookFirst: boolean): Promise<TxReceipt>;
  txStatus(client: C, tx: SignedTx): Promise<TxStatus>;
  harvest(client: C, checkpoint: string | null): Promise<HarvestResult>;
  preflight(client: C, checkpoint: string | null): Promise<PreflightCheck[]>;
  /**
   * One step of a `delegate`/`undelegate`, signed and sent, for a chain that
   * must do more than that (Cosmos signs again on a sequence taken meanwhile).
   * @defaultValue the adapter's `sign`, then `send` without a lookup
   */
  signAndSend?(client: C, action: StakeAction, step: number): Promise<TxReceipt>;
}

class AssembledAdapter<C extends AdapterClient> implements ChainAdapter {
  readonly name: string;
  readonly asset: string;
  private readonly chain: ChainFunctions<C>;

  constructor(config: Pick<AdapterConfig, 'name' | 'asset'>, chain: ChainFunctions<C>) {
    this.name = config.name;
    this.asset = config.asset;
    this.chain = chain;
  }

  rpcRequests(): number {
    return this.chain.client.requests();
  }

  address(): Promise<string> {
    return this.chain.client.address();
  }

  position(): Promise<Position> {
    return this.chain.readPosition(this.chain.client);
  }

  limits(): Promise<ChainLimits> {
    return this.chain.readLimits(this.chain.client);
  }

  due(checkpoint: string | null): Promise<DueAction[]> {
    return this.chain.readDue(this.chain.client, checkpoint);
  }

  steps(action: StakeAction): number {
    return this.chain.stepsOf?.(action) ?? 1;
  }

  sign(action: StakeAction, step = 0): Promise<SignedTx> {
    return this.chain.signAction(this.chain.client, action, step);
  }

  broadcast(tx: SignedTx): Promise<TxReceipt> {
    return this.chain.send(this.chain.client, tx, true);
  }

  status(tx: SignedTx): Promise<TxStatus> {
    return this.chain.txStatus(this.chain.client, tx);
  }

  /**
   * Every step in order, each signed once the one before is final (bytes
   * signed a moment ago cannot have landed: sent without a lookup). The
   * receipt is the last step's, with the fees of all of them and all they moved.
   */
  private async run(action: StakeAction): Promise<TxReceipt> {
    const { client, signAndSend } = this.chain;
    let fee = 0n;
    const moved: TxReceipt['moved'] = [];
    let last: TxReceipt | undefined;
    for (let step = 0; step < (this.chain.stepsOf?.(action) ?? 1); step += 1) {
      last = signAndSend ? await signAndSend(client, action, step) : await this.chain.send(client, await this.sign(action, step), false);
      fee += last.fee;
      moved.push(...last.moved);
    }
    return { ...last!, fee, moved };
  }

  delegate(validator: string, amount: bigint): Promise<TxReceipt> {
    return this.run({ kind: 'delegate', validator, amount });
  }

  undelegate(validator: string, amount: bigint): Promise<TxReceipt> {
    return this.run({ kind: 'undelegate', validator, amount });
  }

  harvest(checkpoint: string | null): Promise<HarvestResult> {
    return this.chain.harvest(this.chain.client, checkpoint);
  }

  preflight(checkpoint: string | null): Promise<PreflightCheck[]> {
    return this.chain.preflight(this.chain.client, checkpoint);
  }

  async close(): Promise<void> {
    await this.chain.client.close?.();
  }
}

/** The ChainAdapter named by `config` that forwards every call to `chain`'s functions over its client. */
export function chainAdapter<C extends AdapterClient>(config: Pick<AdapterConfig, 'name' | 'asset'>, chain: ChainFunctions<C>): ChainAdapter {
  return new AssembledAdapter(config, chain);
}
