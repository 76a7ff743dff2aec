import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { OutboxMessage, OutboxStatus } from './entities/outbox-message.entity';
import { MAIL_SEND_TIMEOUT_MS, MailTransport } from './mail-transport';
import { afterFailedAttempt } from './outbox-retry';

/** Messages claimed per round; small, so a claim never outlives its lease. */
export const OUTBOX_BATCH_SIZE = 10;

/**
 * How long a claimed (`sending`) message belongs to its worker. A worker that
 * crashed mid-send leaves it `sending`; once the lease is over any worker may
 * claim it again (the mail may then go out twice: delivery is at least once).
 */
export const OUTBOX_LEASE_MS = 5 * 60_000;

interface Claim {
  id: string;
  to: string;
  subject: string;
  text: string;
  html: string | null;
  template: string;
  /** Attempts after this claim; with `status = sending` it proves the claim is still ours. */
  attempts: number;
}

// One statement: pick due rows nobody else holds (skip locked: replicas never
// wait for or take each other's rows), mark them `sending` with a lease, and
// count the attempt now, so a message that kills its worker still runs out.
const CLAIM_SQL = `with due as (
  select id from platform.outbox
   where status in (?, ?) and next_attempt_at <= ?::timestamptz
   order by next_attempt_at
   limit ?
   for update skip locked
)
update platform.outbox as o
   set status = ?, attempts = o.attempts + 1, next_attempt_at = ?::timestamptz
  from due
 where o.id = due.id
returning o.id, o."to", o.subject, o.text, o.html, o.template, o.attempts`;

/**
 * Delivers the outbox. Runs in every replica when SMTP_URL is set: every
 * `OUTBOX_POLL_MS` it claims a small batch of due messages and sends them one
 * by one through the mail transport. On shutdown it finishes the message in
 * flight, hands the rest of its batch back, and only then lets the database close.
 */
@Injectable()
export class OutboxWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(OutboxWorker.name);
  private state: 'idle' | 'running' | 'stopping' = 'idle';
  private timer?: NodeJS.Timeout;
  private round?: Promise<unknown>;
  private stopping?: Promise<void>;

  constructor(
    private readonly em: EntityManager,
    private readonly transport: MailTransport,
    private readonly clock: Clock,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  get running(): boolean {
    return this.state === 'running';
  }

  onApplicationBootstrap(): void {
    if (this.config.mail.smtpUrl && this.config.mail.deliver) this.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'running';
    const smtp = this.config.mail.smtpUrl ? new URL(this.config.mail.smtpUrl.reveal()).host : '-';
    this.logger.log({ smtp, pollMs: this.config.mail.outboxPollMs }, 'Outbox worker started');
    // The first round waits one interval: on a first start, migrations run after bootstrap.
    this.schedule(this.config.mail.outboxPollMs);
  }

  /** Stops polling; resolves once the message in flight is settled and the rest of its batch released. */
  stop(): Promise<void> {
    if (this.state === 'running') {
      this.state = 'stopping';
      clearTimeout(this.timer);
      this.timer = undefined;
      this.stopping = (async () => {
        await this.round;
        this.transport.close();
        this.state = 'idle';
        this.logger.log('Outbox worker stopped');
      })();
    }
    return this.stopping ?? Promise.resolve();
  }

  /**
   * One round: claims up to a batch of due messages and delivers them.
   * Returns how many were claimed. Safe to call beside the loop, from any
   * number of processes: each message is claimed by one of them.
   */
  async deliverDue(): Promise<number> {
    const { claims, leaseUntil } = await this.claim();
    // Past this point a slow send could outlast the claim and race another worker.
    const lastStart = leaseUntil.getTime() - MAIL_SEND_TIMEOUT_MS;
    for (let i = 0; i < claims.length; i++) {
      if (this.state === 'stopping' || this.clock.now().getTime() > lastStart) {
        await this.release(claims.slice(i));
        break;
      }
      await this.deliver(claims[i]);
    }
    return claims.length;
  }

  private schedule(delayMs: number): void {
    if (this.state !== 'running') return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const round = this.deliverDue().then(
        (claimed) => claimed,
        (error: unknown) => {
          this.logger.warn({ err: error }, 'Outbox round failed; trying again next interval');
          return 0;
        },
      );
      this.round = round;
      void round.then((claimed) => {
        if (this.round === round) this.round = undefined;
        // A full batch means more may be due: go on at once instead of waiting.
        this.schedule(claimed >= OUTBOX_BATCH_SIZE ? 0 : this.config.mail.outboxPollMs);
      });
    }, delayMs);
    // Waiting for the next round never keeps the process alive.
    this.timer.unref();
  }

  private async claim(): Promise<{ claims: Claim[]; leaseUntil: Date }> {
    const now = this.clock.now();
    const leaseUntil = new Date(now.getTime() + OUTBOX_LEASE_MS);
    const rows = await this.em
      .fork()
      .execute<Claim[]>(CLAIM_SQL, [
        OutboxStatus.Pending,
        OutboxStatus.Sending,
        now.toISOString(),
        OUTBOX_BATCH_SIZE,
        OutboxStatus.Sending,
        leaseUntil.toISOString(),
      ]);
    return { claims: rows.map((row) => ({ ...row, attempts: Number(row.attempts) })), leaseUntil };
  }

  private async deliver(claim: Claim): Promise<void> {
    const started = performance.now();
    try {
      await this.transport.send(claim);
    } catch (error) {
      await this.recordFailure(claim, error);
      return;
    }
    const updated = await this.em
      .fork()
      .nativeUpdate(
        OutboxMessage,
        { id: claim.id, status: OutboxStatus.Sending, attempts: claim.attempts },
        { status: OutboxStatus.Sent, sentAt: this.clock.now() },
      );
    if (updated === 0) {
      this.logger.warn(
        { outboxId: claim.id, template: claim.template },
        'Mail sent after its claim expired; another worker may have sent it too',
      );
      return;
    }
    this.logger.log(
      {
        outboxId: claim.id,
        template: claim.template,
        attempts: claim.attempts,
        ms: Math.round(performance.now() - started),
      },
      'Mail sent',
    );
  }

  private async recordFailure(claim: Claim, error: unknown): Promise<void> {
    const now = this.clock.now();
    const decision = afterFailedAttempt(claim.attempts, now);
    const lastError = (error instanceof Error ? error.message : String(error)).slice(0, 1000);
    const updated = await this.em
      .fork()
      .nativeUpdate(
        OutboxMessage,
        { id: claim.id, status: OutboxStatus.Sending, attempts: claim.attempts },
        decision.status === 'failed'
          ? { status: OutboxStatus.Failed, lastError }
          : { status: OutboxStatus.Pending, nextAttemptAt: decision.nextAttemptAt, lastError },
      );
    const context = {
      outboxId: claim.id,
      template: claim.template,
      attempts: claim.attempts,
      error: lastError,
    };
    if (updated === 0) {
      this.logger.warn(context, 'Mail not sent, and its claim had expired; left to its new owner');
    } else if (decision.status === 'failed') {
      this.logger.error(context, 'Mail failed for good after its last attempt');
    } else {
      this.logger.warn(
        { ...context, nextAttemptAt: decision.nextAttemptAt.toISOString() },
        'Mail not sent; will try again',
      );
    }
  }

  /** Hands claimed but unsent messages back, due at once and without the attempt they did not make. */
  private async release(claims: Claim[]): Promise<void> {
    const now = this.clock.now();
    const em = this.em.fork();
    for (const claim of claims) {
      await em.nativeUpdate(
        OutboxMessage,
        { id: claim.id, status: OutboxStatus.Sending, attempts: claim.attempts },
        { status: OutboxStatus.Pending, attempts: claim.attempts - 1, nextAttemptAt: now },
      );
    }
  }
}
