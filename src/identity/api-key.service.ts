import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { ClsService } from 'nestjs-cls';
import { randomBytes } from 'node:crypto';
import { narrow } from '../access/accessible-by';
import { Clock } from '../common/clock';
import { ApiKeyPrincipal } from '../common/principal';
import { RequestStore } from '../common/request-store';
import { AuditService } from '../tenancy/audit/audit.service';
import { TenantContext } from '../tenancy/tenant-context';
import { ApiKeyCreatedDto, ApiKeyDto, CreateApiKeyDto } from './dtos/api-key.dto';
import { ApiKey } from './entities/api-key.entity';
import { IdentityErrorCode, IdentityException } from './identity.exception';
import { randomToken, sameHash, tokenHash } from './secret-token';

/** Keys look like `gw_<8 hex prefix>_<43-char secret>`. */
const KEY_FORMAT = /^gw_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$/;
const LAST_USED_RESOLUTION_MS = 60_000;

/** API keys of the current tenant, and their authentication. */
@Injectable()
export class ApiKeyService {
  constructor(
    private readonly em: EntityManager,
    private readonly tenantContext: TenantContext,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly cls: ClsService<RequestStore>,
  ) {}

  async create(dto: CreateApiKeyDto, createdBy: string): Promise<ApiKeyCreatedDto> {
    const { id: tenantId } = this.tenantContext.tenant;
    const secret = randomToken();
    const prefix = `gw_${randomBytes(4).toString('hex')}`;
    const em = this.tenantContext.em;
    const key = await em.transactional(async (tx) => {
      const row = tx.create(ApiKey, {
        tenantId,
        name: dto.name,
        prefix,
        secretHash: tokenHash(secret),
        scopes: dto.scopes ?? [],
        createdBy,
        createdAt: this.clock.now(),
        expiresAt: dto.expiresAt ? new Date(dto.expiresAt) : null,
      });
      this.audit.record(
        {
          action: 'api_key.created',
          target: { type: 'api_key', id: row.id },
          data: { name: row.name, prefix, scopes: row.scopes },
        },
        tx,
      );
      await tx.flush();
      return row;
    });
    return { ...toDto(key), key: `${prefix}_${secret}` };
  }

  async list(): Promise<ApiKeyDto[]> {
    const rows = await this.tenantContext.em.find(
      ApiKey,
      // The request's ability narrows (no ability: a trusted internal caller).
      narrow({ tenantId: this.tenantContext.tenant.id }, this.cls.get('ability'), 'read', 'ApiKey'),
      { orderBy: { createdAt: 'desc', id: 'desc' } },
    );
    return rows.map(toDto);
  }

  async revoke(id: string): Promise<void> {
    const em = this.tenantContext.em;
    await em.transactional(async (tx) => {
      // Narrowed by tenant and ability: another tenant's key id is simply not found.
      const key = await tx.findOne(
        ApiKey,
        narrow(
          { id, tenantId: this.tenantContext.tenant.id },
          this.cls.get('ability'),
          'delete',
          'ApiKey',
        ),
      );
      if (!key)
        throw new IdentityException(
          IdentityErrorCode.ApiKeyNotFound,
          `No API key ${id} in this organisation.`,
        );
      if (key.revokedAt) return;
      key.revokedAt = this.clock.now();
      this.audit.record(
        {
          action: 'api_key.revoked',
          target: { type: 'api_key', id: key.id },
          data: { prefix: key.prefix },
        },
        tx,
      );
    });
  }

  /** The principal of a presented key, or undefined when it is unknown, revoked or expired. */
  async authenticate(presented: string): Promise<ApiKeyPrincipal | undefined> {
    const match = KEY_FORMAT.exec(presented.trim());
    if (!match) return undefined;
    const em = this.em.fork();
    const key = await em.findOne(ApiKey, { prefix: `gw_${match[1]}` });
    const now = this.clock.now();
    if (
      !key ||
      !sameHash(key.secretHash, tokenHash(match[2])) ||
      key.revokedAt ||
      (key.expiresAt && key.expiresAt <= now)
    ) {
      return undefined;
    }
    if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      await em.nativeUpdate(ApiKey, { id: key.id }, { lastUsedAt: now });
    }
    return { kind: 'api_key', keyId: key.id, tenantId: key.tenantId, scopes: key.scopes };
  }
}

function toDto(key: ApiKey): ApiKeyDto {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    scopes: key.scopes,
    createdBy: key.createdBy,
    createdAt: key.createdAt.toISOString(),
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    expiresAt: key.expiresAt?.toISOString() ?? null,
    revokedAt: key.revokedAt?.toISOString() ?? null,
  };
}
