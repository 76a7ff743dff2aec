import 'reflect-metadata';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createApp } from '../app.factory';
import { PROJECT_ROOT } from '../common/paths';
import { loadConfig } from '../config/app-config';
import { withDatabaseUrl } from '../database/database-server';
import { buildOpenApiDocument, stableStringify } from '../openapi';
import { runMain } from '../common/entrypoint';

/**
 * Writes `openapi.json` from the controllers' decorators (`npm run openapi`),
 * or with `--check` fails when the committed file differs (CI).
 */
async function main(): Promise<number> {
  const { values } = parseArgs({ options: { check: { type: 'boolean' } } });
  // The document comes from metadata alone: no database is started or reached.
  const config = withDatabaseUrl(
    loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'groundwork-openapi-')),
    }),
    'postgres://openapi@127.0.0.1:1/openapi',
  );
  const app = await createApp({ ...config, jobs: { work: false } }, { orm: { connect: false } });
  const generated = stableStringify(buildOpenApiDocument(app));
  await app.close();

  const file = join(PROJECT_ROOT, 'openapi.json');
  if (!values.check) {
    writeFileSync(file, generated);
    process.stdout.write(`Wrote ${file}\n`);
    return 0;
  }
  let committed = '';
  try {
    committed = readFileSync(file, 'utf8');
  } catch {
    // a missing file is drift too
  }
  if (committed === generated) {
    process.stdout.write('openapi.json is up to date.\n');
    return 0;
  }
  process.stderr.write(
    'openapi.json differs from the code: run `npm run openapi` and commit the result.\n',
  );
  return 1;
}

runMain(main);
