import { parseArgs } from 'node:util';
import { DomainException } from '../common/errors/domain.exception';
import { TenantProvisioningService } from '../tenancy/tenant-provisioning.service';
import { runCli } from './cli-app';

const USAGE = `Usage: npm run tenant:create -- --slug <slug> --name "<name>"

Creates an organisation: its platform row, its schema and every tenant migration, in one transaction.`;

void runCli(async ({ app }) => {
  const { values } = parseArgs({
    options: { slug: { type: 'string' }, name: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help || !values.slug) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  try {
    const tenant = await app
      .get(TenantProvisioningService)
      .provision({ slug: values.slug, name: values.name ?? values.slug });
    process.stdout.write(`Created ${tenant.slug} (${tenant.id}) in schema ${tenant.schemaName}\n`);
    return 0;
  } catch (error) {
    if (error instanceof DomainException) {
      process.stderr.write(`${error.code}: ${error.detail}\n`);
      return 1;
    }
    throw error;
  }
});
