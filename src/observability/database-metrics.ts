import { Injectable } from '@nestjs/common';
import { MikroORM } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { Metrics } from './metrics';
import { withDeadline } from './scrape';

/** The parts of knex's (tarn) pool we read. */
interface Pool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}

/**
 * Database reachability and this process's connection pool, read at scrape
 * time: `groundwork_database_up` is what the "database unreachable" alert
 * watches, the pool gauges show exhaustion (pending acquires) before it hurts.
 */
@Injectable()
export class DatabaseMetrics {
  constructor(metrics: Metrics, orm: MikroORM, @InjectConfig() config: AppConfig) {
    const em = orm.em as EntityManager;
    metrics.gauge(
      'groundwork_database_up',
      'Whether this process can run a query on PostgreSQL (1) or not (0)',
      [],
      async (gauge) => {
        try {
          await withDeadline(
            em.getConnection().execute('select 1'),
            config.database.healthTimeoutMs,
            'select 1',
          );
          gauge.set(1);
        } catch {
          gauge.set(0);
        }
      },
    );
    metrics.gauge(
      'groundwork_db_pool_connections',
      "This process's PostgreSQL pool: connections in use, idle, and requests waiting for one",
      ['state'],
      // eslint-disable-next-line @typescript-eslint/require-await -- prom-client awaits collectors
      async (gauge) => {
        const pool = (em.getConnection().getKnex().client as { pool?: Pool }).pool;
        if (!pool) return;
        gauge.set({ state: 'used' }, pool.numUsed());
        gauge.set({ state: 'free' }, pool.numFree());
        gauge.set({ state: 'pending' }, pool.numPendingAcquires());
      },
    );
  }
}
