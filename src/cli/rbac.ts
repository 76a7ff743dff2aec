import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rbacMatrixMarkdown } from '../access/rbac-matrix';
import { runMain } from '../common/entrypoint';
import { PROJECT_ROOT } from '../common/paths';

/** `npm run rbac`: rewrites docs/rbac.md from the abilities in the code. */
runMain(async () => {
  const file = join(PROJECT_ROOT, 'docs/rbac.md');
  writeFileSync(file, rbacMatrixMarkdown());
  process.stdout.write(`Wrote ${file}\n`);
  return Promise.resolve(0);
});
