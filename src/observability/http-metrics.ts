import type { FastifyInstance } from 'fastify';
import { Metrics } from './metrics';

/** Seconds; from a fast cached read to a slow report, with room above the 1 s latency target. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Requests, errors (by status code) and latency per route template. The route
 * is Fastify's pattern (`/v1/tickets/:id`), never the raw URL, so label
 * values stay few; requests no route matched share `unmatched`. Scrapes of
 * `/metrics` itself are not counted.
 */
export function instrumentHttp(fastify: FastifyInstance, metrics: Metrics): void {
  const labels = ['method', 'route', 'status_code'] as const;
  const requests = metrics.counter(
    'groundwork_http_requests_total',
    'HTTP requests answered, by method, route template and status code',
    labels,
  );
  const duration = metrics.histogram(
    'groundwork_http_request_duration_seconds',
    'Time to answer an HTTP request, by method, route template and status code',
    labels,
    LATENCY_BUCKETS,
  );
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    if (route !== '/metrics') {
      const values = { method: request.method, route, status_code: String(reply.statusCode) };
      requests.inc(values);
      duration.observe(values, reply.elapsedTime / 1000);
    }
    done();
  });
}
