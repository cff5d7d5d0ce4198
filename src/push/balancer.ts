/**
 * A group's balancer in one process: the order in which an attempt would take the group's
 * endpoints (the store gives it the first of that order with room; under `least-outstanding` the
 * one of them with the fewest outstanding per weight, counted across every server).
 *
 * - `random`: weighted random (an endpoint of weight 2 comes first twice as often as one of 1).
 * - `round-robin`: smooth weighted round robin, as nginx does it: weights spread evenly, not in runs.
 * - `least-outstanding`: round-robin's order, for ties; the store picks by outstanding jobs.
 * - `most-idle`: the most room first, as the endpoints last reported it (a response header or
 *   their status URL) less what was sent since; one that never said after those with room.
 */
import type { Balancer, Endpoint } from '../core/endpoint-group.js';

export interface BalancerView {
  endpoints: readonly Endpoint[];
  /** Endpoints taken out by their health. */
  isOut(id: string): boolean;
  /** Room an endpoint reported, less what it was sent since; undefined when it never said. */
  idle(id: string): number | undefined;
}

export class EndpointOrder {
  private readonly current = new Map<string, number>();

  constructor(
    private readonly balancer: Balancer,
    private readonly random: () => number = Math.random,
  ) {}

  /** The healthy endpoints, most preferred first; empty when every endpoint is out. */
  next(view: BalancerView): string[] {
    const healthy = view.endpoints.filter((e) => !view.isOut(e.id));
    if (healthy.length === 0) return [];
    switch (this.balancer) {
      case 'random':
        return this.weightedShuffle(healthy);
      case 'most-idle':
        return this.byIdle(healthy, view);
      default:
        return this.roundRobin(healthy);
    }
  }

  /** Each endpoint's key is u^(1/weight) (Efraimidis–Spirakis): sorted by key, a weighted random order. */
  private weightedShuffle(endpoints: Endpoint[]): string[] {
    return endpoints
      .map((e) => ({ id: e.id, key: this.random() ** (1 / e.weight) }))
      .sort((a, b) => b.key - a.key)
      .map((e) => e.id);
  }

  private roundRobin(endpoints: Endpoint[]): string[] {
    const total = endpoints.reduce((sum, e) => sum + e.weight, 0);
    for (const e of endpoints) this.current.set(e.id, (this.current.get(e.id) ?? 0) + e.weight);
    const order = [...endpoints].sort((a, b) => this.current.get(b.id)! - this.current.get(a.id)!).map((e) => e.id);
    this.current.set(order[0], this.current.get(order[0])! - total);
    return order;
  }

  private byIdle(endpoints: Endpoint[], view: BalancerView): string[] {
    const ties = this.roundRobin(endpoints);
    const rank = new Map(ties.map((id, i) => [id, i]));
    // One that never said comes after any that has room, before any that has none: tried, it will say.
    const idle = (id: string) => view.idle(id) ?? 0.5;
    return ties.sort((a, b) => idle(b) - idle(a) || rank.get(a)! - rank.get(b)!);
  }
}
