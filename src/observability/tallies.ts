/**
 * Counters and histograms for what happens to every job: kept as plain numbers per series and
 * written out in Prometheus's format only when scraped. prom-client's own metrics hash their
 * labels on every increment, which cost the W3 drain a tenth of its rate; here an event costs a
 * map look-up and an addition. Registered in a prom-client Registry like its own metrics.
 */
import type { Registry } from 'prom-client';

type Labels = Record<string, string>;

interface Series<T> {
  labels: Labels;
  data: T;
}

abstract class Tally<T> {
  private readonly series = new Map<string, Series<T>>();

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
  ) {
    registry.registerMetric(this as never);
  }

  /** The series of `key`, made with `labels()` the first time. */
  protected of(key: string, labels: () => Labels): T {
    let s = this.series.get(key);
    if (s === undefined) this.series.set(key, (s = { labels: labels(), data: this.fresh() }));
    return s.data;
  }

  protected abstract fresh(): T;
  protected abstract values(s: Series<T>): { labels: Labels; value: number; metricName?: string }[];

  /** What prom-client's registry writes out. */
  get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: 'sum', values: [...this.series.values()].flatMap((s) => this.values(s)) };
  }

  reset(): void {
    this.series.clear();
  }
}

export class TallyCounter extends Tally<{ value: number }> {
  constructor(registry: Registry, name: string, help: string) {
    super(registry, name, help, 'counter');
  }

  inc(key: string, labels: () => Labels, by = 1): void {
    this.of(key, labels).value += by;
  }

  protected fresh() {
    return { value: 0 };
  }

  protected values(s: Series<{ value: number }>) {
    return [{ labels: s.labels, value: s.data.value }];
  }
}

interface Buckets {
  /** Observations per bucket (not cumulative), the last one past the largest bound. */
  counts: number[];
  sum: number;
}

export class TallyHistogram extends Tally<Buckets> {
  constructor(
    registry: Registry,
    name: string,
    help: string,
    private readonly bounds: readonly number[],
  ) {
    super(registry, name, help, 'histogram');
  }

  observe(key: string, labels: () => Labels, value: number): void {
    const b = this.of(key, labels);
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    b.counts[i]!++;
    b.sum += value;
  }

  protected fresh(): Buckets {
    return { counts: new Array<number>(this.bounds.length + 1).fill(0), sum: 0 };
  }

  protected values(s: Series<Buckets>) {
    let cumulative = 0;
    const out: { metricName: string; labels: Labels; value: number }[] = this.bounds.map((le, i) => {
      cumulative += s.data.counts[i]!;
      return { metricName: `${this.name}_bucket`, labels: { le: String(le), ...s.labels }, value: cumulative };
    });
    cumulative += s.data.counts[this.bounds.length]!;
    out.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', ...s.labels }, value: cumulative });
    out.push({ metricName: `${this.name}_sum`, labels: s.labels, value: s.data.sum });
    out.push({ metricName: `${this.name}_count`, labels: s.labels, value: cumulative });
    return out;
  }
}
