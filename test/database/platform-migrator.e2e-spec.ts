import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MikroORM } from '@mikro-orm/core';
import { platformMigrations } from '../../migrations/platform';
import { PgBouncer } from '../../bench/lib/pgbouncer';
import { loadConfig } from '../../src/config/app-config';
import { withDatabaseUrl } from '../../src/database/database-server';
import { buildOrmOptions } from '../../src/database/orm.config';
import { PlatformMigrator } from '../../src/database/platform-migrator';
import { adminUrl, createTestDatabase, TestDatabase, withAdmin } from '../support/database';

/** A replica's start-up migration run, on its own ORM (as each process has one). */
async function migrate(url: string, dataDir: string): Promise<string[]> {
  const config = withDatabaseUrl(loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir }), url);
  const orm = await MikroORM.init(buildOrmOptions(config));
  try {
    return await new PlatformMigrator(orm).up();
  } finally {
    await orm.close();
  }
}

/** Advisory locks held in the database, read on the server itself (not through the pooler). */
const advisoryLocks = (database: string) =>
  withAdmin(async (client) => {
    const { rows } = await client.query<{ n: number }>(
      `select count(*)::int as n from pg_locks l join pg_database d on d.oid = l.database
        where l.locktype = 'advisory' and d.datname = $1`,
      [database],
    );
    return rows[0].n;
  });

// The pooler is the Debian package the bench uses; without it there is nothing to put in front.
const describeBehindPgBouncer = PgBouncer.available() ? describe : describe.skip;

describeBehindPgBouncer('platform migrations behind PgBouncer in transaction mode', () => {
  let db: TestDatabase;
  let bouncer: PgBouncer;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'groundwork-pgbouncer-'));
    db = await createTestDatabase({ fromTemplate: false });
    // Two server connections: the lock's and the migration's. Replicas waiting
    // for the lock must not take them, or the one migrating could never finish.
    bouncer = await PgBouncer.start({
      serverUrl: adminUrl(),
      dir: join(dir, 'pgbouncer'),
      poolSize: 2,
      maxClientConnections: 50,
    });
  });

  afterAll(async () => {
    await bouncer?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('migrates once when three replicas start at once, and leaves no lock on the pooled connections', async () => {
    const url = bouncer.urlFor(db.url);
    const runs = await Promise.all(['a', 'b', 'c'].map((r) => migrate(url, join(dir, r))));

    expect(runs.flat().sort()).toEqual(platformMigrations.map((m) => m.name).sort());
    expect(await advisoryLocks(db.name)).toBe(0);
    // The next replica (a deploy later) starts at once: nothing waits for a forgotten lock.
    expect(await migrate(url, join(dir, 'd'))).toEqual([]);
  }, 120_000);
});
