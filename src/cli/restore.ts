import { loadConfigOrExit, runMain } from '../common/entrypoint';
import { openDatabaseServer } from '../database/database-server';
import { restoreDatabase } from '../database/backup/database-backup';
import { parseCommandArgs, refusalsExitOne, usageError } from './backup-command';

const USAGE = `Usage: npm run restore -- --input FILE --yes [--clean] [--verify] [--jobs N]

Restores a backup made by npm run backup into DATABASE_URL (or the embedded
database while no server holds it). Stop the app first.

  --input FILE   the .dump file
  --yes          confirms that DATABASE_URL is the database to restore into
  --clean        replace every application schema the database holds, in the
                 same transaction as the restore (otherwise a non-empty
                 database is refused and left untouched)
  --verify       compare every table with FILE.checksums.json afterwards
  --jobs N       parallel pg_restore jobs (default 1: one transaction, all or nothing)

pg_restore (and psql, for --clean) must be of the server's major version or
newer: PG_BIN_DIR names their folder.`;

runMain(async () => {
  const parsed = parseCommandArgs<{
    input?: string;
    yes?: boolean;
    clean?: boolean;
    verify?: boolean;
    jobs?: string;
  }>(
    {
      input: { type: 'string' },
      yes: { type: 'boolean' },
      clean: { type: 'boolean' },
      verify: { type: 'boolean' },
      jobs: { type: 'string' },
    },
    USAGE,
  );
  if ('exit' in parsed) return parsed.exit;
  const { values } = parsed;
  const input = values.input;
  if (!input) return usageError('--input is required', USAGE);
  if (!values.yes)
    return usageError('--yes is required: a restore writes into the database', USAGE);
  const jobs = values.jobs === undefined ? 1 : Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 32) {
    return usageError('--jobs takes a whole number from 1 to 32', USAGE);
  }
  if (jobs > 1 && values.clean) {
    return usageError('--clean restores in one transaction: leave out --jobs', USAGE);
  }
  const config = loadConfigOrExit({ LOG_LEVEL: 'warn', ...process.env }, 2);
  const database = await openDatabaseServer(config);
  try {
    return await refusalsExitOne('Restore', async () => {
      const result = await restoreDatabase({
        url: database.url,
        input,
        clean: values.clean,
        verify: values.verify,
        jobs,
        log: (line) => process.stdout.write(`${line}\n`),
      });
      process.stdout.write(
        `Restored ${result.tables} tables in ${result.schemas} schemas in ${result.seconds.toFixed(1)} s` +
          (result.verified !== undefined
            ? `; ${result.verified} tables and sequences match the backup's checksums`
            : '') +
          '\n',
      );
      return 0;
    });
  } finally {
    await database.stop();
  }
});
