import { createServer, Server } from 'node:http';
import { INestApplication, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { MetricsEndpoint } from './metrics-endpoint';

/**
 * `/metrics` on its own port (METRICS_PORT), for scrapers inside the cluster:
 * the Service never routes to it, a NetworkPolicy admits only the monitoring
 * namespace. A bare node:http server: nothing but one route, no user
 * pipeline, and it keeps answering while the API drains at shutdown.
 */
export async function startMetricsServer(
  app: INestApplication,
  config: AppConfig,
): Promise<Server | undefined> {
  const port = config.metrics.port;
  if (port === undefined) return undefined;
  const endpoint = app.get(MetricsEndpoint);
  const logger = new Logger('Metrics');
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('Not found: try GET /metrics\n');
      return;
    }
    if (endpoint.access(request.headers.authorization, true) !== 'allowed') {
      response
        .writeHead(401, {
          'content-type': 'text/plain',
          'www-authenticate': 'Bearer realm="metrics"',
        })
        .end('Authorization: Bearer <METRICS_TOKEN> required\n');
      return;
    }
    endpoint.render().then(
      (body) => {
        response.writeHead(200, {
          'content-type': endpoint.contentType,
          'cache-control': 'no-store',
        });
        response.end(request.method === 'HEAD' ? undefined : body);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'Metrics scrape failed');
        response.writeHead(500, { 'content-type': 'text/plain' }).end('Scrape failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, config.http.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  logger.log(`Metrics on port ${port}`);
  return server;
}

/** Stops the metrics server; scrapes in flight get their answer. */
export async function stopMetricsServer(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeIdleConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
