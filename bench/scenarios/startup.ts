import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT } from '../../src/common/paths';
import { freePort, startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { AppProcess } from '../lib/app-process';
import { ms, ratio } from '../lib/report';
import type { Scenario } from '../lib/scenario';

const READY_TARGET_MS = 3_000;
const GROUP = 'start-up and memory';

/**
 * Process start → `/health/ready`:
 * - zero configuration (`npm start` without the build: embedded PostgreSQL in
 *   DATA_DIR), on a new data folder and on a warm one — the target;
 * - production mode against an existing database, first start (platform
 *   migrations) and warm restart (every deploy after the first).
 * Baseline: the embedded PostgreSQL's own cold (initdb) and warm start.
 */
export const startup: Scenario = {
  name: 'startup',
  description: 'server start to ready (zero-config and production), beside PostgreSQL alone',
  async run({ postgres, scratch, report }) {
    const pgDir = join(scratch, 'startup-pg');
    let started = performance.now();
    let pg = await startEmbeddedPostgres({ dataDir: pgDir, persistent: true });
    const pgCold = performance.now() - started;
    await pg.stop();
    started = performance.now();
    pg = await startEmbeddedPostgres({ dataDir: pgDir, persistent: true });
    const pgWarm = performance.now() - started;
    await pg.stop();

    const zeroConfigDir = join(scratch, 'startup-zero-config');
    const zeroCold = await zeroConfigReadyMs(zeroConfigDir);
    const zeroWarm = await zeroConfigReadyMs(zeroConfigDir);

    const url = await postgres.create('startup');
    try {
      const dataDir = join(scratch, 'startup-app');
      const first = await AppProcess.start({ databaseUrl: url, dataDir });
      await first.stop();
      const warm = await AppProcess.start({ databaseUrl: url, dataDir });
      await warm.stop();
      report.figure('startup', {
        zeroConfigColdMs: zeroCold,
        zeroConfigWarmMs: zeroWarm,
        productionFirstMs: first.readyMs,
        productionWarmMs: warm.readyMs,
        postgresColdMs: pgCold,
        postgresWarmMs: pgWarm,
      });
      report.add({
        group: GROUP,
        scenario: 'zero-config start → ready, new data folder (initdb, migrations)',
        ours: ms(zeroCold),
        baseline: `${ms(pgCold)} (PostgreSQL initdb + start)`,
        ratio: ratio(zeroCold, pgCold),
      });
      report.add({
        group: GROUP,
        scenario: 'zero-config start → ready, warm data folder',
        ours: ms(zeroWarm),
        baseline: `${ms(pgWarm)} (PostgreSQL start)`,
        ratio: ratio(zeroWarm, pgWarm),
        target: `< ${ms(READY_TARGET_MS)}`,
        met: zeroWarm < READY_TARGET_MS,
      });
      report.add({
        group: GROUP,
        scenario: 'production start → ready, new database (platform migrations)',
        ours: ms(first.readyMs),
      });
      report.add({
        group: GROUP,
        scenario: 'production start → ready, warm',
        ours: ms(warm.readyMs),
        target: `< ${ms(READY_TARGET_MS)}`,
        met: warm.readyMs < READY_TARGET_MS,
      });
    } finally {
      await postgres.drop('startup');
    }
  },
};

/** `node dist/src/main.js` with nothing but DATA_DIR and PORT, as a newcomer runs it. */
async function zeroConfigReadyMs(dataDir: string): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'dist/src/main.js')], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), DATA_DIR: dataDir },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let done = false;
  const exited = new Promise((resolve) => child.on('exit', resolve)).then(() => (done = true));
  try {
    for (;;) {
      if (done) throw new Error(`server exited before it was ready:\n${stderr}`);
      try {
        if ((await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200) break;
      } catch {
        // not listening yet
      }
      if (performance.now() - started > 120_000) throw new Error('not ready in 120 s');
      await sleep(20);
    }
    return performance.now() - started;
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}
