import { Global, Module } from '@nestjs/common';
import { BusinessMetricsController } from './business-metrics/business-metrics.controller';
import { BusinessMetricsService } from './business-metrics/business-metrics.service';
import { DatabaseMetrics } from './database-metrics';
import { Metrics } from './metrics';
import { MetricsController } from './metrics.controller';
import { MetricsEndpoint } from './metrics-endpoint';

@Global()
@Module({
  controllers: [MetricsController, BusinessMetricsController],
  providers: [Metrics, MetricsEndpoint, DatabaseMetrics, BusinessMetricsService],
  exports: [Metrics, MetricsEndpoint],
})
export class MetricsModule {}
