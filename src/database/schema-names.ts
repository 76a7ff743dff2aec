const TENANT_SCHEMA = /^tenant_[0-9a-f]{32}$/;

/** `tenant_<uuid without dashes>`: 39 characters, under PostgreSQL's 63-byte identifier limit. */
export function tenantSchemaName(tenantId: string): string {
  const hex = tenantId.replace(/-/g, '').toLowerCase();
  const name = `tenant_${hex}`;
  assertTenantSchemaName(name);
  return name;
}

/**
 * Schema names end up inside DDL and SET statements, where parameters cannot be
 * used; only names of this exact shape are ever interpolated.
 */
export function assertTenantSchemaName(name: string): void {
  if (!TENANT_SCHEMA.test(name))
    throw new Error(`Not a tenant schema name: ${JSON.stringify(name)}`);
}

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export const PLATFORM_SCHEMA = 'platform';
