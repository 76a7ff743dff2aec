import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { ClsService } from 'nestjs-cls';
import { AccessErrorCode, AccessException } from '../../access/access.exception';
import { narrow } from '../../access/accessible-by';
import { TenantRole } from '../../access/roles';
import { Clock } from '../../common/clock';
import { RequestStore } from '../../common/request-store';
import { User } from '../../identity/entities/user.entity';
import { AuditService } from '../audit/audit.service';
import { Membership } from '../entities/membership.entity';
import { TenancyErrorCode, TenancyException } from '../tenancy.exception';
import { TenantContext } from '../tenant-context';
import { MemberDto } from './member.dto';
import { MembershipService } from './membership.service';

/** The current organisation's members: list, change role, remove. */
@Injectable()
export class MemberService {
  constructor(
    private readonly tenantContext: TenantContext,
    private readonly memberships: MembershipService,
    private readonly audit: AuditService,
    private readonly cls: ClsService<RequestStore>,
    private readonly clock: Clock,
  ) {}

  async list(): Promise<MemberDto[]> {
    const em = this.tenantContext.em;
    const rows = await em.find(
      Membership,
      // The request's ability narrows (no ability: a trusted internal caller).
      narrow({ tenantId: this.tenantContext.tenant.id }, this.cls.get('ability'), 'read', 'Member'),
      { orderBy: { createdAt: 'asc', id: 'asc' } },
    );
    const users = new Map(
      (await em.find(User, { id: rows.map((m) => m.userId) })).map((u) => [u.id, u]),
    );
    return rows.map((m) => toDto(m, users.get(m.userId)!));
  }

  async changeRole(userId: string, role: TenantRole): Promise<MemberDto> {
    const { em, membership } = await this.load(userId);
    const member = await em.transactional(async (tx) => {
      const row = await tx.findOneOrFail(Membership, { id: membership.id });
      if (row.role === role) return toDto(row, await tx.findOneOrFail(User, { id: userId }));
      this.assertMayTouchOwners(row.role, role);
      if (row.role === TenantRole.Owner) await this.assertNotLastOwner(tx, 'demote');
      const before = row.role;
      row.role = role;
      row.updatedAt = this.clock.now();
      this.audit.record(
        {
          action: 'member.role_changed',
          target: { type: 'user', id: userId },
          data: { before, after: role },
        },
        tx,
      );
      await tx.flush();
      return toDto(row, await tx.findOneOrFail(User, { id: userId }));
    });
    // After the commit: forgotten earlier, a request in between would cache the old role again.
    this.memberships.forget(membership.tenantId, userId);
    return member;
  }

  async remove(userId: string): Promise<void> {
    const { em, membership } = await this.load(userId);
    await em.transactional(async (tx) => {
      const row = await tx.findOneOrFail(Membership, { id: membership.id });
      this.assertMayTouchOwners(row.role, undefined);
      if (row.role === TenantRole.Owner) await this.assertNotLastOwner(tx, 'remove');
      tx.remove(row);
      this.audit.record(
        {
          action: 'member.removed',
          target: { type: 'user', id: userId },
          data: { role: row.role },
        },
        tx,
      );
      await tx.flush();
    });
    this.memberships.forget(membership.tenantId, userId);
  }

  private async load(userId: string): Promise<{ em: EntityManager; membership: Membership }> {
    const em = this.tenantContext.em;
    const membership = await em.findOne(Membership, {
      tenantId: this.tenantContext.tenant.id,
      userId,
    });
    if (!membership)
      throw new TenancyException(
        TenancyErrorCode.MemberNotFound,
        `No member ${userId} in this organisation.`,
      );
    return { em, membership };
  }

  /** Only owners (and platform admins) may make, change or remove owners. */
  private assertMayTouchOwners(current: TenantRole, next: TenantRole | undefined): void {
    if (current !== TenantRole.Owner && next !== TenantRole.Owner) return;
    const ability = this.cls.get('ability');
    const callerRole = this.cls.get('tenantAccess')?.role;
    if (callerRole === TenantRole.Owner || ability?.can('manage', 'all')) return;
    throw new AccessException(
      AccessErrorCode.Forbidden,
      'Only an owner can change or remove owners.',
    );
  }

  /** Serialised per tenant (row lock on the owners) so two requests cannot remove the last two owners at once. */
  private async assertNotLastOwner(tx: EntityManager, verb: string): Promise<void> {
    const owners = await tx.execute<{ id: string }[]>(
      'select id from platform.membership where tenant_id = ? and role = ? for update',
      [this.tenantContext.tenant.id, TenantRole.Owner],
    );
    if (owners.length <= 1) {
      throw new AccessException(
        AccessErrorCode.LastOwner,
        `You cannot ${verb} the only owner; make someone else owner first.`,
      );
    }
  }
}

function toDto(m: Membership, user: User): MemberDto {
  return {
    userId: m.userId,
    email: user.email,
    name: user.name,
    role: m.role,
    joinedAt: m.createdAt.toISOString(),
  };
}
