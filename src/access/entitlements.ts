/**
 * What an organisation's plan allows. Billing computes it from the active
 * subscription (or the free plan); access and tenancy read it through this
 * port, so they never depend on billing's tables.
 */
export interface Entitlements {
  planCode: string;
  planName: string;
  /** Seats the organisation may fill (members plus pending invitations); null: unlimited. */
  seatLimit: number | null;
  supportTier: string;
  /** Feature key → value from the catalog (`api_access: true`, `seats: 25`, …). */
  features: Record<string, boolean | number | string | null>;
  /**
   * Payment recovery suspended the organisation (subscription `unpaid`):
   * its writes answer 402 until it pays; reads and billing stay open.
   */
  billingSuspended: boolean;
}

export abstract class EntitlementSource {
  abstract forTenant(tenantId: string): Promise<Entitlements>;
}

/**
 * The tenant's feature flags (src/features): the operator's switches for
 * rolling work out by plan, cohort and tenant, resolved for one tenant.
 */
export interface FeatureFlagSet {
  /** Flag key → on for the tenant. Archived and unknown flags are absent: off. */
  enabled: Readonly<Record<string, boolean>>;
  /** Flag key → the subjects it gates: while it is off they may be read and removed, not created or changed. */
  gates: Readonly<Record<string, readonly string[]>>;
}

export abstract class FeatureFlagSource {
  /** The tenant's flags on `planCode` (its current plan, from the entitlements). */
  abstract forTenant(tenantId: string, planCode: string): Promise<FeatureFlagSet>;
}

/**
 * Features that gate what a role could otherwise do: without the feature, the
 * subject may still be read and removed, but not created or changed.
 */
export const FEATURE_GATES: Record<string, readonly ('ApiKey' | 'AuditLog')[]> = {
  api_access: ['ApiKey'],
};
