/**
 * On SIGTERM or SIGINT, runs `shutdown` once (graceful: stop claiming, let jobs finish, release
 * the rest) and exits 0; a second signal exits at once with 1.
 */
export function exitOnSignals(shutdown: () => Promise<void>, say: (text: string) => void): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      say(`${signal} again: exiting now; jobs still running will be retried after their lease expires`);
      process.exit(1);
    }
    stopping = true;
    say(`${signal}: shutting down (running jobs may finish; the rest are released)…`);
    shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        say(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
