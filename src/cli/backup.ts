import { parseArgs } from 'node:util';
import { loadConfigOrExit, runMain } from '../common/entrypoint';
import { openDatabaseServer } from '../database/database-server';
import { BackupError } from '../database/backup/backup.error';
import { formatBytes } from '../database/backup/backup-files';
import { backupDatabase } from '../database/backup/database-backup';

const USAGE = `Usage: npm run backup -- [--output FILE | --dir DIR] [--keep N] [--verify]

Backs up the whole database (DATABASE_URL, or the embedded one while no server
holds it) with pg_dump in its custom format. The file appears only once it is
complete and reads back; a failed run leaves nothing behind.

  --output FILE   write exactly this file (it must not exist)
  --dir DIR       write DIR/groundwork-<UTC time>.dump (default: BACKUP_DIR or .data/backups)
  --keep N        afterwards delete all but the newest N backups in that folder
  --verify        also write FILE.checksums.json: row count and digest of every
                  table, taken in the dump's own snapshot (restore --verify compares)

pg_dump must be of the server's major version or newer: PG_BIN_DIR names its folder.`;

runMain(async () => {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        output: { type: 'string' },
        dir: { type: 'string' },
        keep: { type: 'string' },
        verify: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const keep = values.keep === undefined ? undefined : Number(values.keep);
  if (values.output && values.dir) return usage('--output and --dir cannot be used together');
  if (keep !== undefined && (!Number.isInteger(keep) || keep < 1)) {
    return usage('--keep takes a whole number of 1 or more');
  }
  const config = loadConfigOrExit({ LOG_LEVEL: 'warn', ...process.env }, 2);
  const database = await openDatabaseServer(config);
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  try {
    const result = await backupDatabase({
      url: database.url,
      output: values.output,
      outputDir: values.output ? undefined : (values.dir ?? config.backup.dir),
      keep,
      verify: values.verify,
      log: (line) => process.stdout.write(`${line}\n`),
      signal: abort.signal,
    });
    process.stdout.write(
      `Backup written: ${result.file} (${formatBytes(result.bytes)}, ${result.tables} tables in ` +
        `${result.schemas} schemas, ${result.seconds.toFixed(1)} s)\n` +
        (result.checksumsFile ? `Checksums: ${result.checksumsFile}\n` : ''),
    );
    return 0;
  } catch (error) {
    if (error instanceof BackupError) {
      process.stderr.write(`Backup failed: ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    await database.stop();
  }
});

function usage(problem: string): number {
  process.stderr.write(`${problem}\n\n${USAGE}\n`);
  return 2;
}
