import { Injectable } from '@nestjs/common';
import {
  ForeignKeyConstraintViolationException,
  UniqueConstraintViolationException,
} from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { ClsService } from 'nestjs-cls';
import { Plan } from '../billing/entities/plan.entity';
import { Clock } from '../common/clock';
import { CommonErrorCode, CommonException } from '../common/errors/common.exception';
import { PageQuery, toPage } from '../common/http/pagination';
import { RequestStore } from '../common/request-store';
import { AuditService } from '../tenancy/audit/audit.service';
import { Tenant, TenantStatus } from '../tenancy/entities/tenant.entity';
import { TenancyErrorCode, TenancyException } from '../tenancy/tenancy.exception';
import { TenantContext } from '../tenancy/tenant-context';
import {
  BetaCohortDto,
  BetaCohortMemberDto,
  BetaCohortMemberPageDto,
  BetaCohortPageDto,
  CreateBetaCohortDto,
  UpdateBetaCohortDto,
} from './dtos/beta-cohort.dto';
import {
  AdminFeatureFlagDto,
  AdminFeatureFlagPageDto,
  CreateFeatureFlagDto,
  FeatureFlagCohortRuleDto,
  FeatureFlagOverrideDto,
  FeatureFlagOverridePageDto,
  MAX_PLAN_DEFAULTS,
  SetFeatureFlagOverrideDto,
  TenantFeatureListDto,
  UpdateFeatureFlagDto,
} from './dtos/feature-flag.dto';
import {
  BetaCohort,
  BetaCohortMember,
  FeatureFlag,
  FeatureFlagCohort,
  FeatureFlagOverride,
} from './entities';
import { FeatureFlagErrorCode, FeatureFlagException } from './feature-flag.exception';
import { FeatureFlagResolver } from './feature-flag-resolver';
import { isFeatureKey } from './feature-keys';

/** Which caches a committed change makes stale. */
interface Stale {
  catalog?: boolean;
  tenant?: string;
  allTenants?: boolean;
}

/**
 * Feature flags, their per-tenant overrides, beta cohorts and the cohorts'
 * rules. Every change commits with its platform audit event and then
 * invalidates the resolved flags it touches, so the next request (on every
 * replica, with Redis) sees it. Usable without HTTP (seeders, the demo
 * generator): outside a request the audit actor is `system`.
 */
@Injectable()
export class FeatureFlagService {
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditService,
    private readonly resolver: FeatureFlagResolver,
    private readonly cls: ClsService<RequestStore>,
    private readonly tenantContext: TenantContext,
    private readonly clock: Clock,
  ) {}

  /** The request's organisation's flags on its current plan (the tenant route). */
  forCurrentTenant(): Promise<TenantFeatureListDto> {
    return this.forTenant(this.tenantContext.tenant.id);
  }

  /** One organisation's flags on its current plan. */
  async forTenant(tenantId: string): Promise<TenantFeatureListDto> {
    return { items: await this.resolver.resolve(tenantId) };
  }

  /** Whether `key` is on for the organisation; unknown and archived flags are off. */
  isEnabled(tenantId: string, key: string): Promise<boolean> {
    return this.resolver.isEnabled(tenantId, key);
  }

  // Flags

  async listFlags(query: PageQuery): Promise<AdminFeatureFlagPageDto> {
    const em = this.em.fork();
    const rows = await em.find(FeatureFlag, query.cursor ? { id: { $lt: query.cursor } } : {}, {
      orderBy: { id: 'desc' },
      limit: query.limit + 1,
    });
    const rules = await this.rulesOf(
      em,
      rows.slice(0, query.limit).map((row) => row.id),
    );
    return toPage(rows, query.limit, (row) => toFlagDto(row, rules.get(row.id) ?? []));
  }

  async getFlag(key: string): Promise<AdminFeatureFlagDto> {
    const em = this.em.fork();
    return this.flagDto(em, await this.loadFlag(em, key));
  }

  async createFlag(dto: CreateFeatureFlagDto): Promise<AdminFeatureFlagDto> {
    checkKey(dto.key);
    const flag = await this.write({ catalog: true }, async (em) => {
      if ((await em.count(FeatureFlag, { key: dto.key })) > 0) throw flagKeyTaken(dto.key);
      const planDefaults = await this.checkPlanDefaults(em, dto.planDefaults ?? {});
      const now = this.clock.now();
      const row = em.create(FeatureFlag, {
        key: dto.key,
        description: dto.description,
        defaultEnabled: dto.defaultEnabled,
        planDefaults,
        gates: [...(dto.gates ?? [])].sort(),
        archivedAt: null,
        createdAt: now,
        updatedAt: now,
      });
      this.recordFlag(em, 'feature_flag.created', row, null, {
        description: row.description,
        defaultEnabled: row.defaultEnabled,
        planDefaults: row.planDefaults,
        gates: row.gates,
      });
      return row;
    });
    return toFlagDto(flag, []);
  }

  async updateFlag(key: string, dto: UpdateFeatureFlagDto): Promise<AdminFeatureFlagDto> {
    const flag = await this.write({ catalog: true }, async (em) => {
      const row = await this.loadFlag(em, key);
      const planDefaults =
        dto.planDefaults !== undefined
          ? await this.checkPlanDefaults(em, dto.planDefaults)
          : undefined;
      const gates = dto.gates !== undefined ? [...dto.gates].sort() : undefined;
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      if (dto.description !== undefined && dto.description !== row.description) {
        changes.description = { from: row.description, to: dto.description };
        row.description = dto.description;
      }
      if (dto.defaultEnabled !== undefined && dto.defaultEnabled !== row.defaultEnabled) {
        changes.defaultEnabled = { from: row.defaultEnabled, to: dto.defaultEnabled };
        row.defaultEnabled = dto.defaultEnabled;
      }
      if (planDefaults && !sameMap(planDefaults, row.planDefaults)) {
        changes.planDefaults = { from: row.planDefaults, to: planDefaults };
        row.planDefaults = planDefaults;
      }
      if (gates && gates.join() !== row.gates.join()) {
        changes.gates = { from: row.gates, to: gates };
        row.gates = gates;
      }
      if (Object.keys(changes).length === 0) return row;
      row.updatedAt = this.clock.now();
      this.recordFlag(em, 'feature_flag.updated', row, null, { changes });
      return row;
    });
    return this.flagDto(this.em.fork(), flag);
  }

  /** Retires a flag: off for everyone, its gates lifted, hidden from organisations. */
  archiveFlag(key: string): Promise<AdminFeatureFlagDto> {
    return this.setArchived(key, true);
  }

  /** Brings an archived flag back, with its rules and overrides as they were. */
  restoreFlag(key: string): Promise<AdminFeatureFlagDto> {
    return this.setArchived(key, false);
  }

  // Overrides

  async listOverrides(key: string, query: PageQuery): Promise<FeatureFlagOverridePageDto> {
    const em = this.em.fork();
    const flag = await this.loadFlag(em, key);
    const rows = await em.find(
      FeatureFlagOverride,
      { flag, ...(query.cursor ? { id: { $lt: query.cursor } } : {}) },
      { orderBy: { id: 'desc' }, limit: query.limit + 1 },
    );
    return toPage(rows, query.limit, (row) => toOverrideDto(flag, row));
  }

  /** Forces the flag on or off for one organisation. */
  async setOverride(
    key: string,
    tenantId: string,
    dto: SetFeatureFlagOverrideDto,
  ): Promise<FeatureFlagOverrideDto> {
    const reason = dto.reason ? dto.reason : null;
    const { flag, row } = await this.write({ tenant: tenantId }, async (em) => {
      const flag = await this.loadFlag(em, key);
      if (flag.archivedAt) throw flagArchived(flag.key);
      await this.loadTenant(em, tenantId);
      const now = this.clock.now();
      const existing = await em.findOne(FeatureFlagOverride, { flag, tenantId });
      if (existing && existing.enabled === dto.enabled && (existing.reason ?? null) === reason) {
        return { flag, row: existing };
      }
      const from = existing ? existing.enabled : null;
      const row =
        existing ??
        em.create(FeatureFlagOverride, {
          flag,
          tenantId,
          enabled: dto.enabled,
          createdBy: this.staffId(),
          createdAt: now,
          updatedAt: now,
        });
      row.enabled = dto.enabled;
      row.reason = reason;
      row.updatedAt = now;
      this.recordFlag(em, 'feature_flag.override_set', flag, tenantId, {
        from,
        to: dto.enabled,
        reason,
      });
      return { flag, row };
    });
    return toOverrideDto(flag, row);
  }

  /** The organisation follows its cohorts and plan again. */
  async clearOverride(key: string, tenantId: string): Promise<void> {
    await this.write({ tenant: tenantId }, async (em) => {
      const flag = await this.loadFlag(em, key);
      const row = await em.findOne(FeatureFlagOverride, { flag, tenantId });
      if (!row) {
        throw new FeatureFlagException(
          FeatureFlagErrorCode.OverrideNotFound,
          `The flag "${flag.key}" has no override for the organisation ${tenantId}.`,
        );
      }
      em.remove(row);
      this.recordFlag(em, 'feature_flag.override_cleared', flag, tenantId, {
        was: row.enabled,
        reason: row.reason ?? null,
      });
    });
  }

  // Cohort rules

  /** Switches the flag on or off for every organisation in the cohort. */
  async setCohortRule(
    key: string,
    cohortKey: string,
    enabled: boolean,
  ): Promise<FeatureFlagCohortRuleDto> {
    await this.write({ catalog: true }, async (em) => {
      const flag = await this.loadFlag(em, key);
      if (flag.archivedAt) throw flagArchived(flag.key);
      const cohort = await this.loadCohort(em, cohortKey);
      const existing = await em.findOne(FeatureFlagCohort, { flag, cohort });
      if (existing?.enabled === enabled) return;
      // Read before the row changes: the audit records what it was.
      const from = existing ? existing.enabled : null;
      const now = this.clock.now();
      if (existing) {
        existing.enabled = enabled;
        existing.updatedAt = now;
      } else {
        em.create(FeatureFlagCohort, { flag, cohort, enabled, createdAt: now, updatedAt: now });
      }
      this.recordFlag(em, 'feature_flag.cohort_rule_set', flag, null, {
        cohortId: cohort.id,
        cohortKey: cohort.key,
        from,
        to: enabled,
      });
    });
    return { cohort: cohortKey, enabled };
  }

  /** The cohort no longer decides the flag. */
  async clearCohortRule(key: string, cohortKey: string): Promise<void> {
    await this.write({ catalog: true }, async (em) => {
      const flag = await this.loadFlag(em, key);
      const cohort = await this.loadCohort(em, cohortKey);
      const row = await em.findOne(FeatureFlagCohort, { flag, cohort });
      if (!row) {
        throw new FeatureFlagException(
          FeatureFlagErrorCode.CohortRuleNotFound,
          `The flag "${flag.key}" has no rule for the cohort "${cohort.key}".`,
        );
      }
      em.remove(row);
      this.recordFlag(em, 'feature_flag.cohort_rule_cleared', flag, null, {
        cohortId: cohort.id,
        cohortKey: cohort.key,
        was: row.enabled,
      });
    });
  }

  // Cohorts

  async listCohorts(query: PageQuery): Promise<BetaCohortPageDto> {
    const rows = await this.em
      .fork()
      .find(BetaCohort, query.cursor ? { id: { $lt: query.cursor } } : {}, {
        orderBy: { id: 'desc' },
        limit: query.limit + 1,
      });
    return toPage(rows, query.limit, toCohortDto);
  }

  async getCohort(key: string): Promise<BetaCohortDto> {
    return toCohortDto(await this.loadCohort(this.em.fork(), key));
  }

  async createCohort(dto: CreateBetaCohortDto): Promise<BetaCohortDto> {
    checkKey(dto.key);
    const cohort = await this.write({}, async (em) => {
      if ((await em.count(BetaCohort, { key: dto.key })) > 0) throw cohortKeyTaken(dto.key);
      const now = this.clock.now();
      const row = em.create(BetaCohort, {
        key: dto.key,
        name: dto.name,
        description: dto.description ?? '',
        createdAt: now,
        updatedAt: now,
      });
      this.recordCohort(em, 'beta_cohort.created', row, null, {
        name: row.name,
        description: row.description,
      });
      return row;
    });
    return toCohortDto(cohort);
  }

  async updateCohort(key: string, dto: UpdateBetaCohortDto): Promise<BetaCohortDto> {
    const cohort = await this.write({}, async (em) => {
      const row = await this.loadCohort(em, key);
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      if (dto.name !== undefined && dto.name !== row.name) {
        changes.name = { from: row.name, to: dto.name };
        row.name = dto.name;
      }
      if (dto.description !== undefined && dto.description !== row.description) {
        changes.description = { from: row.description, to: dto.description };
        row.description = dto.description;
      }
      if (Object.keys(changes).length === 0) return row;
      row.updatedAt = this.clock.now();
      this.recordCohort(em, 'beta_cohort.updated', row, null, { changes });
      return row;
    });
    return toCohortDto(cohort);
  }

  /** Deletes the cohort with its memberships and flag rules (recorded in the audit event). */
  async deleteCohort(key: string): Promise<void> {
    await this.write({ catalog: true, allTenants: true }, async (em) => {
      const cohort = await this.loadCohort(em, key);
      const [members, rules] = await Promise.all([
        em.find(BetaCohortMember, { cohort }, { orderBy: { id: 'asc' } }),
        em.find(FeatureFlagCohort, { cohort }, { populate: ['flag'], orderBy: { id: 'asc' } }),
      ]);
      // The foreign keys cascade; removing through the unit of work keeps its identity map honest.
      for (const row of [...members, ...rules]) em.remove(row);
      em.remove(cohort);
      this.recordCohort(em, 'beta_cohort.deleted', cohort, null, {
        name: cohort.name,
        memberTenantIds: members.map((member) => member.tenantId),
        rules: rules.map((rule) => ({ flag: rule.flag.key, enabled: rule.enabled })),
      });
    });
  }

  async listCohortMembers(key: string, query: PageQuery): Promise<BetaCohortMemberPageDto> {
    const em = this.em.fork();
    const cohort = await this.loadCohort(em, key);
    const rows = await em.find(
      BetaCohortMember,
      { cohort, ...(query.cursor ? { id: { $lt: query.cursor } } : {}) },
      { orderBy: { id: 'desc' }, limit: query.limit + 1 },
    );
    return toPage(rows, query.limit, (row) => toMemberDto(cohort, row));
  }

  /** Adds the organisation to the cohort; adding a member again changes nothing. */
  async addCohortMember(key: string, tenantId: string): Promise<BetaCohortMemberDto> {
    const { cohort, row } = await this.write({ tenant: tenantId }, async (em) => {
      const cohort = await this.loadCohort(em, key);
      await this.loadTenant(em, tenantId);
      const existing = await em.findOne(BetaCohortMember, { cohort, tenantId });
      if (existing) return { cohort, row: existing };
      const row = em.create(BetaCohortMember, {
        cohort,
        tenantId,
        addedBy: this.staffId(),
        createdAt: this.clock.now(),
      });
      this.recordCohort(em, 'beta_cohort.member_added', cohort, tenantId, {});
      return { cohort, row };
    });
    return toMemberDto(cohort, row);
  }

  async removeCohortMember(key: string, tenantId: string): Promise<void> {
    await this.write({ tenant: tenantId }, async (em) => {
      const cohort = await this.loadCohort(em, key);
      const row = await em.findOne(BetaCohortMember, { cohort, tenantId });
      if (!row) {
        throw new FeatureFlagException(
          FeatureFlagErrorCode.CohortMemberNotFound,
          `The organisation ${tenantId} is not in the cohort "${cohort.key}".`,
        );
      }
      em.remove(row);
      this.recordCohort(em, 'beta_cohort.member_removed', cohort, tenantId, {});
    });
  }

  // Internals

  private async setArchived(key: string, archived: boolean): Promise<AdminFeatureFlagDto> {
    // Tenants' cached overrides include archived flags' (unused while archived): the catalog alone changes.
    const flag = await this.write({ catalog: true }, async (em) => {
      const row = await this.loadFlag(em, key);
      if (Boolean(row.archivedAt) === archived) return row;
      const now = this.clock.now();
      row.archivedAt = archived ? now : null;
      row.updatedAt = now;
      this.recordFlag(
        em,
        archived ? 'feature_flag.archived' : 'feature_flag.restored',
        row,
        null,
        {},
      );
      return row;
    });
    return this.flagDto(this.em.fork(), flag);
  }

  /**
   * One change in one transaction with its audit event; the caches it makes
   * stale are dropped after the commit (before it, a concurrent reader could
   * cache the old state again). A unique index that a concurrent writer beat
   * us to answers like the check that lost the race.
   */
  private async write<T>(stale: Stale, work: (em: EntityManager) => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await this.em.fork().transactional(work);
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        if (/feature_flag_key_key/.test(error.message)) throw flagKeyTaken(undefined, error);
        if (/beta_cohort_key_key/.test(error.message)) throw cohortKeyTaken(undefined, error);
        // Two staff setting the same override, rule or membership at once: the first one won.
        throw new CommonException(
          CommonErrorCode.Conflict,
          'A concurrent change to the same flag, cohort or organisation won; read it again and retry.',
        );
      }
      if (error instanceof ForeignKeyConstraintViolationException) {
        // A cohort, flag or organisation deleted by a concurrent change after this one read it.
        throw new CommonException(
          CommonErrorCode.Conflict,
          'The flag, cohort or organisation was removed by a concurrent change; read it again and retry.',
        );
      }
      throw error;
    }
    if (stale.catalog) this.resolver.invalidateCatalog();
    if (stale.allTenants) this.resolver.invalidateAllTenants();
    else if (stale.tenant) this.resolver.invalidateTenant(stale.tenant);
    return result;
  }

  private recordFlag(
    em: EntityManager,
    action: string,
    flag: FeatureFlag,
    tenantId: string | null,
    data: Record<string, unknown>,
  ): void {
    this.audit.recordPlatform(
      { action, tenantId, data: { flagId: flag.id, flagKey: flag.key, ...data } },
      em,
    );
  }

  private recordCohort(
    em: EntityManager,
    action: string,
    cohort: BetaCohort,
    tenantId: string | null,
    data: Record<string, unknown>,
  ): void {
    this.audit.recordPlatform(
      { action, tenantId, data: { cohortId: cohort.id, cohortKey: cohort.key, ...data } },
      em,
    );
  }

  /** The staff member making the change, or null outside a request (the system). */
  private staffId(): string | null {
    const principal = this.cls.isActive() ? this.cls.get('principal') : undefined;
    return principal?.kind === 'user' ? principal.userId : null;
  }

  /**
   * Plan defaults are booleans keyed by plan codes of the catalog (archived
   * plans included: organisations may still be on them). Malformed: 400;
   * unknown plans: 422, naming them.
   */
  private async checkPlanDefaults(
    em: EntityManager,
    value: Record<string, unknown>,
  ): Promise<Record<string, boolean>> {
    const entries = Object.entries(value);
    const errors = entries
      .filter(([, enabled]) => typeof enabled !== 'boolean')
      .map(([code]) => ({
        field: `planDefaults.${code}`,
        message: `planDefaults.${code} must be a boolean value`,
      }));
    if (entries.length > MAX_PLAN_DEFAULTS) {
      errors.push({
        field: 'planDefaults',
        message: `planDefaults may name at most ${MAX_PLAN_DEFAULTS} plans`,
      });
    }
    if (errors.length > 0) throw CommonException.validation(errors);
    const codes = entries.map(([code]) => code);
    const known = new Set(
      codes.length === 0
        ? []
        : (await em.find(Plan, { code: { $in: codes } }, { fields: ['code'] })).map(
            (plan) => plan.code,
          ),
    );
    const unknown = codes.filter((code) => !known.has(code)).sort();
    if (unknown.length > 0) {
      throw new FeatureFlagException(
        FeatureFlagErrorCode.UnknownPlan,
        `No plan with the code ${unknown.map((code) => `"${code}"`).join(', ')}.`,
        { plans: unknown },
      );
    }
    return Object.fromEntries(
      [...entries].sort(([a], [b]) => (a < b ? -1 : 1)) as [string, boolean][],
    );
  }

  private async loadFlag(em: EntityManager, key: string): Promise<FeatureFlag> {
    checkKey(key);
    const flag = await em.findOne(FeatureFlag, { key });
    if (!flag) {
      throw new FeatureFlagException(
        FeatureFlagErrorCode.FlagNotFound,
        `No feature flag "${key}".`,
      );
    }
    return flag;
  }

  private async loadCohort(em: EntityManager, key: string): Promise<BetaCohort> {
    checkKey(key);
    const cohort = await em.findOne(BetaCohort, { key });
    if (!cohort) {
      throw new FeatureFlagException(
        FeatureFlagErrorCode.CohortNotFound,
        `No beta cohort "${key}".`,
      );
    }
    return cohort;
  }

  /** An organisation that exists and is not deleted. */
  private async loadTenant(em: EntityManager, id: string): Promise<Tenant> {
    const tenant = await em.findOne(Tenant, { id, status: { $ne: TenantStatus.Deleted } });
    if (!tenant)
      throw new TenancyException(TenancyErrorCode.TenantNotFound, `No organisation "${id}".`);
    return tenant;
  }

  private async rulesOf(
    em: EntityManager,
    flagIds: string[],
  ): Promise<Map<string, FeatureFlagCohortRuleDto[]>> {
    const byFlag = new Map<string, FeatureFlagCohortRuleDto[]>();
    if (flagIds.length === 0) return byFlag;
    const rules = await em.find(
      FeatureFlagCohort,
      { flag: { $in: flagIds } },
      { populate: ['cohort'], orderBy: { cohort: { key: 'asc' } } },
    );
    for (const rule of rules) {
      const list = byFlag.get(rule.flag.id) ?? [];
      list.push({ cohort: rule.cohort.key, enabled: rule.enabled });
      byFlag.set(rule.flag.id, list);
    }
    return byFlag;
  }

  private async flagDto(em: EntityManager, flag: FeatureFlag): Promise<AdminFeatureFlagDto> {
    const rules = await this.rulesOf(em, [flag.id]);
    return toFlagDto(flag, rules.get(flag.id) ?? []);
  }
}

function checkKey(key: string): void {
  if (!isFeatureKey(key)) {
    throw new FeatureFlagException(
      FeatureFlagErrorCode.KeyInvalid,
      `"${key.slice(0, 80)}" is not a key: snake_case, 2 to 64 lower-case letters, digits and underscores, starting with a letter.`,
    );
  }
}

function flagKeyTaken(key?: string, cause?: unknown): FeatureFlagException {
  return new FeatureFlagException(
    FeatureFlagErrorCode.FlagKeyTaken,
    key
      ? `A feature flag "${key}" already exists.`
      : 'A feature flag with this key already exists.',
    {},
    cause,
  );
}

function cohortKeyTaken(key?: string, cause?: unknown): FeatureFlagException {
  return new FeatureFlagException(
    FeatureFlagErrorCode.CohortKeyTaken,
    key ? `A beta cohort "${key}" already exists.` : 'A beta cohort with this key already exists.',
    {},
    cause,
  );
}

function flagArchived(key: string): FeatureFlagException {
  return new FeatureFlagException(
    FeatureFlagErrorCode.FlagArchived,
    `The feature flag "${key}" is archived: restore it before changing who has it.`,
  );
}

function sameMap(a: Record<string, boolean>, b: Record<string, boolean>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => b[key] === a[key]);
}

function toFlagDto(
  flag: FeatureFlag,
  cohortRules: FeatureFlagCohortRuleDto[],
): AdminFeatureFlagDto {
  return {
    id: flag.id,
    key: flag.key,
    description: flag.description,
    defaultEnabled: flag.defaultEnabled,
    planDefaults: flag.planDefaults,
    gates: flag.gates,
    cohortRules,
    archivedAt: flag.archivedAt ? flag.archivedAt.toISOString() : null,
    createdAt: flag.createdAt.toISOString(),
    updatedAt: flag.updatedAt.toISOString(),
  };
}

function toOverrideDto(flag: FeatureFlag, row: FeatureFlagOverride): FeatureFlagOverrideDto {
  return {
    flag: flag.key,
    tenantId: row.tenantId,
    enabled: row.enabled,
    reason: row.reason ?? null,
    createdBy: row.createdBy ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function toCohortDto(cohort: BetaCohort): BetaCohortDto {
  return {
    id: cohort.id,
    key: cohort.key,
    name: cohort.name,
    description: cohort.description,
    createdAt: cohort.createdAt.toISOString(),
    updatedAt: cohort.updatedAt.toISOString(),
  };
}

function toMemberDto(cohort: BetaCohort, row: BetaCohortMember): BetaCohortMemberDto {
  return {
    cohort: cohort.key,
    tenantId: row.tenantId,
    addedBy: row.addedBy ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}
