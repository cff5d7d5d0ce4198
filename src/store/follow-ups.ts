/**
 * What both stores tell of the jobs a finishing call queued itself (FinishResult.followUps): one
 * its own claim took is told as claimed only, since no other worker can take it and nobody
 * should be woken for it.
 */
import type { FinishResult } from './store.js';

export function withoutClaimed(out: FinishResult): FinishResult {
  if (out.claimed.length === 0 || out.followUps.length === 0) return out;
  const taken = new Set(out.claimed.map((j) => j.id));
  out.followUps = out.followUps.filter((j) => !taken.has(j.id));
  return out;
}
