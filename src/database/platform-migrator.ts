import { MikroORM } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { platformMigrations } from '../../migrations/platform';
import { sslFromUrl } from './orm.config';

const LOCK_KEY = 'groundwork:migrate:platform';
/** How often a replica looks again while another one migrates. */
const LOCK_RETRY_MS = 250;

/** Runs the platform schema's migrations (MikroORM's migrator), one replica at a time. */
export class PlatformMigrator {
  constructor(private readonly orm: MikroORM) {}

  /** Applies pending platform migrations; returns their names. */
  async up(): Promise<string[]> {
    // A lock held on a connection of its own while MikroORM runs the
    // migrations in one transaction on a pooled connection: a second replica
    // starting at the same time waits, then finds nothing to do.
    //
    // Pooler-safe (PgBouncer in transaction mode): the lock is
    // transaction-scoped, in a transaction left open while the migrations run,
    // so it pins one server connection and commit (or this client dropping)
    // releases it. A session lock would stay on the pooled server connection
    // after this client left, and the next replica would wait for it forever.
    // A replica that finds the lock taken ends its transaction and tries
    // again later rather than wait inside it: waiting replicas must not hold
    // the pooler's server connections the migrating one needs.
    const url = this.orm.config.get('clientUrl')!;
    // Same TLS choice and connect timeout as the pool.
    const lock = new Client({
      connectionString: stripSslMode(url),
      ssl: sslFromUrl(url),
      connectionTimeoutMillis: 10_000,
    });
    await lock.connect();
    try {
      for (;;) {
        await lock.query('begin');
        // The transaction idles while the migrations run elsewhere: a
        // server-wide idle-in-transaction timeout must not end it (and free the lock) early.
        await lock.query('set local idle_in_transaction_session_timeout = 0');
        const { rows } = await lock.query<{ locked: boolean }>(
          'select pg_try_advisory_xact_lock(hashtext($1)) as locked',
          [LOCK_KEY],
        );
        if (rows[0].locked) break;
        await lock.query('rollback');
        await sleep(LOCK_RETRY_MS);
      }
      const done = await this.orm.getMigrator().up();
      await lock.query('commit');
      return done.map((m) => m.name);
    } finally {
      // On failure the transaction (and the lock) ends with the connection.
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
