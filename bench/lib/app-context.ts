import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../../src/app.module';
import { loadConfig } from '../../src/config/app-config';
import { withDatabaseUrl } from '../../src/database/database-server';
import { PlatformMigrator } from '../../src/database/platform-migrator';
import { BENCH_SECRETS } from './app-process';

export interface AppContextOptions {
  databaseUrl: string;
  /** DATA_DIR of the context (outbox files). */
  dataDir: string;
  /** Extra or overriding environment, e.g. `BILLING_RUN_CRON`. */
  env?: Record<string, string>;
}

/**
 * The application without its HTTP server, in this process, as a worker
 * replica runs it: production mode, the simulated gateway, job queues worked.
 * For scenarios that measure background work and need to reach into the
 * process (the simulated gateway keeps its customers in memory). Platform
 * migrations are applied before it returns.
 */
export async function startAppContext(
  options: AppContextOptions,
): Promise<INestApplicationContext> {
  const config = withDatabaseUrl(
    loadConfig({
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      DATA_DIR: options.dataDir,
      DATABASE_URL: options.databaseUrl,
      BILLING_GATEWAY: 'simulated',
      ...BENCH_SECRETS,
      ...options.env,
    }),
    options.databaseUrl,
  );
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
    logger: ['error', 'warn'],
  });
  try {
    await app.get(PlatformMigrator).up();
  } catch (error) {
    await app.close();
    throw error;
  }
  return app;
}
