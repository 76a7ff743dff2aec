import { INestApplication } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from './config/app-config';
import { PlatformMigrator } from './database/platform-migrator';
import { ShutdownState } from './health/shutdown.state';
import { TenantMigrationService } from './tenancy/tenant-migration.service';

/** Platform migrations, then every tenant schema that is behind. */
export async function migrateOnStart(app: INestApplication, config: AppConfig): Promise<void> {
  const logger = new Logger('Migrations');
  const applied = await app.get(PlatformMigrator).up();
  if (applied.length > 0) logger.log({ applied }, 'Platform migrations applied');
  const report = await app
    .get(TenantMigrationService)
    .migrate({ concurrency: config.database.migrationConcurrency });
  if (report.total > 0) logger.log({ ...report }, 'Tenant schemas migrated');
  if (report.failed.length > 0) {
    logger.error(
      { failed: report.failed },
      `${report.failed.length} tenant schema(s) failed to migrate; they keep their previous version (see npm run migrate)`,
    );
  }
}

/**
 * Graceful stop: readiness turns 503 at once, the load balancer is given
 * `SHUTDOWN_DELAY_MS` to notice, in-flight requests finish, then the app (and
 * its pool) closes and finally what runs beside it (the metrics port, the
 * embedded database) stops.
 */
export async function shutDown(
  app: INestApplication,
  config: AppConfig,
  stopServices: () => Promise<void>,
): Promise<void> {
  app.get(ShutdownState).begin();
  if (config.http.shutdownDelayMs > 0) await sleep(config.http.shutdownDelayMs);
  try {
    await app.close();
  } finally {
    await stopServices();
  }
}
