import { describe, expect, it } from 'vitest';
import { ServerMetrics } from '../../src/server/metrics.js';

describe('server metrics', () => {
  it('writes request latency as a Prometheus histogram: cumulative buckets, +Inf, sum and count per route and status', async () => {
    const metrics = new ServerMetrics();
    metrics.latency.observe('GET', '/api/v1/codes/:code', 200, 0.0004);
    metrics.latency.observe('GET', '/api/v1/codes/:code', 200, 0.003);
    metrics.latency.observe('GET', '/api/v1/codes/:code', 200, 99);
    metrics.latency.observe('GET', '/api/v1/codes/:code', 404, 0.001);
    const text = await metrics.registry.metrics();
    const series = 'method="GET",route="/api/v1/codes/:code",status="200"';
    expect(text).toContain('# TYPE pairgate_http_request_duration_seconds histogram');
    expect(text).toContain(`pairgate_http_request_duration_seconds_bucket{${series},le="0.001"} 1`);
    expect(text).toContain(`pairgate_http_request_duration_seconds_bucket{${series},le="0.0025"} 1`);
    expect(text).toContain(`pairgate_http_request_duration_seconds_bucket{${series},le="0.005"} 2`);
    expect(text).toContain(`pairgate_http_request_duration_seconds_bucket{${series},le="60"} 2`);
    expect(text).toContain(`pairgate_http_request_duration_seconds_bucket{${series},le="+Inf"} 3`);
    expect(text).toContain(`pairgate_http_request_duration_seconds_count{${series}} 3`);
    expect(text).toMatch(new RegExp(`pairgate_http_request_duration_seconds_sum\\{${series.replace(/[/:]/g, '\\$&')}\\} 99\\.003`));
    // A bound is inclusive: 1 ms lands in the 1 ms bucket.
    expect(text).toContain('pairgate_http_request_duration_seconds_bucket{method="GET",route="/api/v1/codes/:code",status="404",le="0.001"} 1');
  });

  it('counts grant events per door and event, and expired ones from the sweeper', async () => {
    const metrics = new ServerMetrics();
    const observers: { created?: (g: never) => void; transitioned?: (g: never) => void }[] = [];
    metrics.observe({ observe: (o: (typeof observers)[number]) => observers.push(o) } as never);
    for (let i = 0; i < 3; i++) observers[0]!.created!({ kind: 'pair' } as never);
    observers[0]!.transitioned!({ kind: 'pair', state: 'approved' } as never);
    metrics.countExpired({ pair: 2, support: 1 });
    const text = await metrics.registry.metrics();
    expect(text).toContain('pairgate_grants_total{door="pair",event="created"} 3');
    expect(text).toContain('pairgate_grants_total{door="pair",event="approved"} 1');
    expect(text).toContain('pairgate_grants_total{door="pair",event="expired"} 2');
    expect(text).toContain('pairgate_grants_total{door="support",event="expired"} 1');
    // Read twice, the counts stay (they are totals, not what happened since the last read).
    expect(await metrics.registry.metrics()).toContain('pairgate_grants_total{door="pair",event="created"} 3');
  });
});
