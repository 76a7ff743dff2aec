import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import { PlatformMigrator } from '../database/platform-migrator';
import { TenantMigrationService } from '../tenancy/tenant-migration.service';
import { runCli } from './cli-app';

const USAGE = `Usage: npm run migrate [-- options]

Applies platform migrations, then tenant migrations to every tenant schema that
is behind (one transaction per schema; rerun to resume after a crash).

  --tenant <slug>      only this tenant's schema (platform migrations still run first)
  --all                check every tenant schema's own record, not only those marked behind
  --concurrency <n>    schemas migrated at once (default MIGRATION_CONCURRENCY)
  --platform-only      skip tenant schemas`;

void runCli(async ({ app, config }) => {
  const { values } = parseArgs({
    options: {
      tenant: { type: 'string' },
      all: { type: 'boolean' },
      concurrency: { type: 'string' },
      'platform-only': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const concurrency = values.concurrency
    ? Number(values.concurrency)
    : config.database.migrationConcurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    process.stderr.write(`--concurrency must be a whole number from 1 to 64\n${USAGE}\n`);
    return 2;
  }

  const started = performance.now();
  const platform = await app.get(PlatformMigrator).up();
  process.stdout.write(
    platform.length ? `Platform: applied ${platform.join(', ')}\n` : 'Platform: up to date\n',
  );
  if (values['platform-only']) return 0;

  // Ctrl+C stops taking new schemas; those in flight finish (each is one transaction).
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const bar = process.stderr.isTTY
    ? new SingleBar({
        format: 'Tenants  [{bar}] {value}/{total} schemas  {failed} failed  {eta_formatted} left',
        hideCursor: true,
      })
    : undefined;
  let lastLine = 0;
  const report = await app.get(TenantMigrationService).migrate({
    slug: values.tenant,
    all: values.all,
    concurrency,
    signal: abort.signal,
    onProgress: ({ done, total, failed }) => {
      if (bar) {
        if (done === 1) bar.start(total, 0, { failed: 0 });
        bar.update(done, { failed });
      } else if (done === total || performance.now() - lastLine > 5000) {
        lastLine = performance.now();
        process.stdout.write(`Tenants: ${done}/${total} schemas, ${failed} failed\n`);
      }
    },
  });
  bar?.stop();

  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(
    `Tenants: ${report.total} looked at, ${report.migrated} migrated, ${report.failed.length} failed` +
      `${report.skipped ? `, ${report.skipped} not reached (interrupted: run again to resume)` : ''} in ${seconds}s\n`,
  );
  for (const failure of report.failed) {
    process.stderr.write(`  FAILED ${failure.slug} (${failure.schemaName}): ${failure.error}\n`);
  }
  return report.failed.length > 0 || report.skipped > 0 ? 1 : 0;
});
