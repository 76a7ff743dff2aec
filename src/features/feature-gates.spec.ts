import { AbilityFactory, SUBJECTS } from '../access/ability.factory';
import { FeatureFlagSet } from '../access/entitlements';
import { PlatformRole, TenantRole } from '../access/roles';
import { TenantAccess, UserPrincipal } from '../common/principal';
import { GATEABLE_SUBJECTS } from './feature-keys';

const user = (userId: string, platformRole: PlatformRole | null = null): UserPrincipal => ({
  kind: 'user',
  userId,
  platformRole,
  tokenTenantId: null,
  sessionId: 's1',
});
const owner = user('u1');
const staff = user('u2', PlatformRole.Admin);
const asOwner: TenantAccess = { role: TenantRole.Owner, asStaff: false };

const flags = (enabled: Record<string, boolean>): FeatureFlagSet => ({
  enabled,
  gates: { ai_ticket_summaries: ['Ticket'], bulk_invites: ['Invitation', 'Member'] },
});

describe('feature flags in the ability', () => {
  const factory = new AbilityFactory();

  it('lets a gated subject be created and changed only while its flag is on', () => {
    const on = factory.createFor({
      principal: owner,
      tenantAccess: asOwner,
      featureFlags: flags({ ai_ticket_summaries: true, bulk_invites: true }),
    });
    const off = factory.createFor({
      principal: owner,
      tenantAccess: asOwner,
      featureFlags: flags({ ai_ticket_summaries: false, bulk_invites: true }),
    });
    for (const action of ['create', 'update'] as const) {
      expect(on.can(action, 'Ticket')).toBe(true);
      expect(off.can(action, 'Ticket')).toBe(false);
      expect(off.can(action, 'Invitation')).toBe(true);
    }
    // Read and delete stay, as with plan features.
    expect(off.can('read', 'Ticket')).toBe(true);
    expect(off.can('delete', 'Ticket')).toBe(true);
  });

  it('treats a gating flag missing from the set as off, and binds staff acting in the tenant too', () => {
    const missing = factory.createFor({
      principal: owner,
      tenantAccess: asOwner,
      featureFlags: flags({ ai_ticket_summaries: true }),
    });
    expect(missing.can('create', 'Invitation')).toBe(false);
    expect(missing.can('update', 'Member')).toBe(false);
    const admin = factory.createFor({ principal: staff, featureFlags: flags({}) });
    expect(admin.can('create', 'Ticket')).toBe(false);
    expect(admin.can('manage', 'FeatureFlag')).toBe(true);
  });

  it('changes nothing without flags (no tenant) or with flags that gate nothing', () => {
    const none = factory.createFor({ principal: owner, tenantAccess: asOwner });
    const ungated = factory.createFor({
      principal: owner,
      tenantAccess: asOwner,
      featureFlags: { enabled: { ai_ticket_summaries: false }, gates: {} },
    });
    for (const ability of [none, ungated]) {
      expect(ability.can('create', 'Ticket')).toBe(true);
      expect(ability.can('create', 'Invitation')).toBe(true);
    }
  });

  it('gates only tenant subjects that exist, never billing', () => {
    for (const subject of GATEABLE_SUBJECTS) expect(SUBJECTS).toContain(subject);
    for (const billing of ['Subscription', 'PaymentMethod', 'Invoice']) {
      expect(GATEABLE_SUBJECTS).not.toContain(billing);
    }
  });

  it('lets platform support read flags and cohorts, not change them', () => {
    const support = factory.createFor({
      principal: user('u3', PlatformRole.Support),
    });
    expect(support.can('read', 'FeatureFlag')).toBe(true);
    expect(support.can('read', 'BetaCohort')).toBe(true);
    expect(support.can('update', 'FeatureFlag')).toBe(false);
    expect(support.can('create', 'BetaCohort')).toBe(false);
  });
});
