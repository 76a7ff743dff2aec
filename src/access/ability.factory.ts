import { Injectable } from '@nestjs/common';
import { AbilityBuilder, createMongoAbility, MongoAbility, MongoQuery } from '@casl/ability';
import { ApiKeyPrincipal, Principal, TenantAccess } from '../common/principal';
import { Entitlements, FEATURE_GATES, FeatureFlagSet } from './entitlements';
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
  'Ticket',
  'TicketNote',
  'Feedback',
  'PlatformTenant',
  'Outbox',
  'Plan',
  'PlatformBilling',
  /** The business figures report (platform staff read; admins by `manage all`). */
  'BusinessMetrics',
  'SupportQueue',
  'SupportMacro',
  'KbCategory',
  'KbArticle',
  'FeatureFlag',
  'BetaCohort',
] as const;
export type Subject = (typeof SUBJECTS)[number] | 'all';

export type AppAbility = MongoAbility<[Action, Subject]>;

export interface AbilityContext {
  principal?: Principal;
  /** Role in the current tenant, when the request has one. */
  tenantAccess?: TenantAccess;
  /** The current tenant's plan entitlements, when the request has a tenant. */
  entitlements?: Entitlements;
  /** The current tenant's resolved feature flags, when the request has a tenant. */
  featureFlags?: FeatureFlagSet;
}

type Can = AbilityBuilder<AppAbility>['can'];

/** What each tenant role may do inside its organisation. */
/** A member's own tickets: the ones they asked. */
const ownTickets = (can: Can, userId: string | null) => {
  can('create', 'Ticket');
  // String subjects type conditions as `never`; the condition is on the ticket row's column.
  if (userId) can('read', 'Ticket', { requesterId: userId } as MongoQuery<never>);
};

const TENANT_RULES: Record<TenantRole, (can: Can, userId: string | null) => void> = {
  [TenantRole.Owner]: (can) => {
    can('manage', ['Tenant', 'Member', 'Invitation', 'ApiKey']);
    can('read', 'AuditLog');
    can('manage', ['Subscription', 'PaymentMethod', 'Invoice']);
    can('manage', ['Ticket', 'TicketNote']);
    can('create', 'Feedback');
  },
  [TenantRole.Admin]: (can) => {
    can(['read', 'update'], 'Tenant');
    can('manage', ['Member', 'Invitation', 'ApiKey']);
    can('read', 'AuditLog');
    can('read', ['Subscription', 'PaymentMethod', 'Invoice']);
    can('manage', ['Ticket', 'TicketNote']);
    can('create', 'Feedback');
  },
  [TenantRole.BillingManager]: (can, userId) => {
    can('read', ['Tenant', 'Member']);
    can('manage', ['Subscription', 'PaymentMethod', 'Invoice']);
    ownTickets(can, userId);
    can('create', 'Feedback');
  },
  [TenantRole.SupportAgent]: (can) => {
    can('read', ['Tenant', 'Member', 'Subscription']);
    // Handles the organisation's own tickets, internal notes included.
    can('manage', ['Ticket', 'TicketNote']);
    can('create', 'Feedback');
  },
  [TenantRole.Member]: (can, userId) => {
    can('read', ['Tenant', 'Member', 'Subscription']);
    ownTickets(can, userId);
    // Product feedback for the operator: every member may give it (people only, see FeedbackService).
    can('create', 'Feedback');
  },
};

/** What platform staff may do, on the platform and on any tenant they act on. */
const PLATFORM_RULES: Record<PlatformRole, (can: Can) => void> = {
  [PlatformRole.Admin]: (can) => {
    can('manage', 'all');
  },
  [PlatformRole.Support]: (can) => {
    can('read', 'all');
    // Support staff write the help centre's articles; its structure (categories) stays with admins.
    can(['create', 'update'], 'KbArticle');
    // Canned responses (SupportMacro) are read and applied here, written by admins only.
    // The operator's agents: every tenant's tickets (in its context, audited) and the queue.
    can('manage', ['Ticket', 'TicketNote', 'SupportQueue']);
  },
};

/**
 * One ability per request, from the platform role, the tenant role and (with
 * billing) the plan's entitlements. Guards check route policies with it and
 * services narrow queries with it. Not cached: building one and checking a
 * rule takes about 12 µs (measured on the 2-core development machine, owner
 * with entitlements), under 1% of a core at 500 requests/s, while a cache
 * would have to key on the user (own-ticket rules name them) and be
 * invalidated with every role and plan change. Its inputs are cached instead.
 */
@Injectable()
export class AbilityFactory {
  createFor(context: AbilityContext): AppAbility {
    const { can, cannot, build } = new AbilityBuilder<AppAbility>(createMongoAbility);
    const { principal, tenantAccess } = context;
    if (principal?.kind === 'user') {
      if (principal.platformRole) PLATFORM_RULES[principal.platformRole](can);
      if (tenantAccess?.role) TENANT_RULES[tenantAccess.role](can, principal.userId);
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
    // A flag that is off gates its subjects the same way, for everyone in the tenant.
    if (context.featureFlags) {
      const { enabled, gates } = context.featureFlags;
      for (const [flag, subjects] of Object.entries(gates)) {
        if (enabled[flag] !== true && subjects.length > 0) {
          cannot(['create', 'update'], subjects as Subject[]);
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
      TENANT_RULES[TenantRole.Admin](can, null);
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
