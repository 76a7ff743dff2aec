import {
  assertTenantSchemaName,
  PLATFORM_SCHEMA,
  quoteIdent,
  tenantSchemaName,
} from './schema-names';

const UUID = '0193a3c5-8f2e-7b6a-9c1d-2e3f4a5b6c7d';
const HEX = '0193a3c58f2e7b6a9c1d2e3f4a5b6c7d';

describe('tenantSchemaName', () => {
  it('is tenant_ followed by the UUID without dashes', () => {
    expect(tenantSchemaName(UUID)).toBe(`tenant_${HEX}`);
  });

  it('is 39 characters, under the 63-byte identifier limit of PostgreSQL', () => {
    expect(tenantSchemaName(UUID)).toHaveLength(39);
  });

  it('lower-cases an upper-case UUID', () => {
    expect(tenantSchemaName(UUID.toUpperCase())).toBe(`tenant_${HEX}`);
  });

  it.each([
    ['not a UUID', 'acme'],
    ['a UUID that is one digit short', UUID.slice(0, -1)],
    ['a UUID with one digit too many', `${UUID}0`],
    ['a UUID with a non-hex letter', UUID.replace('a', 'g')],
    ['a UUID followed by SQL', `${UUID}"; drop schema platform cascade; --`],
    ['a UUID with a quote', `${UUID.slice(0, -1)}"`],
    ['the empty string', ''],
  ])('refuses %s', (_label, input) => {
    expect(() => tenantSchemaName(input)).toThrow(/^Not a tenant schema name: /);
  });
});

describe('assertTenantSchemaName', () => {
  it('accepts a well-formed tenant schema name', () => {
    expect(() => assertTenantSchemaName(`tenant_${HEX}`)).not.toThrow();
    expect(() => assertTenantSchemaName(tenantSchemaName(UUID))).not.toThrow();
  });

  it.each([
    ['a double quote', `tenant_${HEX.slice(0, -1)}"`],
    ['a quote breaking out of an identifier', `tenant_${HEX}"; drop table x; --`],
    ['a single quote', `tenant_${HEX.slice(0, -1)}'`],
    ['a semicolon', `tenant_${HEX};`],
    ['a space', `tenant_${HEX} `],
    ['a leading space', ` tenant_${HEX}`],
    ['a trailing newline', `tenant_${HEX}\n`],
    ['an embedded newline', `tenant_${HEX.slice(0, 16)}\n${HEX.slice(16)}`],
    ['upper-case hex', `tenant_${HEX.toUpperCase()}`],
    ['an upper-case prefix', `TENANT_${HEX}`],
    ['a wrong prefix', `tenants_${HEX}`],
    ['no prefix', HEX],
    ['a hyphen instead of underscore', `tenant-${HEX}`],
    ['the platform schema', PLATFORM_SCHEMA],
    ['public', 'public'],
    ['pg_catalog', 'pg_catalog'],
    ['31 hex digits', `tenant_${HEX.slice(1)}`],
    ['33 hex digits', `tenant_${HEX}0`],
    ['dashes kept from the UUID', `tenant_${UUID}`],
    ['a dotted name', `tenant_${HEX}.x`],
    ['the empty string', ''],
  ])('rejects a name with %s', (_label, name) => {
    expect(() => assertTenantSchemaName(name)).toThrow(
      `Not a tenant schema name: ${JSON.stringify(name)}`,
    );
  });
});

describe('quoteIdent', () => {
  it('wraps a plain name in double quotes', () => {
    expect(quoteIdent(`tenant_${HEX}`)).toBe(`"tenant_${HEX}"`);
    expect(quoteIdent(PLATFORM_SCHEMA)).toBe('"platform"');
  });

  it('doubles every embedded double quote', () => {
    expect(quoteIdent('a"b')).toBe('"a""b"');
    expect(quoteIdent('"; drop table x; --')).toBe('"""; drop table x; --"');
    expect(quoteIdent('""')).toBe('""""""');
  });

  it('leaves single quotes and other characters alone', () => {
    expect(quoteIdent("it's")).toBe(`"it's"`);
    expect(quoteIdent('')).toBe('""');
  });
});
