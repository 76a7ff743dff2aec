import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetadataStorage, MikroORM } from '@mikro-orm/core';
import { loadConfig } from '../../src/config/app-config';
import { withDatabaseUrl } from '../../src/database/database-server';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { buildOrmOptions } from '../../src/database/orm.config';
import { PlatformMigrator } from '../../src/database/platform-migrator';
import PgBoss from 'pg-boss';
import { JOB_SCHEMA } from '../../src/common/jobs/job-queue';
import { ADMIN_URL_VAR, TEMPLATE_VAR, urlFor, withAdmin } from './database';

/**
 * One PostgreSQL for the whole run: `DATABASE_URL` when set, otherwise an
 * embedded one in a temporary folder. A template database is migrated once;
 * each test file copies it.
 */
export default async function globalSetup(): Promise<void> {
  // Tests that run the built server or the commands use dist/: build it once,
  // here, before any worker starts (two workers building at once would race).
  // GW_TEST_SKIP_BUILD=1 skips it when another run in this checkout builds (or
  // the files run need no dist/), so parallel runs do not rebuild under each other.
  if (process.env.GW_TEST_SKIP_BUILD !== '1') {
    execFileSync('npm', ['run', '--silent', 'build'], {
      cwd: join(__dirname, '../..'),
      stdio: 'inherit',
    });
  }
  process.env.GW_TEST_BUILT = '1';
  let admin = process.env.DATABASE_URL;
  if (!admin) {
    const dataDir = mkdtempSync(join(tmpdir(), 'groundwork-test-pg-'));
    const server = await startEmbeddedPostgres({ dataDir, persistent: false });
    (globalThis as { __gwPostgres?: { stop(): Promise<void> } }).__gwPostgres = server;
    admin = server.url;
  }
  process.env[ADMIN_URL_VAR] = admin;

  const template = `gw_template_${process.pid}`;
  await withAdmin(async (c) => {
    await c.query(`drop database if exists "${template}" with (force)`);
    await c.query(`create database "${template}"`);
  }, admin);
  const config = withDatabaseUrl(
    loadConfig({
      NODE_ENV: 'test',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'groundwork-test-data-')),
    }),
    urlFor(template, admin),
  );
  const orm = await MikroORM.init(buildOrmOptions(config));
  try {
    await new PlatformMigrator(orm).up();
  } finally {
    await orm.close();
    // Jest may run test files in this same process (one file: in band); metadata
    // discovered here belongs to this realm and must not leak into theirs.
    MetadataStorage.clear();
  }
  // pg-boss installs its schema on first start; doing it once here saves every test file the work.
  const boss = new PgBoss({
    connectionString: urlFor(template, admin),
    schema: JOB_SCHEMA,
    supervise: false,
    schedule: false,
    max: 1,
  });
  await boss.start();
  await boss.stop({ graceful: false, wait: true });
  process.env[TEMPLATE_VAR] = template;
}
