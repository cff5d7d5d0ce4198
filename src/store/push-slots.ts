/**
 * How a batch of push slot requests is settled against what is outstanding, the same on every
 * backend (each calls it under its group lock, with the live counts it read): each request takes
 * the first endpoint of its order with room under its cap while the group has room, or, with
 * `leastOutstanding`, the endpoint of its order with the fewest outstanding per weight.
 */
import type { TakePushSlotsParams } from './store.js';

/** `outstanding`: live slots per endpoint id, updated as slots are given. Returns each request's endpoint or null. */
export function assignPushSlots(p: TakePushSlotsParams, outstanding: Map<string, number>): (string | null)[] {
  const endpoints = new Map(p.endpoints.map((e) => [e.id, e]));
  let total = [...outstanding.values()].reduce((a, b) => a + b, 0);
  return p.requests.map((r) => {
    if (total >= p.groupConcurrency) return null;
    let best: string | null = null;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (const id of r.order) {
      const e = endpoints.get(id);
      if (!e) continue;
      const n = outstanding.get(id) ?? 0;
      if (e.concurrency !== null && n >= e.concurrency) continue;
      if (!p.leastOutstanding) {
        best = id;
        break;
      }
      const load = (n + 1) / e.weight;
      if (load < bestLoad) {
        best = id;
        bestLoad = load;
      }
    }
    if (best !== null) {
      outstanding.set(best, (outstanding.get(best) ?? 0) + 1);
      total++;
    }
    return best;
  });
}
