import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory';
import { describeError, loadConfigOrExit } from './common/entrypoint';
import { openDatabaseServer, withDatabaseUrl } from './database/database-server';
import { migrateOnStart, shutDown } from './lifecycle';
import { startMetricsServer, stopMetricsServer } from './observability/metrics-server';

async function main(): Promise<void> {
  const started = performance.now();
  const config = loadConfigOrExit();

  const database = await openDatabaseServer(config);
  const app = await createApp(withDatabaseUrl(config, database.url)).catch(
    async (error: unknown) => {
      await database.stop();
      throw error;
    },
  );
  // Nest's Logger (backed by pino once the app is up) appends its context, so
  // `log(object, message)` keeps the message as the message.
  const logger = new Logger('Groundwork');

  let metricsServer: Awaited<ReturnType<typeof startMetricsServer>>;
  // The metrics port outlives the drain: scrapes still see the last figures.
  const stopServices = async (): Promise<void> => {
    await stopMetricsServer(metricsServer);
    await database.stop();
  };

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    stopping = true;
    logger.log(`${signal} received: draining, then stopping`);
    shutDown(app, config, stopServices).then(
      () => {
        logger.log('Stopped cleanly');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'Shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    if (config.database.migrateOnStart) await migrateOnStart(app, config);
    await app.listen({ port: config.http.port, host: config.http.host });
    metricsServer = await startMetricsServer(app, config);
  } catch (error) {
    logger.error({ err: error }, 'Start-up failed');
    await app.close().catch(() => undefined);
    await stopServices();
    process.exit(1);
  }
  logger.log(
    {
      url: config.http.publicUrl,
      docs: `${config.http.publicUrl}/docs`,
      database: database.embedded ? `embedded (${config.dataDir}/postgres)` : 'DATABASE_URL',
      metrics: config.metrics.port
        ? `port ${config.metrics.port}`
        : config.metrics.token
          ? '/metrics (token)'
          : 'off (set METRICS_TOKEN or METRICS_PORT)',
      startupMs: Math.round(performance.now() - started),
    },
    `Groundwork is ready on ${config.http.publicUrl}`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`Groundwork failed to start: ${describeError(error)}\n`);
  process.exit(1);
});
