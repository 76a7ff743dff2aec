import { MikroORM } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { platformMigrations } from '../../migrations/platform';
import { sslFromUrl } from './orm.config';

const LOCK_KEY = 'groundwork:migrate:platform';

/** Runs the platform schema's migrations (MikroORM's migrator), one replica at a time. */
export class PlatformMigrator {
  constructor(private readonly orm: MikroORM) {}

  /** Applies pending platform migrations; returns their names. */
  async up(): Promise<string[]> {
    // A session-level lock held on a connection of its own while MikroORM runs
    // the migrations in one transaction on a pooled connection: a second
    // replica starting at the same time waits, then finds nothing to do.
    const url = this.orm.config.get('clientUrl')!;
    // Same TLS choice and connect timeout as the pool. Behind PgBouncer in
    // transaction mode, point migrations at the server itself (a session lock).
    const lock = new Client({
      connectionString: stripSslMode(url),
      ssl: sslFromUrl(url),
      connectionTimeoutMillis: 10_000,
    });
    await lock.connect();
    try {
      await lock.query('select pg_advisory_lock(hashtext($1))', [LOCK_KEY]);
      const done = await this.orm.getMigrator().up();
      return done.map((m) => m.name);
    } finally {
      await lock.end();
    }
  }

  /** Names of platform migrations not yet applied (one query; safe for a readiness probe). */
  async pending(): Promise<string[]> {
    const em = this.orm.em.fork() as EntityManager;
    const exists = await em.execute<{ t: string | null }[]>(
      `select to_regclass('platform.mikro_orm_migrations')::text as t`,
    );
    if (!exists[0]?.t) return platformMigrations.map((m) => m.name);
    const rows = await em.execute<{ name: string }[]>(
      'select name from platform.mikro_orm_migrations',
    );
    const applied = new Set(rows.map((r) => r.name));
    return platformMigrations.map((m) => m.name).filter((name) => !applied.has(name));
  }
}

/** pg would read `sslmode` itself (verifying certificates for `require`); `ssl` decides instead. */
function stripSslMode(url: string): string {
  const parsed = new URL(url);
  parsed.searchParams.delete('sslmode');
  return parsed.toString();
}
