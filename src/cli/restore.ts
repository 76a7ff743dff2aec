import { parseArgs } from 'node:util';
import { loadConfigOrExit, runMain } from '../common/entrypoint';
import { openDatabaseServer } from '../database/database-server';
import { BackupError } from '../database/backup/backup.error';
import { restoreDatabase } from '../database/backup/database-backup';

const USAGE = `Usage: npm run restore -- --input FILE --yes [--clean] [--verify] [--jobs N]

Restores a backup made by npm run backup into DATABASE_URL (or the embedded
database while no server holds it). Stop the app first.

  --input FILE   the .dump file
  --yes          confirms that DATABASE_URL is the database to restore into
  --clean        replace what the database holds (otherwise a non-empty
                 database is refused and left untouched)
  --verify       compare every table with FILE.checksums.json afterwards
  --jobs N       parallel pg_restore jobs (default 1: one transaction, all or nothing)

pg_restore must be of the server's major version or newer: PG_BIN_DIR names its folder.`;

runMain(async () => {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        input: { type: 'string' },
        yes: { type: 'boolean' },
        clean: { type: 'boolean' },
        verify: { type: 'boolean' },
        jobs: { type: 'string' },
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
  if (!values.input) return usage('--input is required');
  if (!values.yes) return usage('--yes is required: a restore writes into the database');
  const jobs = values.jobs === undefined ? 1 : Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 32) {
    return usage('--jobs takes a whole number from 1 to 32');
  }
  const config = loadConfigOrExit({ LOG_LEVEL: 'warn', ...process.env }, 2);
  const database = await openDatabaseServer(config);
  try {
    const result = await restoreDatabase({
      url: database.url,
      input: values.input,
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
  } catch (error) {
    if (error instanceof BackupError) {
      process.stderr.write(`Restore failed: ${error.message}\n`);
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
