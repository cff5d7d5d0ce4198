/** How long a failed attempt waits before the next one. */

export type Backoff = { type: 'exponential'; baseMs?: number; maxMs?: number; jitter?: boolean } | { type: 'fixed'; delayMs: number; jitter?: boolean };

export const DEFAULT_BACKOFF: Backoff = { type: 'exponential', baseMs: 1000, maxMs: 3_600_000, jitter: true };

/**
 * Delay before attempt `attempt + 1`, after attempt `attempt` (1-based) failed.
 * Exponential: base·2^(attempt−1), capped at max; with jitter, a uniform pick in [d/2, d] so that
 * jobs failing together (an upstream outage) do not all come back at the same instant.
 */
export function backoffDelay(backoff: Backoff, attempt: number, random: () => number = Math.random): number {
  let delay: number;
  if (backoff.type === 'fixed') {
    delay = backoff.delayMs;
  } else {
    const base = backoff.baseMs ?? 1000;
    const max = backoff.maxMs ?? 3_600_000;
    delay = Math.min(max, base * 2 ** Math.min(Math.max(attempt - 1, 0), 40));
  }
  if (backoff.jitter ?? true) delay = delay / 2 + random() * (delay / 2);
  return Math.round(delay);
}

export function validateBackoff(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'backoff must be an object such as { type: "exponential", baseMs: 1000 }';
  const b = value as Record<string, unknown>;
  const nonNegative = (k: string) => b[k] === undefined || (typeof b[k] === 'number' && Number.isFinite(b[k]) && (b[k] as number) >= 0);
  if (b.type === 'exponential') {
    if (!nonNegative('baseMs') || !nonNegative('maxMs')) return 'backoff.baseMs and backoff.maxMs must be non-negative numbers';
    return undefined;
  }
  if (b.type === 'fixed') {
    if (typeof b.delayMs !== 'number' || !nonNegative('delayMs')) return 'backoff.delayMs must be a non-negative number';
    return undefined;
  }
  return 'backoff.type must be "exponential" or "fixed"';
}
