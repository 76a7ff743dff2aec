import { Injectable, OnModuleInit } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { Clock } from '../clock';
import { CommonErrorCode, CommonException } from '../errors/common.exception';
import { JobQueue } from '../jobs/job-queue';
import { newId } from '../uuid';
import { IDEMPOTENCY_TTL_MS } from './idempotency';
import { IdempotencyState } from './idempotency-record.entity';

/** What to do with a request that carries an `Idempotency-Key`. */
export type IdempotencyClaim =
  /** First use of the key (or of an expired one): run the request, then `complete` or `release`. */
  | { outcome: 'run'; recordId: string }
  /** The key's request has finished: answer with its response, without running anything. */
  | { outcome: 'replay'; status: number; body: unknown };

interface StoredRow {
  request_hash: string;
  state: IdempotencyState;
  response_status: number | null;
  response_body: unknown;
  has_body: boolean;
}

const TABLE = '"platform"."idempotency_key"';

/**
 * The store behind `Idempotency-Key` (table `platform.idempotency_key`). Each
 * statement commits on its own, outside the request's transactions: the
 * `processing` row must be visible to a concurrent duplicate at once, and it
 * must survive the rollback of a failed handler until it is settled.
 */
@Injectable()
export class IdempotencyService implements OnModuleInit {
  constructor(
    private readonly em: EntityManager,
    private readonly clock: Clock,
    private readonly jobs: JobQueue,
  ) {}

  onModuleInit(): void {
    // Hourly, once across replicas: expired keys would otherwise pile up forever.
    this.jobs.define({
      name: 'idempotency.purge',
      cron: '17 * * * *',
      retryLimit: 0,
      handle: async () => {
        await this.purgeExpired();
      },
    });
  }

  /**
   * Claims `key` for a request. Throws 422 when the key was used for another
   * request, 409 while the first request with it is still running.
   */
  async claim(scope: string, key: string, requestHash: string): Promise<IdempotencyClaim> {
    // A row deleted between our insert and our read (its request failed) is
    // retried; twice is plenty, a third miss would mean a storm of failures.
    for (let attempt = 0; attempt < 3; attempt++) {
      const recordId = await this.insertOrReplaceExpired(scope, key, requestHash);
      if (recordId) return { outcome: 'run', recordId };
      const row = await this.find(scope, key);
      if (!row) continue;
      if (row.request_hash !== requestHash) {
        throw new CommonException(
          CommonErrorCode.IdempotencyKeyReused,
          'This Idempotency-Key was already used for another request (another body or route). ' +
            'Use a new key for a new request.',
        );
      }
      if (row.state === IdempotencyState.Completed && row.response_status !== null) {
        return {
          outcome: 'replay',
          status: row.response_status,
          body: row.has_body ? row.response_body : undefined,
        };
      }
      break;
    }
    throw new CommonException(
      CommonErrorCode.IdempotencyRequestInProgress,
      'A request with this Idempotency-Key is still being processed; retry in a moment to get its response.',
    );
  }

  /** Keeps the response of the claimed request (`body` undefined: no body was sent). */
  async complete(recordId: string, status: number, body: unknown): Promise<void> {
    await this.em
      .getConnection()
      .execute(
        `update ${TABLE} set "state" = ?, "response_status" = ?, "response_body" = ?::jsonb ` +
          `where "id" = ? and "state" = ?`,
        [
          IdempotencyState.Completed,
          status,
          body === undefined ? null : JSON.stringify(body),
          recordId,
          IdempotencyState.Processing,
        ],
        'run',
      );
  }

  /** Forgets the claim, so that the client may retry with the same key. */
  async release(recordId: string): Promise<void> {
    await this.em
      .getConnection()
      .execute(
        `delete from ${TABLE} where "id" = ? and "state" = ?`,
        [recordId, IdempotencyState.Processing],
        'run',
      );
  }

  /** Deletes the keys past their 24 hours; for a periodic job. Returns how many. */
  async purgeExpired(): Promise<number> {
    const result = await this.em
      .getConnection()
      .execute<{ affectedRows: number }>(
        `delete from ${TABLE} where "expires_at" <= ?::timestamptz`,
        [this.clock.now().toISOString()],
        'run',
      );
    return result.affectedRows;
  }

  /**
   * Inserts a `processing` row, or takes over an expired row of the same key;
   * returns the row id, or undefined when a live row holds the key. One
   * statement: two duplicates racing here cannot both win.
   */
  private async insertOrReplaceExpired(
    scope: string,
    key: string,
    requestHash: string,
  ): Promise<string | undefined> {
    const now = this.clock.now();
    const rows = await this.em
      .getConnection()
      .execute<{ id: string }[]>(
        `insert into ${TABLE} as "k" ` +
          `("id", "scope", "key", "request_hash", "state", "created_at", "expires_at") ` +
          `values (?, ?, ?, ?, ?, ?::timestamptz, ?::timestamptz) ` +
          `on conflict ("scope", "key") do update set ` +
          `"id" = excluded."id", "request_hash" = excluded."request_hash", "state" = excluded."state", ` +
          `"response_status" = null, "response_body" = null, ` +
          `"created_at" = excluded."created_at", "expires_at" = excluded."expires_at" ` +
          `where "k"."expires_at" <= excluded."created_at" ` +
          `returning "id"`,
        [
          newId(),
          scope,
          key,
          requestHash,
          IdempotencyState.Processing,
          now.toISOString(),
          new Date(now.getTime() + IDEMPOTENCY_TTL_MS).toISOString(),
        ],
        'all',
      );
    return rows[0]?.id;
  }

  private async find(scope: string, key: string): Promise<StoredRow | undefined> {
    const rows = await this.em
      .getConnection()
      .execute<StoredRow[]>(
        `select "request_hash", "state", "response_status", "response_body", "response_body" is not null as "has_body" from ${TABLE} where "scope" = ? and "key" = ?`,
        [scope, key],
        'all',
      );
    return rows[0];
  }
}
