/** Cleanups still owed (databases, temp files), run when the bench is interrupted. */
const pending = new Set<() => Promise<void>>();
let interrupted = false;

/** True once Ctrl-C was pressed: the cleanup then owns the exit. */
export function wasInterrupted(): boolean {
  return interrupted;
}

/** Registers a cleanup for an interrupted run; call the returned function once it is done normally. */
export function atInterrupt(cleanup: () => Promise<void>): () => void {
  pending.add(cleanup);
  return () => pending.delete(cleanup);
}

/** Ctrl-C: run every pending cleanup, then exit 130. */
export function cleanUpOnInterrupt(): void {
  process.once('SIGINT', () => {
    interrupted = true;
    process.stderr.write('\ninterrupted: dropping the bench databases and files\n');
    // Dropping a database ends the sessions still working in it; their
    // clients' errors are expected now and must not stop the cleanup.
    process.on('uncaughtException', () => {});
    void Promise.allSettled([...pending].map((cleanup) => cleanup())).finally(() => process.exit(130));
  });
}
