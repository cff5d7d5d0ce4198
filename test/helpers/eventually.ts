/**
 * For outcomes that no event announces (a lease extended by a heartbeat over HTTP): looks again
 * after each short pause until `check` holds. It waits for a result, not for time to pass.
 */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
