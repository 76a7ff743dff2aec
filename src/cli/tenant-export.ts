import { EntityManager } from '@mikro-orm/postgresql';
import { exportTenant, LEFT_BEHIND } from '../database/backup/tenant-archive';
import { attachmentFiles, parseCommandArgs, refusalsExitOne, usageError } from './backup-command';
import { runCli } from './cli-app';

const USAGE = `Usage: npm run tenant:export -- --tenant <id|slug> --output FILE

Writes one organisation's data to FILE (gzip'd JSON lines): its tenant schema
and its platform rows (billing, members and their accounts, API keys, support
queue, audit) and its ticket attachments, from one consistent snapshot. Left behind: ${Object.entries(
  LEFT_BEHIND,
)
  .map(([table, why]) => `${table} (${why})`)
  .join('; ')}. Ticket attachments travel in the archive.

The file (mode 0600) holds personal data and members' two-factor secrets in
clear, to be encrypted under the importing instance's keys: keep it on
encrypted storage and delete it after the import.`;

void runCli(async ({ app }) => {
  const parsed = parseCommandArgs<{ tenant?: string; output?: string }>(
    { tenant: { type: 'string' }, output: { type: 'string' } },
    USAGE,
  );
  if ('exit' in parsed) return parsed.exit;
  const { tenant, output } = parsed.values;
  if (!tenant || !output) return usageError('--tenant and --output are required', USAGE);
  return refusalsExitOne('Export', async () => {
    const result = await exportTenant(app.get(EntityManager), {
      tenant,
      output,
      files: attachmentFiles(app),
      log: (line) => process.stdout.write(`${line}\n`),
    });
    const tables = Object.values(result.tables).filter((rows) => rows > 0).length;
    process.stdout.write(
      `Exported ${result.tenant.slug}: ${result.rows} rows from ${tables} non-empty tables to ${result.file} in ${result.seconds.toFixed(1)} s\n`,
    );
    return 0;
  });
});
