import { loadConfigOrExit, runMain } from '../common/entrypoint';
import { openDatabaseServer } from '../database/database-server';
import { formatBytes } from '../database/backup/backup-files';
import { backupDatabase } from '../database/backup/database-backup';
import { parseCommandArgs, refusalsExitOne, usageError } from './backup-command';

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
  const parsed = parseCommandArgs<{
    output?: string;
    dir?: string;
    keep?: string;
    verify?: boolean;
  }>(
    {
      output: { type: 'string' },
      dir: { type: 'string' },
      keep: { type: 'string' },
      verify: { type: 'boolean' },
    },
    USAGE,
  );
  if ('exit' in parsed) return parsed.exit;
  const { values } = parsed;
  const keep = values.keep === undefined ? undefined : Number(values.keep);
  if (values.output && values.dir) {
    return usageError('--output and --dir cannot be used together', USAGE);
  }
  if (keep !== undefined && (!Number.isInteger(keep) || keep < 1)) {
    return usageError('--keep takes a whole number of 1 or more', USAGE);
  }
  const config = loadConfigOrExit({ LOG_LEVEL: 'warn', ...process.env }, 2);
  const database = await openDatabaseServer(config);
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  try {
    return await refusalsExitOne('Backup', async () => {
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
    });
  } finally {
    await database.stop();
  }
});
