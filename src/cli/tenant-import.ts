import { EntityManager } from '@mikro-orm/postgresql';
import { importTenant } from '../database/backup/tenant-archive';
import { TenantSchemaMigrator } from '../database/tenant-schema-migrator';
import { attachmentFiles, parseCommandArgs, refusalsExitOne, usageError } from './backup-command';
import { runCli } from './cli-app';

const USAGE = `Usage: npm run tenant:import -- --input FILE

Puts back an organisation written by npm run tenant:export, in one transaction:
its platform rows, its schema, its rows, then this build's later tenant
migrations. Refused, with nothing written, when the organisation (id or slug)
or its schema exists here, when the archive is damaged or newer than this
build, or when a member's email belongs to another account here.`;

void runCli(async ({ app }) => {
  const parsed = parseCommandArgs<{ input?: string }>({ input: { type: 'string' } }, USAGE);
  if ('exit' in parsed) return parsed.exit;
  const { input } = parsed.values;
  if (!input) return usageError('--input is required', USAGE);
  return refusalsExitOne('Import', async () => {
    const result = await importTenant(app.get(EntityManager), app.get(TenantSchemaMigrator), {
      input,
      files: attachmentFiles(app),
      log: (line) => process.stdout.write(`${line}\n`),
    });
    process.stdout.write(
      `Imported ${result.tenant.slug} (${result.tenant.id}): ${result.rows} rows in ${result.seconds.toFixed(1)} s\n`,
    );
    return 0;
  });
});
