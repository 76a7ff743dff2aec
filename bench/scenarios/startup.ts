import { join } from 'node:path';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { AppProcess } from '../lib/app-process';
import { ms, ratio } from '../lib/report';
import type { Scenario } from '../lib/scenario';

const READY_TARGET_MS = 3_000;

/**
 * Process start → `/health/ready` in production mode against an existing
 * database: first start (platform migrations run) and a warm restart (data
 * directory and schema in place, as every deploy after the first). Baseline:
 * the embedded PostgreSQL's own cold and warm start on the same machine.
 */
export const startup: Scenario = {
  name: 'startup',
  description: 'server start to ready, first and warm, beside PostgreSQL alone',
  async run({ postgres, scratch, report }) {
    const url = await postgres.create('startup');
    try {
      const dataDir = join(scratch, 'startup-app');
      const first = await AppProcess.start({ databaseUrl: url, dataDir });
      await first.stop();
      const warm = await AppProcess.start({ databaseUrl: url, dataDir });
      await warm.stop();

      const pgDir = join(scratch, 'startup-pg');
      let started = performance.now();
      let pg = await startEmbeddedPostgres({ dataDir: pgDir, persistent: true });
      const pgCold = performance.now() - started;
      await pg.stop();
      started = performance.now();
      pg = await startEmbeddedPostgres({ dataDir: pgDir, persistent: true });
      const pgWarm = performance.now() - started;
      await pg.stop();

      report.figure('startup', {
        firstMs: first.readyMs,
        warmMs: warm.readyMs,
        postgresColdMs: pgCold,
        postgresWarmMs: pgWarm,
      });
      report.add({
        group: 'start-up and memory',
        scenario: 'start → ready, new database (platform migrations)',
        ours: ms(first.readyMs),
        baseline: `${ms(pgCold)} (PostgreSQL initdb + start)`,
        ratio: ratio(first.readyMs, pgCold),
      });
      report.add({
        group: 'start-up and memory',
        scenario: 'start → ready, warm',
        ours: ms(warm.readyMs),
        baseline: `${ms(pgWarm)} (PostgreSQL start)`,
        ratio: ratio(warm.readyMs, pgWarm),
        target: `< ${ms(READY_TARGET_MS)}`,
        met: warm.readyMs < READY_TARGET_MS,
      });
    } finally {
      await postgres.drop('startup');
    }
  },
};
