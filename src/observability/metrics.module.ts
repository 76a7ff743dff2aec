import { Global, Module } from '@nestjs/common';
import { DatabaseMetrics } from './database-metrics';
import { Metrics } from './metrics';
import { MetricsController } from './metrics.controller';
import { MetricsEndpoint } from './metrics-endpoint';

@Global()
@Module({
  controllers: [MetricsController],
  providers: [Metrics, MetricsEndpoint, DatabaseMetrics],
  exports: [Metrics, MetricsEndpoint],
})
export class MetricsModule {}
