import { Injectable } from '@nestjs/common';
import { AbilityBuilder, createMongoAbility, MongoAbility } from '@casl/ability';
import { ApiKeyPrincipal, Principal, TenantAccess } from '../common/principal';
import { Entitlements, FEATURE_GATES } from './entitlements';
import { PlatformRole, TenantRole } from './roles';

export const ACTIONS = ['manage', 'create', 'read', 'update', 'delete'] as const;
export type Action = (typeof ACTIONS)[number];

/** What can be acted on. Tenant-scoped subjects first, then platform ones. */
export const SUBJECTS = [
  'Tenant',
  'Member',
  'Invitation',
  'ApiKey',
  'AuditLog',
  'Subscription',
  'PaymentMethod',
  'Invoice',
  'PlatformTenant',
  'Outbox',
  'Plan',
  'PlatformBilling',
] as const;
export type Subject = (typeof SUBJECTS)[number] | 'all';

export type AppAbility = MongoAbility<[Action, Subject]>;

export interface AbilityContext {
  principal?: Principal;
  /** Role in the current tenant, when the request has one. */
  tenantAccess?: TenantAccess;
  /** The current tenant's plan entitlements, when the request has a tenant. */
  entitlements?: Entitlements;
}

type Can = AbilityBuilder<AppAbility>['can'];

/** What each tenant role may do inside its organisation. */
const TENANT_RULES: Record<TenantRole, (can: Can) => void> = {
  [TenantRole.Owner]: (can) => {
    can('manage', ['Tenant', 'Member', 'Invitation', 'ApiKey']);
    can('read', 'AuditLog');
    can('manage', ['Subscription', 'PaymentMethod', 'Invoice']);
  },
  [TenantRole.Admin]: (can) => {
    can(['read', 'update'], 'Tenant');
    can('manage', ['Member', 'Invitation', 'ApiKey']);
    can('read', 'AuditLog');
    can('read', ['Subscription', 'PaymentMethod', 'Invoice']);
  },
  [TenantRole.BillingManager]: (can) => {
    can('read', ['Tenant', 'Member']);
    can('manage', ['Subscription', 'PaymentMethod', 'Invoice']);
  },
  [TenantRole.SupportAgent]: (can) => {
    can('read', ['Tenant', 'Member', 'Subscription']);
  },
  [TenantRole.Member]: (can) => {
    can('read', ['Tenant', 'Member', 'Subscription']);
  },
};

/** What platform staff may do, on the platform and on any tenant they act on. */
const PLATFORM_RULES: Record<PlatformRole, (can: Can) => void> = {
  [PlatformRole.Admin]: (can) => {
    can('manage', 'all');
  },
  [PlatformRole.Support]: (can) => {
    can('read', 'all');
  },
};

/**
 * One ability per request, from the platform role, the tenant role and (with
 * billing) the plan's entitlements. Guards check route policies with it and
 * services narrow queries with it.
 */
@Injectable()
export class AbilityFactory {
  createFor(context: AbilityContext): AppAbility {
    const { can, cannot, build } = new AbilityBuilder<AppAbility>(createMongoAbility);
    const { principal, tenantAccess } = context;
    if (principal?.kind === 'user') {
      if (principal.platformRole) PLATFORM_RULES[principal.platformRole](can);
      if (tenantAccess?.role) TENANT_RULES[tenantAccess.role](can);
    }
    if (principal?.kind === 'api_key' && tenantAccess) this.apiKeyRules(principal, can, cannot);
    // The plan's limits bind everyone acting in the tenant, staff included.
    if (context.entitlements) {
      for (const [feature, subjects] of Object.entries(FEATURE_GATES)) {
        if (context.entitlements.features[feature] !== true) {
          cannot(['create', 'update'], [...subjects]);
        }
      }
    }
    return build();
  }

  /** Unscoped keys act like an admin, except on API keys; scoped keys only as their scopes say. */
  private apiKeyRules(
    key: ApiKeyPrincipal,
    can: Can,
    cannot: AbilityBuilder<AppAbility>['cannot'],
  ): void {
    if (key.scopes.length === 0) {
      TENANT_RULES[TenantRole.Admin](can);
      cannot('manage', 'ApiKey');
      return;
    }
    for (const scope of key.scopes) {
      const [action, subject] = scope.split(':') as [Action, Subject];
      can(action, subject);
    }
  }
}

/** `read:Member`-style scopes an API key may carry (platform subjects excluded). */
export const API_KEY_SCOPES: string[] = ACTIONS.flatMap((action) =>
  (['Tenant', 'Member', 'Invitation', 'AuditLog'] as const).map(
    (subject) => `${action}:${subject}`,
  ),
);
