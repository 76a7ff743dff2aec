import { Injectable } from '@nestjs/common';
import { MikroORM } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { ClsService } from 'nestjs-cls';
import { RequestStore, TenantRef } from '../common/request-store';
import { assertTenantSchemaName } from '../database/schema-names';
import { TenantContextMissingError } from './tenancy.exception';

/**
 * The tenant the current request or job acts for, and an EntityManager bound to
 * its schema. Everything tenant-scoped goes through here, and everything here
 * fails closed: no tenant, no data.
 */
@Injectable()
export class TenantContext {
  constructor(
    private readonly cls: ClsService<RequestStore>,
    private readonly orm: MikroORM,
  ) {}

  /** The current tenant; throws when there is none. */
  get tenant(): TenantRef {
    const tenant = this.cls.isActive() ? this.cls.get('tenant') : undefined;
    if (!tenant) throw new TenantContextMissingError('The current tenant');
    return tenant;
  }

  get hasTenant(): boolean {
    return this.cls.isActive() && this.cls.get('tenant') !== undefined;
  }

  /**
   * An EntityManager whose default schema is the tenant's: entities declared
   * with `schema: '*'` read and write `tenant_<id>.<table>`, fully qualified.
   * One fork per request or job, so its identity map never mixes tenants.
   */
  get em(): EntityManager {
    const tenant = this.tenant;
    let em = this.cls.get('tenantEm');
    if (!em) {
      em = this.orm.em.fork({ schema: tenant.schemaName, clear: true }) as EntityManager;
      this.cls.set('tenantEm', em);
    }
    return em;
  }

  /** Binds the current (already open) context to a tenant; used by the tenant guard. */
  enter(tenant: TenantRef): void {
    assertTenantSchemaName(tenant.schemaName);
    const current = this.cls.get('tenant');
    if (current && current.id !== tenant.id) {
      throw new Error(
        `Context already bound to tenant ${current.id}; refusing to switch to ${tenant.id}`,
      );
    }
    this.cls.set('tenant', tenant);
  }

  /**
   * Runs `fn` for one tenant outside HTTP (jobs, CLI, tests), in a fresh
   * context of its own so nothing leaks from or into the caller's.
   */
  run<T>(tenant: TenantRef, fn: () => T): T {
    assertTenantSchemaName(tenant.schemaName);
    return this.cls.run({ ifNested: 'override' }, () => {
      this.cls.set('tenant', tenant);
      return fn();
    });
  }
}
