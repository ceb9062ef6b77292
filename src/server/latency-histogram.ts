import type { Registry } from 'prom-client';

/** One series: a route, method and status, with its count per bucket. */
interface Series {
  labels: { method: string; route: string; status: string };
  /** Observations per bucket (not cumulative), the last for those above every bound. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

/** A metric as prom-client's registry reads it (the shape its own metrics return from `get`). */
interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/**
 * Request latency as a Prometheus histogram, counted per route pattern, method and status. Recording
 * is on every request's path, so it is a map look-up and an increment; prom-client's own histogram
 * validates and hashes its labels and builds closures on every observation, which cost several
 * microseconds per request. The registry still writes the exposition: this implements the small
 * interface its metrics share (`name`, `help`, `type`, `get`).
 */
export class LatencyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /**
   * The series by route, then method, then status. The route and method strings are the same
   * objects on every request (Fastify's route options, Node's method names), whose hashes V8 keeps:
   * three look-ups by them cost less than one by a key text built for each request.
   */
  private readonly byRoute = new Map<string, Map<string, Map<number, Series>>>();

  /**
   * @param name metric name, e.g. `pairgate_http_request_duration_seconds`.
   * @param bounds upper bounds of the buckets in seconds, ascending.
   */
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  /** Records one request of `seconds` on `route` (its pattern, never its URL). */
  observe(method: string, route: string, status: number, seconds: number): void {
    const series = this.byRoute.get(route)?.get(method)?.get(status) ?? this.addSeries(method, route, status);
    let bucket = 0;
    while (bucket < this.bounds.length && seconds > this.bounds[bucket]!) bucket++;
    series.buckets[bucket]! += 1;
    series.sum += seconds;
    series.count += 1;
  }

  /** A new series, with no observation yet. */
  private addSeries(method: string, route: string, status: number): Series {
    const series: Series = { labels: { method, route, status: String(status) }, buckets: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
    let byMethod = this.byRoute.get(route);
    if (!byMethod) this.byRoute.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map()));
    byStatus.set(status, series);
    return series;
  }

  /** The values, as the registry formats them: cumulative buckets, then `+Inf`, sum and count. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricValue[] }> {
    const values: MetricValue[] = [];
    for (const { labels, buckets, sum, count } of this.allSeries()) {
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += buckets[i]!;
        values.push({ labels: { ...labels, le: bound }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { ...labels, le: '+Inf' }, value: count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Every series, route by route. */
  private *allSeries(): Generator<Series> {
    for (const byMethod of this.byRoute.values()) {
      for (const byStatus of byMethod.values()) yield* byStatus.values();
    }
  }

  /** Forgets every observation. */
  reset(): void {
    this.byRoute.clear();
  }
}
