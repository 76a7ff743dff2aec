import { AbilityBuilder, createMongoAbility, MongoQuery } from '@casl/ability';
import {
  AbilityContext,
  AbilityFactory,
  Action,
  ACTIONS,
  AppAbility,
  Subject,
  SUBJECTS,
} from './ability.factory';
import { AccessErrorCode, AccessException } from './access.exception';
import { accessibleBy, narrow, UnsupportedConditionError } from './accessible-by';
import { PLATFORM_ROLES, PlatformRole, TENANT_ROLES, TenantRole } from './roles';

/** `can` / `cannot` with conditions on any field (AppAbility's string subjects type them as never). */
type Define = (action: Action, subject: Subject, conditionsOrField?: MongoQuery | string) => void;

function ability(define: (can: Define, cannot: Define) => void): AppAbility {
  const { can, cannot, build } = new AbilityBuilder<AppAbility>(createMongoAbility);
  define(
    (action, subject, extra) => can(action, subject, extra as never),
    (action, subject, extra) => cannot(action, subject, extra as never),
  );
  return build();
}

function forbidden(fn: () => unknown): AccessException {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AccessException);
    expect((error as AccessException).code).toBe(AccessErrorCode.Forbidden);
    return error as AccessException;
  }
  throw new Error('expected a Forbidden AccessException');
}

describe('accessibleBy', () => {
  it('is {} for an unconditional rule', () => {
    expect(
      accessibleBy(
        ability((can) => can('read', 'ApiKey')),
        'read',
        'ApiKey',
      ),
    ).toEqual({});
    expect(
      accessibleBy(
        ability((can) => can('manage', 'all')),
        'delete',
        'Member',
      ),
    ).toEqual({});
  });

  it('turns a conditional rule into a filter', () => {
    const a = ability((can) => can('read', 'ApiKey', { createdBy: 'u1' }));
    expect(accessibleBy(a, 'read', 'ApiKey')).toEqual({ createdBy: 'u1' });
  });

  it('keeps the operators MikroORM shares with CASL and nests dotted paths', () => {
    const at = new Date('2030-01-01T00:00:00Z');
    const a = ability((can) =>
      can('read', 'Invitation', {
        role: { $in: ['member', 'support_agent'] },
        revokedAt: null,
        expiresAt: { $gt: at },
        'tenant.slug': { $ne: 'acme' },
      }),
    );
    expect(accessibleBy(a, 'read', 'Invitation')).toEqual({
      $and: [
        { role: { $in: ['member', 'support_agent'] } },
        { revokedAt: null },
        { expiresAt: { $gt: at } },
        { tenant: { slug: { $ne: 'acme' } } },
      ],
    });
  });

  it('ORs several rules; an unconditional one among them wins', () => {
    const a = ability((can) => {
      can('read', 'ApiKey', { createdBy: 'u1' });
      can('read', 'ApiKey', { name: { $in: ['ci', 'deploy'] } });
    });
    expect(accessibleBy(a, 'read', 'ApiKey')).toEqual({
      $or: [{ name: { $in: ['ci', 'deploy'] } }, { createdBy: 'u1' }],
    });
    const b = ability((can) => {
      can('read', 'ApiKey', { createdBy: 'u1' });
      can('read', 'ApiKey');
    });
    expect(accessibleBy(b, 'read', 'ApiKey')).toEqual({});
  });

  it('turns an inverted rule into $not, bounding the rules it overrides', () => {
    const a = ability((can, cannot) => {
      can('read', 'ApiKey');
      cannot('read', 'ApiKey', { revokedAt: { $ne: null } });
    });
    expect(accessibleBy(a, 'read', 'ApiKey')).toEqual({ $not: { revokedAt: { $ne: null } } });

    // $nor has no MikroORM equivalent: it is the $and of $nots.
    const b = ability((can, cannot) => {
      can('read', 'ApiKey', { createdBy: 'u1' });
      cannot('read', 'ApiKey', { name: 'root' });
      cannot('read', 'ApiKey', { revokedAt: { $ne: null } });
    });
    expect(accessibleBy(b, 'read', 'ApiKey')).toEqual({
      $and: [
        { createdBy: 'u1' },
        { $not: { revokedAt: { $ne: null } } },
        { $not: { name: 'root' } },
      ],
    });
  });

  it('ignores a cannot that only restricts fields (rows stay readable)', () => {
    const a = ability((can, cannot) => {
      can('read', 'Member');
      cannot('read', 'Member', 'email');
    });
    expect(accessibleBy(a, 'read', 'Member')).toEqual({});
  });

  it('is Forbidden without a rule, or when an unconditional cannot overrides every can', () => {
    forbidden(() =>
      accessibleBy(
        ability(() => undefined),
        'read',
        'ApiKey',
      ),
    );
    forbidden(() =>
      accessibleBy(
        ability((can) => can('read', 'Member')),
        'read',
        'ApiKey',
      ),
    );
    forbidden(() =>
      accessibleBy(
        ability((can, cannot) => {
          can('manage', 'ApiKey');
          cannot('manage', 'ApiKey');
        }),
        'read',
        'ApiKey',
      ),
    );
    // Unscoped API keys: admin rules, then `cannot('manage', 'ApiKey')`.
    const key = new AbilityFactory().createFor({
      principal: { kind: 'api_key', keyId: 'k', tenantId: 't', scopes: [] },
      tenantAccess: { role: null, asStaff: false },
    });
    forbidden(() => accessibleBy(key, 'read', 'ApiKey'));
    expect(accessibleBy(key, 'read', 'Member')).toEqual({});
  });

  /** Roles that see only the tickets they asked (see `ownTickets` in the factory). */
  const isMemberLike = (context: AbilityContext) =>
    context.tenantAccess?.role === TenantRole.Member ||
    context.tenantAccess?.role === TenantRole.BillingManager;

  it('is Forbidden exactly where the guard would refuse, for every role in docs/rbac.md', () => {
    const factory = new AbilityFactory();
    const user = (platformRole: PlatformRole | null) =>
      ({ kind: 'user', userId: 'u', sessionId: 's', tokenTenantId: 't', platformRole }) as const;
    const contexts: AbilityContext[] = [
      ...TENANT_ROLES.map((role) => ({
        principal: user(null),
        tenantAccess: { role, asStaff: false },
      })),
      ...PLATFORM_ROLES.map((role) => ({
        principal: user(role),
        tenantAccess: { role: null, asStaff: true },
      })),
      {
        principal: { kind: 'api_key', keyId: 'k', tenantId: 't', scopes: [] },
        tenantAccess: { role: null, asStaff: false },
      },
      {
        principal: { kind: 'api_key', keyId: 'k', tenantId: 't', scopes: ['read:Member'] },
        tenantAccess: { role: null, asStaff: false },
      },
    ];
    for (const context of contexts) {
      const a = factory.createFor(context);
      for (const subject of SUBJECTS) {
        for (const action of ACTIONS) {
          if (a.can(action, subject)) {
            // Every rule is unconditional, except members' own tickets.
            const own = subject === 'Ticket' && action === 'read' && isMemberLike(context);
            expect(accessibleBy(a, action, subject)).toEqual(own ? { requesterId: 'u' } : {});
          } else {
            forbidden(() => accessibleBy(a, action, subject));
          }
        }
      }
    }
  });

  it.each([
    [{ name: { $regex: '^ci' } }, 'the operator $regex on name'],
    [{ scopes: { $all: ['read:Member'] } }, 'the operator $all on scopes'],
    [{ revokedAt: { $exists: false } }, 'the operator $exists on revokedAt'],
    [{ scopes: ['read:Member'] }, 'an array value for scopes'],
    [{ tenant: { slug: 'acme' } }, 'an object value for tenant'],
    [{ role: { $in: 'member' } }, 'the operand of $in on role'],
  ])('refuses %j with a clear error', (conditions, message) => {
    const a = ability((can) => can('read', 'ApiKey', conditions));
    expect(() => accessibleBy(a, 'read', 'ApiKey')).toThrow(UnsupportedConditionError);
    expect(() => accessibleBy(a, 'read', 'ApiKey')).toThrow(message);
  });
});

describe('narrow', () => {
  it('keeps both sides under $and, even when where has the same key', () => {
    const a = ability((can) => can('read', 'ApiKey', { createdBy: 'u1' }));
    const where = { tenantId: 't1', createdBy: 'attacker' };
    const narrowed = narrow(where, a, 'read', 'ApiKey');
    expect(narrowed).toEqual({ $and: [where, { createdBy: 'u1' }] });
    expect(Object.keys(narrowed)).toEqual(['$and']);
  });

  it('does not let a client-supplied $or or $and in where escape the authorization side', () => {
    const a = ability((can) => can('read', 'ApiKey', { createdBy: 'u1' }));
    const where = { $or: [{ createdBy: 'u2' }], $and: [{}] };
    expect(narrow(where, a, 'read', 'ApiKey')).toEqual({ $and: [where, { createdBy: 'u1' }] });
  });

  it('still wraps an unconditional ability ({} on the right)', () => {
    const a = ability((can) => can('read', 'Member'));
    expect(narrow({ tenantId: 't1' }, a, 'read', 'Member')).toEqual({
      $and: [{ tenantId: 't1' }, {}],
    });
  });

  it('throws Forbidden when nothing is allowed', () => {
    forbidden(() =>
      narrow(
        { tenantId: 't1' },
        ability(() => undefined),
        'read',
        'AuditLog',
      ),
    );
  });

  it('leaves where as it is for internal callers (no ability in the context)', () => {
    const where = { tenantId: 't1' };
    expect(narrow(where, undefined, 'read', 'ApiKey')).toBe(where);
  });
});
