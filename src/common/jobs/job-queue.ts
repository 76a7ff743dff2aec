import {
  BeforeApplicationShutdown,
  Global,
  Injectable,
  Logger,
  Module,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import PgBoss from 'pg-boss';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { sslFromUrl } from '../../database/orm.config';

/** How long shutdown waits for running handlers. */
const SHUTDOWN_WAIT_MS = 20_000;

/** pg-boss keeps its tables here, beside `platform`. */
export const JOB_SCHEMA = 'pgboss';

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
  /** Jobs fetched per poll (default 10); each is handled one after another. */
  batchSize?: number;
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

  constructor(@InjectConfig() private readonly config: AppConfig) {}

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
    const boss = await this.start();
    if (!this.queues.has(name)) throw new Error(`Unknown queue ${name}`);
    const id = await boss.send(name, data, options);
    // Start it here at once rather than at this worker's next poll.
    const worker = this.workers.get(name);
    if (id && worker && !options.startAfter) boss.notifyWorker(worker);
    return id;
  }

  /** Queued (not yet running) jobs of a queue: the backlog metric. */
  async depth(name: string): Promise<number> {
    const boss = await this.start();
    return boss.getQueueSize(name);
  }

  private start(): Promise<PgBoss> {
    this.starting ??= this.boot();
    return this.starting;
  }

  private async boot(): Promise<PgBoss> {
    const url = this.config.database.url?.reveal();
    if (!url) throw new Error('The database URL must be resolved before the job queue starts');
    const work = this.config.jobs.work;
    const boss = new PgBoss({
      connectionString: url,
      ssl: sslFromUrl(url),
      schema: JOB_SCHEMA,
      application_name: 'groundwork-jobs',
      max: 3,
      // Maintenance and cron evaluation only where jobs are worked.
      supervise: work,
      schedule: work,
    });
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
    for (const job of jobs) {
      try {
        await queue.handle(job.data, { id: job.id });
      } catch (error) {
        this.logger.warn(
          { err: error, queue: queue.name, jobId: job.id },
          'job failed; it will be retried',
        );
        await boss.fail(queue.name, job.id, {
          message: error instanceof Error ? error.message : String(error),
        });
      }
    }
    // A full batch means more is waiting: fetch again without the polling pause.
    const self = this.workers.get(queue.name);
    if (jobs.length === batchSize && self) boss.notifyWorker(self);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    if (!this.starting) return;
    const boss = await this.starting.catch(() => undefined);
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
