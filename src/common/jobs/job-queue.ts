import {
  BeforeApplicationShutdown,
  Global,
  Injectable,
  Logger,
  Module,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { MikroORM } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import PgBoss from 'pg-boss';
import { Counter } from 'prom-client';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { sslFromUrl } from '../../database/orm.config';
import { Metrics } from '../../observability/metrics';
import { withDeadline } from '../../observability/scrape';
import { inLanes } from '../in-lanes';

/** How long shutdown waits for running handlers. */
const SHUTDOWN_WAIT_MS = 20_000;
/** After the workers are told to stop: time for a fetch already under way to end. */
const WORKERS_SETTLE_MS = 200;

/** pg-boss keeps its tables here, beside `platform`. */
export const JOB_SCHEMA = 'pgboss';

/** One queue's jobs as the metrics see them (read across every replica). */
interface QueueLoad {
  queue: string;
  /** Due and waiting for a worker (a first try, or a retry). */
  created: number;
  retry: number;
  active: number;
  /** Waiting for a later start (a planned retry, a dunning step in 3 days). */
  scheduled: number;
  oldestWaitingSeconds: number;
}

export interface QueueDefinition<Data extends object> {
  name: string;
  /**
   * `stately`: at most one queued and one running job per singleton key (what
   * "renew subscription X for period P" wants); `standard` otherwise.
   */
  policy?: 'standard' | 'stately';
  retryLimit?: number;
  retryDelaySeconds?: number;
  expireInSeconds?: number;
  /** Five-field cron (UTC) on which pg-boss enqueues one job cluster-wide. */
  cron?: string;
  /** Jobs fetched per poll (default 10). */
  batchSize?: number;
  /**
   * How many jobs of a fetched batch run at once (default 1: one after
   * another). Only for handlers that are independent of each other (each
   * locks its own rows); every one in flight holds a database connection.
   */
  concurrency?: number;
  pollingIntervalSeconds?: number;
  handle(data: Data, job: { id: string }): Promise<void>;
}

/**
 * Durable jobs on pg-boss: they survive crashes and restarts, retry with
 * backoff, and a cron fires once across every replica. Handlers register in
 * their module's `onModuleInit`; the queue starts once the application has
 * booted, and only in processes with `jobs.work` (commands enqueue, never work).
 * Handlers must be idempotent: a job may run again after a crash.
 */
@Injectable()
export class JobQueue implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(JobQueue.name);
  private readonly queues = new Map<string, QueueDefinition<object>>();
  /** This process's worker per queue, to wake it when work arrives. */
  private readonly workers = new Map<string, string>();
  private boss?: PgBoss;
  private starting?: Promise<PgBoss>;
  /** Set when shutdown begins: batches fetched from then on are handed back, not run. */
  private closing = false;
  /** Batches being handled now, so shutdown can wait for the last one to end. */
  private readonly inFlight = new Set<Promise<void>>();

  private readonly completed: Counter<'queue'>;
  private readonly failed: Counter<'queue'>;
  /** One read of pg-boss's table serves every queue gauge of a scrape. */
  private loadRead?: { at: number; rows: Promise<QueueLoad[]> };

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    metrics: Metrics,
    orm: MikroORM,
  ) {
    this.completed = metrics.counter(
      'groundwork_jobs_completed_total',
      'Jobs this process handled successfully, by queue',
      ['queue'],
    );
    this.failed = metrics.counter(
      'groundwork_jobs_failed_total',
      'Jobs whose handler failed in this process (each failure counts; pg-boss retries), by queue',
      ['queue'],
    );
    const em = orm.em as EntityManager;
    const timeoutMs = config.database.healthTimeoutMs;
    const load = () => this.readLoad(em, timeoutMs);
    metrics.gauge(
      'groundwork_jobs',
      'Jobs due or running, by queue and state (created, retry: waiting for a worker; active: running)',
      ['queue', 'state'],
      async (gauge) => {
        const rows = await load();
        gauge.reset();
        for (const row of rows) {
          gauge.set({ queue: row.queue, state: 'created' }, row.created);
          gauge.set({ queue: row.queue, state: 'retry' }, row.retry);
          gauge.set({ queue: row.queue, state: 'active' }, row.active);
        }
      },
    );
    metrics.gauge(
      'groundwork_jobs_scheduled',
      'Jobs waiting for a later start time, by queue (not backlog)',
      ['queue'],
      async (gauge) => {
        const rows = await load();
        gauge.reset();
        for (const row of rows) gauge.set({ queue: row.queue }, row.scheduled);
      },
    );
    metrics.gauge(
      'groundwork_job_oldest_waiting_seconds',
      'How long the oldest due job of each queue has waited for a worker (0: none waiting)',
      ['queue'],
      async (gauge) => {
        const rows = await load();
        gauge.reset();
        for (const row of rows) gauge.set({ queue: row.queue }, row.oldestWaitingSeconds);
      },
    );
  }

  define<Data extends object>(definition: QueueDefinition<Data>): void {
    if (this.boss) throw new Error(`Queue ${definition.name} defined after the job queue started`);
    this.queues.set(definition.name, definition);
  }

  async onApplicationBootstrap(): Promise<void> {
    // Commands only enqueue, and connect when they first do.
    if (this.config.jobs.work) await this.start();
  }

  /** Enqueues a job; returns its id, or null when a job with the same singleton key is already queued. */
  async send<Data extends object>(
    name: string,
    data: Data,
    options: { singletonKey?: string; startAfter?: Date } = {},
  ): Promise<string | null> {
    // After shutdown began, start() would boot a new pg-boss that nothing stops.
    if (this.closing && !this.boss)
      throw new Error(`The job queue is shut down (${name} not sent)`);
    const boss = await this.start();
    if (!this.queues.has(name)) throw new Error(`Unknown queue ${name}`);
    const id = await boss.send(name, data, options);
    // Start it here at once rather than at this worker's next poll.
    const worker = this.workers.get(name);
    if (id && worker && !options.startAfter) boss.notifyWorker(worker);
    return id;
  }

  /** Every defined queue's load (zeros included, so a queue's series never vanish), read at most once a second. */
  private readLoad(em: EntityManager, timeoutMs: number): Promise<QueueLoad[]> {
    const now = Date.now();
    if (this.loadRead && now - this.loadRead.at < 1000) return this.loadRead.rows;
    const rows = withDeadline(
      em.getConnection().execute<QueueLoad[]>(
        `select q.name as queue,
                count(*) filter (where j.state = 'created' and j.start_after <= now())::int as created,
                count(*) filter (where j.state = 'retry' and j.start_after <= now())::int as retry,
                count(*) filter (where j.state = 'active')::int as active,
                count(*) filter (where j.state < 'active' and j.start_after > now())::int as scheduled,
                coalesce(extract(epoch from now() - min(j.start_after)
                  filter (where j.state < 'active' and j.start_after <= now())), 0)::float8
                  as "oldestWaitingSeconds"
           from unnest(string_to_array(?, ',')) as q(name)
           left join ${JOB_SCHEMA}.job j on j.name = q.name and j.state <= 'active'
          group by q.name`,
        // Queue names are dotted words, never commas.
        [[...this.queues.keys()].join(',')],
      ),
      timeoutMs,
      'reading the job queues',
    );
    this.loadRead = { at: now, rows };
    return rows;
  }

  private start(): Promise<PgBoss> {
    this.starting ??= this.boot();
    return this.starting;
  }

  private async boot(): Promise<PgBoss> {
    const url = this.config.database.url?.reveal();
    if (!url) throw new Error('The database URL must be resolved before the job queue starts');
    const work = this.config.jobs.work;
    // pg-boss hands its options to pg.Pool as they are; its types omit the pool's own.
    const options: PgBoss.ConstructorOptions & { connectionTimeoutMillis: number } = {
      connectionString: url,
      ssl: sslFromUrl(url),
      schema: JOB_SCHEMA,
      application_name: 'groundwork-jobs',
      max: 3,
      // As the ORM's pool: a connection attempt to an unreachable database
      // fails instead of hanging the worker loop (and shutdown) for good.
      connectionTimeoutMillis: 5_000,
      // Maintenance and cron evaluation only where jobs are worked.
      supervise: work,
      schedule: work,
    };
    const boss = new PgBoss(options);
    boss.on('error', (error) => this.logger.error({ err: error }, 'job queue error'));
    await boss.start();
    for (const queue of this.queues.values()) {
      await boss.createQueue(queue.name, {
        name: queue.name,
        policy: queue.policy ?? 'standard',
        retryLimit: queue.retryLimit ?? 5,
        retryDelay: queue.retryDelaySeconds ?? 5,
        retryBackoff: true,
        expireInSeconds: queue.expireInSeconds ?? 15 * 60,
      });
    }
    if (work) {
      for (const queue of this.queues.values()) {
        const batchSize = queue.batchSize ?? 10;
        const worker = await boss.work<object>(
          queue.name,
          { batchSize, pollingIntervalSeconds: queue.pollingIntervalSeconds ?? 2 },
          (jobs) => this.track(queue, boss, batchSize, jobs),
        );
        this.workers.set(queue.name, worker);
        if (queue.cron) await boss.schedule(queue.name, queue.cron, {}, { tz: 'UTC' });
      }
    }
    this.boss = boss;
    return boss;
  }

  /** Handles one fetched batch, counted so that shutdown waits for it. */
  private track(
    queue: QueueDefinition<object>,
    boss: PgBoss,
    batchSize: number,
    jobs: PgBoss.Job<object>[],
  ): Promise<void> {
    if (this.closing) {
      // Fetched as shutdown began: thrown back, pg-boss retries the batch elsewhere.
      return Promise.reject(new Error('the job queue is shutting down'));
    }
    const run = this.handleBatch(queue, boss, batchSize, jobs);
    this.inFlight.add(run);
    return run.finally(() => this.inFlight.delete(run));
  }

  private async handleBatch(
    queue: QueueDefinition<object>,
    boss: PgBoss,
    batchSize: number,
    jobs: PgBoss.Job<object>[],
  ): Promise<void> {
    // One job's failure retries that job only; the rest of the batch completes.
    const handleOne = async (job: PgBoss.Job<object>): Promise<void> => {
      try {
        await queue.handle(job.data, { id: job.id });
        this.completed.inc({ queue: queue.name });
      } catch (error) {
        this.failed.inc({ queue: queue.name });
        this.logger.warn(
          { err: error, queue: queue.name, jobId: job.id },
          'job failed; it will be retried',
        );
        await boss.fail(queue.name, job.id, {
          message: error instanceof Error ? error.message : String(error),
        });
      }
    };
    // `concurrency` lanes; the batch ends (for shutdown's wait) only when every lane has.
    await inLanes(jobs, queue.concurrency ?? 1, handleOne);
    // A full batch means more is waiting: fetch again without the polling pause.
    const self = this.workers.get(queue.name);
    if (jobs.length === batchSize && self) boss.notifyWorker(self);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    if (!this.starting) return;
    const boss = await this.starting.catch(() => undefined);
    if (boss) {
      // Stop fetching while pg-boss's pool is still open. A worker waiting for one of its
      // three connections would otherwise wait out the connection timeout (5 s) on the pool
      // stop() ends, outliving the application, with pg-boss's loop that watches it.
      await Promise.all([...this.workers.keys()].map((name) => boss.offWork(name)));
      await sleep(WORKERS_SETTLE_MS);
    }
    // Let running handlers finish (they use the ORM, which closes after this).
    await boss?.stop({ graceful: true, wait: true, timeout: SHUTDOWN_WAIT_MS });
    // pg-boss waits for the jobs it knows are running; a batch fetched as it stopped is ours
    // to wait for, or a worker loop outlives the application (and its timers fire after it).
    if (this.inFlight.size > 0) {
      const timer = new AbortController();
      await Promise.race([
        Promise.allSettled([...this.inFlight]).finally(() => timer.abort()),
        sleep(SHUTDOWN_WAIT_MS, undefined, { signal: timer.signal }).catch(() => undefined),
      ]);
    }
  }
}

@Global()
@Module({ providers: [JobQueue], exports: [JobQueue] })
export class JobsModule {}
