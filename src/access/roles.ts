/** Roles inside one organisation (the membership's role). */
export enum TenantRole {
  Owner = 'owner',
  Admin = 'admin',
  BillingManager = 'billing_manager',
  SupportAgent = 'support_agent',
  Member = 'member',
}

/** Roles of the operator's own staff, across organisations (the user's role). */
export enum PlatformRole {
  Admin = 'platform_admin',
  Support = 'platform_support',
}

export const TENANT_ROLES = Object.values(TenantRole);
export const PLATFORM_ROLES = Object.values(PlatformRole);
