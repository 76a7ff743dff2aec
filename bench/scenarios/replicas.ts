import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import {
  BILLING_RUN_QUEUE,
  RENEW_QUEUE,
} from '../../src/billing/subscriptions/billing-run.service';
import { JOB_SCHEMA } from '../../src/common/jobs/job-queue';
import { AppProcess } from '../lib/app-process';
import {
  describeRenewals,
  endPeriodsAt,
  everyMinuteFirings,
  type RenewalCounts,
  renewalCounts,
  subscribeAll,
  waitForRenewals,
} from '../lib/renewals';
import { ms } from '../lib/report';
import type { Scenario } from '../lib/scenario';
import { type SignedInOwner, TenantFleet } from '../lib/tenant-fleet';

const GROUP = 'replicas';
/**
 * Billing-run ticks with due work: two with both replicas up, then one more
 * after one replica is killed. The cron fires each minute (BILLING_RUN_CRON's
 * default, and pg-boss's finest), so the wall time is about this many minutes.
 */
const TICKS = 3;
/** The tick after which replica B is killed. */
const KILL_AFTER_TICK = 1;
/** Due renewals per tick (capped: each is bought through the API first). */
const MAX_PER_TICK = 20;
/**
 * pg-boss fires a minute's cron when its 30 s monitor next looks, so a tick
 * can come up to a minute after the one before, plus its send-it worker's poll.
 */
const TICK_WAIT_MS = 100_000;
/** A billing run enqueues renewals; this is for the renewal jobs to finish after it. */
const RENEWALS_WAIT_MS = 30_000;

/**
 * Two app processes on one database (same secrets), as two replicas behind a
 * load balancer. Subscriptions come due in batches, one right after each of
 * three billing runs, for the next tick to renew; after the second batch
 * replica B is SIGKILLed and A must carry on. Afterwards, counted on the server: one pg-boss job per
 * every-minute schedule and tick (never two, none missed), and one renewal
 * invoice with one charge per subscription.
 */
export const replicas: Scenario = {
  name: 'replicas',
  description: 'two replicas: scheduled jobs run once',
  async run({ options, postgres, scratch, report }) {
    const perTick = Math.max(1, Math.min(MAX_PER_TICK, Math.floor(options.tenants / TICKS)));
    const url = await postgres.create('replicas');
    const server = new Client({ connectionString: url });
    await server.connect();
    const running: AppProcess[] = [];
    try {
      const fleet = await TenantFleet.open(url, join(scratch, 'replicas-fleet'));
      let owners: SignedInOwner[];
      try {
        await fleet.provision(perTick * TICKS);
        owners = await fleet.signIn(fleet.tenants);
      } finally {
        await fleet.close();
      }
      const [a, b] = await Promise.all(
        ['a', 'b'].map((name) =>
          AppProcess.start({ databaseUrl: url, dataDir: join(scratch, `replica-${name}`) }),
        ),
      );
      running.push(a, b);
      await subscribeAll(a.url, owners);

      const from = new Date();
      const batches = Array.from({ length: TICKS }, (_, k) =>
        owners.slice(k * perTick, (k + 1) * perTick).map((o) => o.tenantId),
      );
      // Each batch comes due right after a billing run, so the next run (the
      // next tick) is the one that must renew it, whichever replica runs it.
      await nextBillingRun(server, from, TICK_WAIT_MS);
      const renewedAfterMs: number[] = [];
      let killedAt: Date | undefined;
      let activeAtKill: number | undefined;
      for (const [k, batch] of batches.entries()) {
        const due = new Date();
        await endPeriodsAt(server, batch, due);
        await nextBillingRun(server, due, TICK_WAIT_MS);
        await waitForRenewals(server, batch, RENEWALS_WAIT_MS);
        renewedAfterMs.push(Date.now() - due.getTime());
        if (k === KILL_AFTER_TICK) {
          // Killed between jobs: a job B were running would stay `active` on B's
          // behalf until pg-boss expires it (15 min), longer than this scenario.
          activeAtKill = await activeJobs(server, 10_000);
          await b.kill();
          running.splice(running.indexOf(b), 1);
          killedAt = new Date();
        }
      }
      // The every-minute schedules of the last tick have run by now (they fire together).
      const to = new Date();
      const firings = await everyMinuteFirings(server, from, to);
      const perBatch: RenewalCounts[] = [];
      for (const batch of batches) perBatch.push(await renewalCounts(server, batch));
      const all = await renewalCounts(server, batches.flat());
      const afterKill = perBatch.slice(KILL_AFTER_TICK + 1);
      // Renewal jobs that did not complete, with pg-boss's record of why: what to read when a count is off.
      const { rows: unfinished } = await server.query(
        `select state, retry_count, created_on, started_on, output from ${JOB_SCHEMA}.job
          where name = $1 and state <> 'completed'`,
        [RENEW_QUEUE],
      );
      const { rows: billingRuns } = await server.query(
        `select created_on, started_on, completed_on, state from ${JOB_SCHEMA}.job
          where name = $1 and created_on >= $2 order by created_on`,
        [BILLING_RUN_QUEUE, from],
      );
      report.figure('replicas', {
        perTick,
        firings,
        perBatch,
        renewedAfterMs,
        killedAt,
        activeAtKill,
        billingRuns,
        unfinished,
        survivorLog: unfinished.length ? a.text() : undefined,
      });

      const billing = firings.find((f) => f.queue === BILLING_RUN_QUEUE);
      const firingLine = (f: CronFiringSummary) =>
        `${f.ticks} ticks, ${f.jobs} jobs, ${f.duplicated} fired twice, ${f.missed} missed`;
      report.add({
        group: GROUP,
        scenario: `2 replicas, billing run (${BILLING_RUN_QUEUE}, every minute) over ${TICKS} ticks`,
        ours: billing ? firingLine(billing) : 'no schedule found',
        target: `one job per tick, ≥ ${TICKS} ticks`,
        met:
          !!billing &&
          billing.jobs === billing.ticks &&
          billing.missed === 0 &&
          billing.ticks >= TICKS,
      });
      const others = firings.filter((f) => f !== billing);
      const total = others.reduce(
        (sum, f) => ({
          ticks: sum.ticks + f.ticks,
          jobs: sum.jobs + f.jobs,
          duplicated: sum.duplicated + f.duplicated,
          missed: sum.missed + f.missed,
        }),
        { ticks: 0, jobs: 0, duplicated: 0, missed: 0 },
      );
      report.add({
        group: GROUP,
        scenario: `2 replicas, the other every-minute schedules (${others.map((f) => f.queue).join(', ')})`,
        ours: firingLine(total),
        target: 'one job per tick',
        met: total.jobs === total.ticks && total.missed === 0,
      });
      report.add({
        group: GROUP,
        scenario: `${all.once + all.none + all.duplicated} due renewals over ${TICKS} ticks (${perTick} per tick)`,
        ours: describeRenewals(all),
        target: 'each exactly once',
        met: all.once === perTick * TICKS,
      });
      const carried = afterKill.reduce((n, c) => n + c.once, 0);
      report.add({
        group: GROUP,
        scenario: `replica B SIGKILLed after tick ${KILL_AFTER_TICK + 1}: A alone renews the next batch`,
        ours:
          `${carried} of ${afterKill.length * perTick} renewed once, ${ms(renewedAfterMs.at(-1)!)} after coming due ` +
          `(${activeAtKill} jobs running at the kill)`,
        target: 'all, at the next tick',
        met: carried === afterKill.length * perTick && renewedAfterMs.at(-1)! < TICK_WAIT_MS,
      });
    } finally {
      await Promise.all(running.map((app) => app.stop()));
      await server.end();
      await postgres.drop('replicas');
    }
  },
};

/**
 * Jobs running now (pg-boss's own housekeeping aside), after waiting up to
 * `waitMs` for there to be none.
 */
/** Waits for a billing-run job created after `after` to complete (that tick's run). */
async function nextBillingRun(server: Client, after: Date, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const { rows } = await server.query(
      `select 1 from ${JOB_SCHEMA}.job where name = $1 and created_on > $2 and state = 'completed'`,
      [BILLING_RUN_QUEUE, after],
    );
    if (rows.length > 0) return;
    await sleep(500);
  }
}

async function activeJobs(server: Client, waitMs: number): Promise<number> {
  const until = Date.now() + waitMs;
  for (;;) {
    const { rows } = await server.query<{ n: number }>(
      `select count(*)::int as n from ${JOB_SCHEMA}.job
        where state = 'active' and name not like '\\_\\_pgboss\\_\\_%'`,
    );
    if (rows[0].n === 0 || Date.now() > until) return rows[0].n;
    await sleep(200);
  }
}

type CronFiringSummary = { ticks: number; jobs: number; duplicated: number; missed: number };
