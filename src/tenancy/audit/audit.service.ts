import { Injectable } from '@nestjs/common';
import { toPage } from '../../common/http/pagination';
import { EntityManager } from '@mikro-orm/postgresql';
import { ClsService } from 'nestjs-cls';
import { narrow } from '../../access/accessible-by';
import { Clock } from '../../common/clock';
import { RequestStore } from '../../common/request-store';
import { AuditEventDto, AuditEventPageDto, ListAuditEventsQuery } from '../dtos/audit-event.dto';
import { TenantContextMissingError } from '../tenancy.exception';
import { TenantContext } from '../tenant-context';
import { AuditActorType, AuditEvent } from './audit-event.entity';
import { PlatformAuditEvent } from './platform-audit-event.entity';

export interface AuditEntry {
  /** Dotted verb, e.g. `tenant.updated`. */
  action: string;
  target?: { type: string; id: string };
  data?: Record<string, unknown>;
  /** Defaults to the request's actor, or `system` outside a request. */
  actor?: { type: AuditActorType; id?: string };
}

/**
 * The tenant audit log. Modules record through `record()` with the
 * EntityManager of their own unit of work, so the event commits (or rolls
 * back) with the change it describes.
 */
@Injectable()
export class AuditService {
  constructor(
    private readonly tenantContext: TenantContext,
    private readonly cls: ClsService<RequestStore>,
    private readonly clock: Clock,
  ) {}

  record(entry: AuditEntry, em: EntityManager = this.tenantContext.em): AuditEvent {
    // Even with an EntityManager handed in, recording needs a tenant context: fail closed.
    if (!this.tenantContext.hasTenant) throw new TenantContextMissingError('The audit log');
    const inRequest = this.cls.isActive() && this.cls.getId() !== undefined;
    const actor = entry.actor ?? this.currentActor(inRequest);
    return em.create(
      AuditEvent,
      {
        actorType: actor.type,
        actorId: actor.id ?? null,
        action: entry.action,
        targetType: entry.target?.type ?? null,
        targetId: entry.target?.id ?? null,
        requestId: inRequest ? this.cls.getId() : null,
        ip: inRequest ? (this.cls.get('ip') ?? null) : null,
        data: entry.data ?? {},
        at: this.clock.now(),
      },
      // Explicit, so the event lands in the tenant's schema whatever EntityManager carries it.
      { schema: this.tenantContext.tenant.schemaName },
    );
  }

  /**
   * The platform audit log: what staff (or the system) did to a tenant, in the
   * caller's unit of work. Same actor, request id and address as `record()`.
   * `tenantId` is null, explicitly, for changes to the platform itself (the catalog).
   */
  recordPlatform(
    entry: Omit<AuditEntry, 'target'> & { tenantId: string | null },
    em: EntityManager,
  ): PlatformAuditEvent {
    const inRequest = this.cls.isActive() && this.cls.getId() !== undefined;
    const principal = this.cls.isActive() ? this.cls.get('principal') : undefined;
    const actor =
      entry.actor ??
      (principal?.kind === 'user' && principal.platformRole
        ? { type: 'platform_staff' as const, id: principal.userId }
        : this.currentActor(inRequest));
    return em.create(PlatformAuditEvent, {
      actorType: actor.type,
      actorId: actor.id ?? null,
      action: entry.action,
      tenantId: entry.tenantId,
      requestId: inRequest ? this.cls.getId() : null,
      ip: inRequest ? (this.cls.get('ip') ?? null) : null,
      data: entry.data ?? {},
      at: this.clock.now(),
    });
  }

  /** The caller as the request context knows it; `system` outside a request. */
  private currentActor(inRequest: boolean): { type: AuditActorType; id?: string } {
    const principal = this.cls.isActive() ? this.cls.get('principal') : undefined;
    if (principal?.kind === 'api_key') return { type: 'api_key', id: principal.keyId };
    if (principal?.kind === 'user') {
      const asStaff = this.cls.get('tenantAccess')?.asStaff ?? false;
      return { type: asStaff ? 'platform_staff' : 'user', id: principal.userId };
    }
    return { type: inRequest ? 'anonymous' : 'system' };
  }

  /** Newest first, keyset-paginated on the time-ordered id. */
  async list(query: ListAuditEventsQuery): Promise<AuditEventPageDto> {
    const rows = await this.tenantContext.em.find(
      AuditEvent,
      // The request's ability narrows (no ability: a trusted internal caller).
      narrow(
        {
          ...(query.cursor ? { id: { $lt: query.cursor } } : {}),
          ...(query.action ? { action: query.action } : {}),
        },
        this.cls.get('ability'),
        'read',
        'AuditLog',
      ),
      { orderBy: { id: 'desc' }, limit: query.limit + 1 },
    );
    return toPage(rows, query.limit, (event) => AuditEventDto.from(event));
  }
}
