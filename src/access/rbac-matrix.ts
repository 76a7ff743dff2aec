import { AbilityFactory, AbilityContext, SUBJECTS } from './ability.factory';
import { PlatformRole, TENANT_ROLES } from './roles';

const ACTIONS_SHOWN = ['create', 'read', 'update', 'delete'] as const;

/** The columns of the matrix: who, and the context their ability is built from. */
function columns(): { title: string; context: AbilityContext }[] {
  const user = (platformRole: PlatformRole | null) =>
    ({ kind: 'user', userId: 'u', sessionId: 's', tokenTenantId: 't', platformRole }) as const;
  return [
    ...TENANT_ROLES.map((role) => ({
      title: role,
      context: { principal: user(null), tenantAccess: { role, asStaff: false } },
    })),
    {
      title: 'API key (unscoped)',
      context: {
        principal: { kind: 'api_key', keyId: 'k', tenantId: 't', scopes: [] },
        tenantAccess: { role: null, asStaff: false },
      },
    },
    ...[PlatformRole.Admin, PlatformRole.Support].map((role) => ({
      title: role,
      context: { principal: user(role), tenantAccess: { role: null, asStaff: true } },
    })),
  ];
}

/**
 * `docs/rbac.md`: the role × action matrix, computed from the same
 * AbilityFactory the guards use, so the document cannot drift from the code
 * (a unit test compares it with the committed file).
 */
export function rbacMatrixMarkdown(factory = new AbilityFactory()): string {
  const cols = columns();
  const abilities = cols.map((c) => factory.createFor(c.context));
  const lines = [
    '# Roles and permissions',
    '',
    'Generated from `src/access/ability.factory.ts` by `npm run rbac`; do not edit by hand.',
    'Tenant roles apply inside the organisation of the membership; platform roles',
    'apply on the platform and on any organisation their holder acts on (audited).',
    'A scoped API key has exactly its scopes (`read:Member`, …).',
    '',
    `| subject | action | ${cols.map((c) => c.title).join(' | ')} |`,
    `| --- | --- | ${cols.map(() => ':-:').join(' | ')} |`,
  ];
  for (const subject of SUBJECTS) {
    for (const action of ACTIONS_SHOWN) {
      const cells = abilities.map((a) => (a.can(action, subject) ? '✓' : ''));
      lines.push(`| ${subject} | ${action} | ${cells.join(' | ')} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}
