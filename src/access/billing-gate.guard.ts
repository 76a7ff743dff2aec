import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ClsService } from 'nestjs-cls';
import { RequestStore } from '../common/request-store';
import { AccessErrorCode, AccessException } from './access.exception';
import { EntitlementSource } from './entitlements';
import { IS_PUBLIC, OPEN_WHEN_SUSPENDED } from './policies';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The billing gate (after the policies guard): an organisation suspended by
 * payment recovery reads everything and reaches its billing portal, but every
 * other write answers 402 `payment_required` until it pays. Platform staff
 * acting on the organisation are not gated.
 */
@Injectable()
export class BillingGateGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly cls: ClsService<RequestStore>,
    private readonly entitlements: EntitlementSource,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const method = context.switchToHttp().getRequest<{ method: string }>().method;
    if (READS.has(method)) return true;
    const tenant = this.cls.get('tenant');
    if (!tenant) return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(OPEN_WHEN_SUSPENDED, targets)) return true;
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const principal = this.cls.get('principal');
    if (principal?.kind === 'user' && principal.platformRole) return true;
    if (!(await this.entitlements.forTenant(tenant.id)).billingSuspended) return true;
    throw new AccessException(
      AccessErrorCode.PaymentRequired,
      `The organisation "${tenant.slug}" is suspended for an unpaid invoice: it can read its data and pay in the billing portal (GET /v1/billing/invoices), but not make changes until the invoice is paid.`,
    );
  }
}
