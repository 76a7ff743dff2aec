import { Injectable } from '@nestjs/common';
import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { ClsService } from 'nestjs-cls';
import { AccessErrorCode, AccessException } from '../../access/access.exception';
import { narrow } from '../../access/accessible-by';
import { TenantRole } from '../../access/roles';
import { Clock } from '../../common/clock';
import { RequestStore } from '../../common/request-store';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { User } from '../../identity/entities/user.entity';
import { randomToken, tokenHash as hash } from '../../identity/secret-token';
import { OutboxService } from '../../notifications/outbox.service';
import { AuditService } from '../audit/audit.service';
import { Invitation } from '../entities/invitation.entity';
import { Membership } from '../entities/membership.entity';
import { Tenant } from '../entities/tenant.entity';
import { TenancyErrorCode, TenancyException } from '../tenancy.exception';
import { TenantContext } from '../tenant-context';
import { CreateInvitationDto, InvitationDto } from './invitation.dto';
import { SeatLimit } from './seat-limit';

const TTL_MS = 7 * 24 * 3600_000;

/** Invitations to the current organisation: create, list, revoke, resend; and redeeming one. */
@Injectable()
export class InvitationService {
  constructor(
    private readonly em: EntityManager,
    private readonly tenantContext: TenantContext,
    private readonly outbox: OutboxService,
    private readonly audit: AuditService,
    private readonly seats: SeatLimit,
    private readonly cls: ClsService<RequestStore>,
    private readonly clock: Clock,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async create(dto: CreateInvitationDto, invitedBy: string): Promise<InvitationDto> {
    const tenant = this.tenantContext.tenant;
    const email = dto.email.trim().normalize('NFKC').toLowerCase();
    this.assertMayInvite(dto.role);
    return this.tenantContext.em.transactional(async (em) => {
      // Serialise invitations of one tenant so the seat count cannot be raced past.
      await em.execute('select pg_advisory_xact_lock(hashtext(?))', [
        `groundwork:seats:${tenant.id}`,
      ]);
      const user = await em.findOne(User, { email }, { fields: ['id'] });
      if (user && (await em.count(Membership, { tenantId: tenant.id, userId: user.id }))) {
        throw new TenancyException(TenancyErrorCode.AlreadyMember, `${email} is already a member.`);
      }
      const now = this.clock.now();
      if (await em.count(Invitation, this.pendingWhere(tenant.id, now, { email }))) {
        throw new TenancyException(
          TenancyErrorCode.InvitationPending,
          `${email} already has a pending invitation; resend it instead.`,
        );
      }
      await this.assertSeatAvailable(em, tenant.id, now);
      const token = randomToken();
      const invitation = em.create(Invitation, {
        tenantId: tenant.id,
        email,
        role: dto.role,
        tokenHash: hash(token),
        invitedBy,
        createdAt: now,
        expiresAt: new Date(now.getTime() + TTL_MS),
      });
      await this.mail(em, invitation, token);
      this.audit.record(
        {
          action: 'invitation.created',
          target: { type: 'invitation', id: invitation.id },
          data: { email, role: dto.role },
        },
        em,
      );
      return toDto(invitation, now);
    });
  }

  async list(): Promise<InvitationDto[]> {
    const rows = await this.tenantContext.em.find(
      Invitation,
      // The request's ability narrows (no ability: a trusted internal caller).
      narrow(
        { tenantId: this.tenantContext.tenant.id, acceptedAt: null },
        this.cls.get('ability'),
        'read',
        'Invitation',
      ),
      { orderBy: { createdAt: 'desc', id: 'desc' } },
    );
    const now = this.clock.now();
    return rows.map((row) => toDto(row, now));
  }

  async revoke(id: string): Promise<void> {
    await this.tenantContext.em.transactional(async (em) => {
      const row = await this.load(em, id);
      this.assertMayInvite(row.role);
      if (row.revokedAt || row.acceptedAt) return;
      row.revokedAt = this.clock.now();
      this.audit.record(
        {
          action: 'invitation.revoked',
          target: { type: 'invitation', id },
          data: { email: row.email },
        },
        em,
      );
    });
  }

  /** A new link (the old one stops working) and a new week to use it. */
  async resend(id: string): Promise<InvitationDto> {
    return this.tenantContext.em.transactional(async (em) => {
      const row = await this.load(em, id);
      this.assertMayInvite(row.role);
      if (row.revokedAt || row.acceptedAt) {
        throw new TenancyException(
          TenancyErrorCode.InvitationClosed,
          'This invitation was already accepted or revoked.',
        );
      }
      const now = this.clock.now();
      const token = randomToken();
      row.tokenHash = hash(token);
      row.expiresAt = new Date(now.getTime() + TTL_MS);
      await this.mail(em, row, token);
      this.audit.record(
        {
          action: 'invitation.resent',
          target: { type: 'invitation', id },
          data: { email: row.email },
        },
        em,
      );
      return toDto(row, now);
    });
  }

  /**
   * Redeems a token inside the caller's transaction (identity creates or
   * signs in the user): checks it, marks the invitation accepted.
   */
  async redeem(em: EntityManager, token: string): Promise<Invitation> {
    const row = await em.findOne(
      Invitation,
      { tokenHash: hash(token) },
      { lockMode: LockMode.PESSIMISTIC_WRITE },
    );
    const now = this.clock.now();
    if (!row || row.revokedAt || row.acceptedAt) {
      throw new TenancyException(
        TenancyErrorCode.InvitationInvalid,
        'This invitation is not valid or was already used.',
      );
    }
    if (row.expiresAt <= now) {
      throw new TenancyException(
        TenancyErrorCode.InvitationExpired,
        'This invitation has expired; ask for a new one.',
      );
    }
    row.acceptedAt = now;
    return row;
  }

  /** Seats taken: members plus invitations still open (billing checks a seat decrease against it). */
  async seatsInUse(
    em: EntityManager,
    tenantId: string,
    now: Date = this.clock.now(),
  ): Promise<number> {
    return (
      (await em.count(Membership, { tenantId })) +
      (await em.count(Invitation, this.pendingWhere(tenantId, now)))
    );
  }

  private async assertSeatAvailable(em: EntityManager, tenantId: string, now: Date): Promise<void> {
    const limit = await this.seats.limitFor(tenantId);
    if (limit === undefined) return;
    const used = await this.seatsInUse(em, tenantId, now);
    if (used >= limit) {
      throw new TenancyException(
        TenancyErrorCode.SeatLimitReached,
        `Your plan allows ${limit} seats and all are taken.`,
      );
    }
  }

  private pendingWhere(tenantId: string, now: Date, extra: Record<string, unknown> = {}) {
    return { tenantId, acceptedAt: null, revokedAt: null, expiresAt: { $gt: now }, ...extra };
  }

  /** Only owners (and platform admins) invite owners, or manage their invitations. */
  private assertMayInvite(role: TenantRole): void {
    if (role !== TenantRole.Owner) return;
    const callerRole = this.cls.get('tenantAccess')?.role;
    if (callerRole === TenantRole.Owner || this.cls.get('ability')?.can('manage', 'all')) return;
    throw new AccessException(AccessErrorCode.Forbidden, 'Only an owner can invite an owner.');
  }

  private async mail(em: EntityManager, invitation: Invitation, token: string): Promise<void> {
    const tenant = await em.findOneOrFail(
      Tenant,
      { id: invitation.tenantId },
      { fields: ['name'] },
    );
    this.outbox.enqueue(em, {
      to: invitation.email,
      subject: `You are invited to ${tenant.name} on Groundwork`,
      text:
        `You have been invited to join ${tenant.name} as ${invitation.role.replace('_', ' ')}.\n\n` +
        `Accept within 7 days: ${this.config.http.publicUrl}/accept-invitation?token=${token}\n`,
      template: 'tenant.invitation',
      tenantId: invitation.tenantId,
    });
  }

  private load = async (em: EntityManager, id: string): Promise<Invitation> => {
    const row = await em.findOne(Invitation, { id, tenantId: this.tenantContext.tenant.id });
    if (!row)
      throw new TenancyException(
        TenancyErrorCode.InvitationNotFound,
        `No invitation ${id} in this organisation.`,
      );
    return row;
  };
}

function toDto(row: Invitation, now: Date): InvitationDto {
  const status = row.acceptedAt
    ? 'accepted'
    : row.revokedAt
      ? 'revoked'
      : row.expiresAt <= now
        ? 'expired'
        : 'pending';
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    status,
    invitedBy: row.invitedBy,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
  };
}
