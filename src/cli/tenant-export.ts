import { parseArgs } from 'node:util';
import { EntityManager } from '@mikro-orm/postgresql';
import { BackupError } from '../database/backup/backup.error';
import { exportTenant, LEFT_BEHIND } from '../database/backup/tenant-archive';
import { runCli } from './cli-app';

const USAGE = `Usage: npm run tenant:export -- --tenant <id|slug> --output FILE

Writes one organisation's data to FILE (gzip'd JSON lines): its tenant schema
and its platform rows (billing, members and their accounts, API keys, support
queue, audit), from one consistent snapshot. Left behind: ${Object.entries(LEFT_BEHIND)
  .map(([table, why]) => `${table} (${why})`)
  .join(
    '; ',
  )}. Ticket attachment files stay in ATTACHMENTS_DIR: copy that tenant's folder beside the archive.`;

void runCli(async ({ app }) => {
  const { values } = parseArgs({
    options: {
      tenant: { type: 'string' },
      output: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || !values.tenant || !values.output) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  try {
    const result = await exportTenant(app.get(EntityManager), {
      tenant: values.tenant,
      output: values.output,
      log: (line) => process.stdout.write(`${line}\n`),
    });
    const tables = Object.values(result.tables).filter((rows) => rows > 0).length;
    process.stdout.write(
      `Exported ${result.tenant.slug}: ${result.rows} rows from ${tables} non-empty tables to ${result.file} in ${result.seconds.toFixed(1)} s\n`,
    );
    return 0;
  } catch (error) {
    if (error instanceof BackupError) {
      process.stderr.write(`Export failed: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
});
