import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { CommonException } from '../common/errors/common.exception';
import { FieldError } from '../common/errors/domain.exception';
import { toPage } from '../common/http/pagination';
import { AuditService } from '../tenancy/audit/audit.service';
import {
  AdminFeedbackDto,
  FeedbackFilterQuery,
  FeedbackPageDto,
  FeedbackPeriodQuery,
  FeedbackSummaryDto,
  ListFeedbackQuery,
} from './dtos/feedback.dto';
import { FeedbackErrorCode, FeedbackException } from './feedback.exception';
import { FeedbackCategory, FeedbackContext, FeedbackKind } from './feedback-rules';
import { csvRow } from './feedback-csv';
import { ScoreCount, summarize } from './feedback-summary';

/** Rows per keyset page of the CSV export: memory stays bounded whatever the row count. */
export const EXPORT_PAGE_SIZE = 1000;

export const CSV_COLUMNS = [
  'id',
  'created_at',
  'tenant_id',
  'tenant_slug',
  'user_id',
  'kind',
  'score',
  'category',
  'message',
  'context',
] as const;

interface FeedbackRow {
  id: string;
  tenant_id: string;
  tenant_slug: string;
  user_id: string;
  kind: FeedbackKind;
  score: number;
  category: FeedbackCategory;
  message: string | null;
  context: FeedbackContext;
  created_at: Date | string;
}

interface Position {
  createdAt: Date;
  id: string;
}

const SELECT = `select f.id, f.tenant_id, t.slug as tenant_slug, f.user_id, f.kind, f.score,
                       f.category, f.message, f.context, f.created_at
                  from platform.feedback f
                  join platform.tenant t on t.id = f.tenant_id`;

/** `%`, `_` and `\` match themselves in the ILIKE pattern. */
const likePattern = (q: string) => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** The WHERE clauses (and their parameters) for a set of filters. */
function filterSql(filters: Partial<FeedbackFilterQuery>): {
  clauses: string[];
  params: unknown[];
} {
  const problems: FieldError[] = [];
  if (filters.from && filters.to && filters.from >= filters.to) {
    problems.push({ field: 'to', message: 'to must be later than from' });
  }
  if (
    filters.minScore !== undefined &&
    filters.maxScore !== undefined &&
    filters.minScore > filters.maxScore
  ) {
    problems.push({ field: 'maxScore', message: 'maxScore must not be below minScore' });
  }
  if (problems.length) throw CommonException.validation(problems);
  const clauses: string[] = [];
  const params: unknown[] = [];
  const add = (clause: string, value: unknown) => {
    clauses.push(clause);
    params.push(value);
  };
  if (filters.tenantId) add('f.tenant_id = ?', filters.tenantId);
  if (filters.kind) add('f.kind = ?', filters.kind);
  if (filters.category) add('f.category = ?', filters.category);
  if (filters.minScore !== undefined) add('f.score >= ?', filters.minScore);
  if (filters.maxScore !== undefined) add('f.score <= ?', filters.maxScore);
  if (filters.from) add('f.created_at >= ?', filters.from);
  if (filters.to) add('f.created_at < ?', filters.to);
  if (filters.q) add(`f.message ilike ? escape '\\'`, likePattern(filters.q));
  return { clauses, params };
}

const toDto = (row: FeedbackRow): AdminFeedbackDto => ({
  id: row.id,
  tenantId: row.tenant_id,
  tenantSlug: row.tenant_slug,
  userId: row.user_id,
  kind: row.kind,
  score: Number(row.score),
  category: row.category,
  message: row.message,
  context: row.context ?? {},
  createdAt: new Date(row.created_at),
});

/** The operator's reading of feedback across every organisation: one query each, no tenant schema. */
@Injectable()
export class AdminFeedbackService {
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditService,
  ) {}

  /** Newest first (time given, then id), keyset-paginated. */
  async list(query: ListFeedbackQuery): Promise<FeedbackPageDto> {
    const em = this.em.fork();
    const after = query.cursor ? { cursor: query.cursor } : undefined;
    const rows = await this.page(em, query, after, query.limit + 1);
    // One statement per page; only an empty page asks whether its cursor was one of ours.
    if (rows.length === 0 && query.cursor) await this.assertCursor(em, query.cursor);
    return toPage(rows, query.limit, toDto);
  }

  /** Counts per kind and category, the average rating and the NPS over a period. */
  async summary(query: FeedbackPeriodQuery): Promise<FeedbackSummaryDto> {
    const { clauses, params } = filterSql({
      tenantId: query.tenantId,
      from: query.from,
      to: query.to,
    });
    const rows = await this.em
      .fork()
      .execute<{ kind: FeedbackKind; score: number; category: FeedbackCategory; count: string }[]>(
        `select f.kind, f.score, f.category, count(*) as count
           from platform.feedback f
          ${clauses.length ? `where ${clauses.join(' and ')}` : ''}
          group by f.kind, f.score, f.category`,
        params,
      );
    const groups: ScoreCount[] = rows.map((r) => ({
      kind: r.kind,
      score: Number(r.score),
      category: r.category,
      count: Number(r.count),
    }));
    return FeedbackSummaryDto.from(summarize(groups));
  }

  /**
   * The export as CSV text, a keyset page at a time (EXPORT_PAGE_SIZE rows):
   * only one page is ever in memory. Checks the filters and records the export
   * in the platform audit log before the first byte, so a refused export
   * fails as a problem response rather than as a broken download.
   */
  async export(filters: FeedbackFilterQuery): Promise<AsyncIterable<string>> {
    filterSql(filters);
    const em = this.em.fork();
    this.audit.recordPlatform(
      {
        action: 'feedback.exported',
        tenantId: filters.tenantId ?? null,
        data: { filters: describeFilters(filters) },
      },
      em,
    );
    await em.flush();
    return this.csvChunks(filters);
  }

  private async *csvChunks(filters: FeedbackFilterQuery): AsyncIterable<string> {
    yield csvRow(CSV_COLUMNS);
    let after: Position | undefined;
    for (;;) {
      // A fresh fork per page: raw rows never enter an identity map, and nothing accumulates.
      const rows = await this.page(this.em.fork(), filters, after, EXPORT_PAGE_SIZE);
      if (rows.length === 0) return;
      let chunk = '';
      for (const row of rows) {
        const dto = toDto(row);
        chunk += csvRow([
          dto.id,
          dto.createdAt.toISOString(),
          dto.tenantId,
          dto.tenantSlug,
          dto.userId,
          dto.kind,
          dto.score,
          dto.category,
          dto.message,
          JSON.stringify(dto.context),
        ]);
      }
      yield chunk;
      if (rows.length < EXPORT_PAGE_SIZE) return;
      const last = rows[rows.length - 1];
      after = { createdAt: new Date(last.created_at), id: last.id };
    }
  }

  /** Rows after a position: a row seen last (the export) or a cursor id (the list, looked up in SQL). */
  private page(
    em: EntityManager,
    filters: Partial<FeedbackFilterQuery>,
    after: Position | { cursor: string } | undefined,
    limit: number,
  ): Promise<FeedbackRow[]> {
    const { clauses, params } = filterSql(filters);
    if (after && 'cursor' in after) {
      clauses.push(
        '(f.created_at, f.id) < (select c.created_at, c.id from platform.feedback c where c.id = ?)',
      );
      params.push(after.cursor);
    } else if (after) {
      clauses.push('(f.created_at, f.id) < (?, ?)');
      params.push(after.createdAt, after.id);
    }
    return em.execute<FeedbackRow[]>(
      `${SELECT}
       ${clauses.length ? `where ${clauses.join(' and ')}` : ''}
       order by f.created_at desc, f.id desc
       limit ?`,
      [...params, limit],
    );
  }

  /** Refuses a cursor that is no feedback's id (a page after it would silently be empty). */
  private async assertCursor(em: EntityManager, cursor: string): Promise<void> {
    const [row] = await em.execute<{ id: string }[]>(
      'select id from platform.feedback where id = ?',
      [cursor],
    );
    if (!row) {
      throw new FeedbackException(
        FeedbackErrorCode.CursorInvalid,
        'cursor is not the nextCursor of a feedback page.',
      );
    }
  }
}

/** The filters as the audit log keeps them (dates as ISO strings, absent ones left out). */
function describeFilters(filters: FeedbackFilterQuery): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(filters)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => [key, value instanceof Date ? value.toISOString() : value]),
  );
}
