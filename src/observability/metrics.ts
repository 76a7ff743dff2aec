import { Global, Injectable, Module } from '@nestjs/common';
import { Counter, Gauge, Registry } from 'prom-client';

/**
 * The application's Prometheus registry: one per application instance (not
 * prom-client's global one, so test apps in one process never collide).
 * Modules register their own metrics here; `/metrics` serves `registry`.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  /** A gauge computed when scraped (`collect` sets its values). */
  gauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    collect?: (gauge: Gauge<L>) => Promise<void>,
  ): Gauge<L> {
    return new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      ...(collect
        ? {
            async collect(this: Gauge<L>) {
              await collect(this);
            },
          }
        : {}),
    });
  }
}

@Global()
@Module({ providers: [Metrics], exports: [Metrics] })
export class MetricsModule {}
