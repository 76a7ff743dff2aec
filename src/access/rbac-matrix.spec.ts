import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../common/paths';
import { rbacMatrixMarkdown } from './rbac-matrix';

describe('docs/rbac.md', () => {
  it('matches the abilities in the code (run `npm run rbac` after changing roles)', () => {
    const committed = readFileSync(join(PROJECT_ROOT, 'docs/rbac.md'), 'utf8');
    expect(committed).toBe(rbacMatrixMarkdown());
  });

  it('shows the rules that matter', () => {
    const md = rbacMatrixMarkdown();
    const row = (subject: string, action: string) =>
      md
        .split('\n')
        .find((l) => l.startsWith(`| ${subject} | ${action} |`))!
        .split('|')
        .slice(3, -1)
        .map((c) => c.trim());
    // owner, admin, billing_manager, support_agent, member, API key, platform_admin, platform_support
    expect(row('Member', 'delete')).toEqual(['✓', '✓', '', '', '', '✓', '✓', '']);
    expect(row('ApiKey', 'create')).toEqual(['✓', '✓', '', '', '', '', '✓', '']);
    expect(row('Tenant', 'read')).toEqual(['✓', '✓', '✓', '✓', '✓', '✓', '✓', '✓']);
    expect(row('PlatformTenant', 'update')).toEqual(['', '', '', '', '', '', '✓', '']);
  });
});
