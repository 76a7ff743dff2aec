import { createHash, timingSafeEqual } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { Metrics } from './metrics';

export type MetricsAccess = 'allowed' | 'unauthorized' | 'disabled';

/**
 * Who may read `/metrics`, and the exposition itself; shared by the route on
 * the API port and the separate metrics port. Metrics name routes, queues and
 * volumes: never public by default.
 */
@Injectable()
export class MetricsEndpoint {
  private readonly logger = new Logger(MetricsEndpoint.name);
  private readonly tokenDigest?: Buffer;

  constructor(
    private readonly metrics: Metrics,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    const token = config.metrics.token?.reveal();
    if (token) this.tokenDigest = digest(token);
  }

  /**
   * On the API port `/metrics` exists only with METRICS_TOKEN; on the metrics
   * port it is open unless METRICS_TOKEN is set too.
   */
  access(authorization: string | undefined, onMetricsPort: boolean): MetricsAccess {
    if (!this.tokenDigest) return onMetricsPort ? 'allowed' : 'disabled';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    // Digests have equal lengths, so the comparison takes the same time for any guess.
    return match && timingSafeEqual(digest(match[1]), this.tokenDigest)
      ? 'allowed'
      : 'unauthorized';
  }

  get contentType(): string {
    return this.metrics.registry.contentType;
  }

  /**
   * The exposition text, metric by metric: a collector that fails (the
   * database is down, say) is logged and left out, never the whole scrape,
   * so `groundwork_database_up 0` still reaches Prometheus.
   */
  async render(): Promise<string> {
    const registry = this.metrics.registry;
    const parts = await Promise.all(
      registry.getMetricsAsArray().map((metric) =>
        registry.getSingleMetricAsString(metric.name).catch((error: unknown) => {
          this.logger.warn({ err: error, metric: metric.name }, 'A metric failed to collect');
          return '';
        }),
      ),
    );
    return parts.filter(Boolean).join('\n\n') + '\n';
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
