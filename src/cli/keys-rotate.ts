import { parseArgs } from 'node:util';
import { EntityManager } from '@mikro-orm/postgresql';
import { SingleBar } from 'cli-progress';
import { rotateEncryptionKeys } from '../database/key-rotation';
import { AttachmentStorage, EncryptedStorage } from '../support/attachments/storage';
import { runCli } from './cli-app';

const USAGE = `Usage: npm run keys:rotate [-- options]

Re-encrypts every encrypted column (platform and every tenant schema) and every
ticket attachment file under the active key: the first key of
DATA_ENCRYPTION_KEYS. Keep the old keys after it until this has finished.
Resumable: a rerun skips what already carries the active key.

  --batch <n>     rows or files per batch (default 200)`;

void runCli(async ({ app, config }) => {
  const { values } = parseArgs({
    options: { batch: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const batchSize = values.batch ? Number(values.batch) : 200;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    process.stderr.write(`--batch must be a whole number from 1 to 10000\n${USAGE}\n`);
    return 2;
  }
  const storage = app.get(AttachmentStorage);
  if (!(storage instanceof EncryptedStorage)) {
    process.stderr.write('The attachment storage does not encrypt: nothing to rotate there.\n');
    return 1;
  }

  const started = performance.now();
  const keyIds = config.secrets.dataEncryptionKeys.map((k) => k.id);
  process.stdout.write(
    `Active key: ${keyIds[0]}${keyIds.length > 1 ? ` (also reading ${keyIds.slice(1).join(', ')})` : ''}\n`,
  );

  // Ctrl+C stops after the batch in flight (each batch of rows is one transaction).
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const bar = process.stderr.isTTY
    ? new SingleBar({
        format:
          'Rotating [{bar}] {value}/{total} rows and files  {rotated} rotated  {failed} failed  {eta_formatted} left',
        hideCursor: true,
      })
    : undefined;
  let barStarted = false;
  let lastLine = 0;
  const report = await rotateEncryptionKeys(app.get(EntityManager), {
    files: { table: 'ticket_attachment', column: 'storage_key', storage },
    batchSize,
    signal: abort.signal,
    onProgress: ({ done, total, rotated, failed }) => {
      if (bar) {
        if (!barStarted) {
          bar.start(total, 0, { rotated: 0, failed: 0 });
          barStarted = true;
        }
        bar.update(done, { rotated, failed });
      } else if (done === total || performance.now() - lastLine > 5000) {
        lastLine = performance.now();
        process.stdout.write(
          `Rotating: ${done}/${total} rows and files, ${rotated} rotated, ${failed} failed\n`,
        );
      }
    },
  });
  bar?.stop();

  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(
    `Rows: ${report.rows.rotated} re-encrypted, ${report.rows.failed} failed; ` +
      `files: ${report.files.looked} looked at, ${report.files.rotated} re-encrypted, ${report.files.failed} failed; ` +
      `under key ${report.activeKeyId} in ${seconds}s` +
      `${report.interrupted ? ' (interrupted: run again to resume)' : ''}\n`,
  );
  for (const failure of report.failures) process.stderr.write(`  FAILED ${failure}\n`);
  return report.failures.length > 0 || report.interrupted ? 1 : 0;
});
