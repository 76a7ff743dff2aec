import { Injectable } from '@nestjs/common';
import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Clock } from '../../common/clock';
import { toPage } from '../../common/http/pagination';
import { AuditService } from '../../tenancy/audit/audit.service';
import { BillingClock } from '../billing-clock';
import { BillingErrorCode, BillingException } from '../billing.exception';
import { EntitlementService } from '../catalog/entitlement.service';
import {
  CampaignStatus,
  DunningCampaign,
  RUNNING_CAMPAIGN,
} from '../entities/dunning-campaign.entity';
import { Invoice, InvoiceStatus } from '../entities/invoice.entity';
import { AttemptTrigger } from '../entities/payment-attempt.entity';
import { Plan } from '../entities/plan.entity';
import { RecoveryPolicy } from '../entities/recovery-policy.entity';
import { PaymentService } from '../payments/payment.service';
import {
  CreateRecoveryPolicyDto,
  DunningCampaignDto,
  DunningQueuePageDto,
  ListDunningQuery,
  MarkUncollectibleDto,
  NO_ACTION,
  PlanRecoveryPolicyDto,
  RecoveryFiguresDto,
  RecoveryFiguresQuery,
  RecoveryPolicyDto,
  RecoveryPolicyListDto,
  RetryCampaignResultDto,
  SetPlanRecoveryPolicyDto,
  StepRecoveryDto,
  UpdateRecoveryPolicyDto,
} from './admin-recovery.dto';
import { DunningService } from './dunning.service';
import { DunningAction, FailureClass, policyProblems, RecoveryRules } from './recovery-policy';
import { RecoveryPolicyService } from './recovery-policy.service';

const DAY_MS = 86_400_000;
const FIGURES_DEFAULT_DAYS = 30;

/** Policy writes are rare and must see each other (one default, unique codes): they take turns. */
const POLICY_LOCK_SQL = "select pg_advisory_xact_lock(hashtext('groundwork:recovery-policy'))";

/** The order steps are listed in the figures: as a campaign meets them. */
const STEP_ORDER: string[] = [NO_ACTION, ...Object.values(DunningAction)];

/** One row of the dunning queue, as the single query below returns it. */
interface QueueRow {
  id: string;
  tenant_id: string;
  tenant_name: string;
  invoice_id: string;
  invoice_number: string | null;
  amount_due: string | number;
  currency: string;
  status: CampaignStatus;
  last_failure_class: FailureClass;
  first_category: string;
  last_category: string | null;
  last_decline_code: string | null;
  started_at: Date | string;
  last_action: DunningAction | null;
  next_action: DunningAction | null;
  next_step_at: Date | string | null;
  next_attempt_at: Date | string | null;
  paused_at: Date | string | null;
  ended_at: Date | string | null;
}

interface QueueFilter {
  ids?: string[];
  tenantId?: string;
  statuses: readonly CampaignStatus[];
  lastAction?: string;
  cursor?: string;
  limit: number;
}

/**
 * Payment recovery for platform staff: the dunning queue and what staff do to
 * a campaign (retry now, pause, resume, write off), recovery figures across
 * every tenant, and the recovery policies. Campaign changes lock the invoice,
 * then the campaign (then the subscription), like every other dunning path,
 * and are audited in the same transaction.
 */
@Injectable()
export class AdminRecoveryService {
  constructor(
    private readonly em: EntityManager,
    private readonly payments: PaymentService,
    private readonly dunning: DunningService,
    private readonly policies: RecoveryPolicyService,
    private readonly billingClock: BillingClock,
    private readonly entitlements: EntitlementService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  // ---- the dunning queue ----

  async queue(query: ListDunningQuery): Promise<DunningQueuePageDto> {
    const rows = await this.queueRows(this.em.fork(), {
      tenantId: query.tenantId,
      statuses: query.status ? [query.status] : RUNNING_CAMPAIGN,
      lastAction: query.lastAction,
      cursor: query.cursor,
      limit: query.limit + 1,
    });
    return toPage(rows, query.limit, toCampaignDto);
  }

  /**
   * One charge attempt now, whatever the retry schedule says (a hard decline
   * too: staff may know the card was fixed). Paid recovers the campaign as any
   * payment does; a failure is recorded on it and keeps its schedule.
   */
  async retry(campaignId: string): Promise<RetryCampaignResultDto> {
    const campaign = await this.em
      .fork()
      .findOne(DunningCampaign, { id: campaignId }, { fields: ['status', 'invoice', 'tenantId'] });
    if (!campaign) throw campaignNotFound(campaignId);
    assertRunning(campaign);
    const invoiceId = campaign.invoice.id;
    const outcome = await this.payments.collect(invoiceId, AttemptTrigger.AdminRetry);
    const em = this.em.fork();
    const [after] = await em.execute<{ invoice_status: InvoiceStatus; status: CampaignStatus }[]>(
      `select i.status as invoice_status, c.status
         from platform.dunning_campaign c join platform.invoice i on i.id = c.invoice_id
        where c.id = ?`,
      [campaignId],
    );
    const failure = 'error' in outcome ? outcome.error : null;
    const result: RetryCampaignResultDto = {
      outcome: outcome.status,
      attemptId: 'attemptId' in outcome ? outcome.attemptId : null,
      category: failure?.category ?? null,
      declineCode: failure?.declineCode ?? null,
      invoiceStatus: after.invoice_status,
      campaignStatus: after.status,
    };
    // The attempt itself is recorded (trigger `admin_retry`) by the payment service.
    this.audit.recordPlatform(
      {
        tenantId: campaign.tenantId,
        action: 'billing.dunning.retried',
        data: { campaignId, invoiceId, ...result },
      },
      em,
    );
    await em.flush();
    return result;
  }

  /** No step and no automatic retry until resumed. */
  async pause(campaignId: string): Promise<DunningCampaignDto> {
    await this.inCampaign(campaignId, (tx, campaign, invoice, now) => {
      assertRunning(campaign);
      if (campaign.status === CampaignStatus.Paused) {
        throw new BillingException(
          BillingErrorCode.CampaignAlreadyPaused,
          `Campaign ${campaignId} is already paused (since ${campaign.pausedAt?.toISOString() ?? 'unknown'}).`,
        );
      }
      this.dunning.pause(campaign, invoice, now);
      this.record(tx, 'billing.dunning.paused', campaign, invoice, { pausedAt: now });
      return Promise.resolve();
    });
    return this.campaignRow(campaignId);
  }

  /** Picks up where it stopped: every step and retry moves on by the time spent paused. */
  async resume(campaignId: string): Promise<DunningCampaignDto> {
    await this.inCampaign(campaignId, (tx, campaign, invoice, now) => {
      assertRunning(campaign);
      if (campaign.status !== CampaignStatus.Paused) {
        throw new BillingException(
          BillingErrorCode.CampaignNotPaused,
          `Campaign ${campaignId} is not paused: it is ${campaign.status}.`,
        );
      }
      const pausedAt = campaign.pausedAt ?? null;
      this.dunning.resume(campaign, invoice, now);
      this.record(tx, 'billing.dunning.resumed', campaign, invoice, {
        pausedAt,
        resumedAt: now,
        pausedForMs: pausedAt ? Math.max(0, now.getTime() - pausedAt.getTime()) : 0,
      });
      return Promise.resolve();
    });
    return this.campaignRow(campaignId);
  }

  /** The invoice becomes uncollectible and the campaign ends; a suspended organisation writes again. */
  async markUncollectible(
    campaignId: string,
    dto: MarkUncollectibleDto,
  ): Promise<DunningCampaignDto> {
    const tenantId = await this.inCampaign(campaignId, async (tx, campaign, invoice, now) => {
      assertRunning(campaign);
      const amountDue = invoice.amountDue;
      await this.dunning.writeOff(tx, campaign, invoice, now);
      this.record(tx, 'billing.dunning.written_off', campaign, invoice, {
        amountDue,
        reason: dto.reason,
      });
      return invoice.tenantId;
    });
    this.entitlements.invalidate(tenantId);
    return this.campaignRow(campaignId);
  }

  // ---- recovery figures ----

  async figures(query: RecoveryFiguresQuery): Promise<RecoveryFiguresDto> {
    const to = query.to ?? this.clock.now();
    const from = query.from ?? new Date(to.getTime() - FIGURES_DEFAULT_DAYS * DAY_MS);
    if (from >= to) {
      throw new BillingException(
        BillingErrorCode.RecoveryRangeInvalid,
        `from (${from.toISOString()}) must be before to (${to.toISOString()}).`,
        { from: from.toISOString(), to: to.toISOString() },
      );
    }
    const em = this.em.fork();
    const window = 'c.started_at >= ? and c.started_at < ?';
    const [currencies, categories, steps] = await Promise.all([
      em.execute<
        {
          currency: string;
          started: number;
          recovered: number;
          canceled: number;
          written_off: number;
          closed: number;
          running: number;
          failed_amount: string;
          recovered_amount: string;
          recovery_rate: string | null;
        }[]
      >(
        `select c.currency,
                count(*)::int as started,
                count(*) filter (where c.status = 'recovered')::int as recovered,
                count(*) filter (where c.status = 'canceled')::int as canceled,
                count(*) filter (where c.status = 'written_off')::int as written_off,
                count(*) filter (where c.status = 'closed')::int as closed,
                count(*) filter (where c.status in ('active', 'paused'))::int as running,
                coalesce(sum(c.amount_due), 0)::bigint as failed_amount,
                coalesce(sum(i.amount_paid) filter (where c.status = 'recovered'), 0)::bigint
                  as recovered_amount,
                round(coalesce(sum(i.amount_paid) filter (where c.status = 'recovered'), 0)::numeric
                      / nullif(sum(c.amount_due), 0), 4) as recovery_rate
           from platform.dunning_campaign c
           join platform.invoice i on i.id = c.invoice_id
          where ${window}
          group by c.currency
          order by c.currency`,
        [from, to],
      ),
      em.execute<{ category: string; started: number; recovered: number; rate: string }[]>(
        `select c.first_category as category,
                count(*)::int as started,
                count(*) filter (where c.status = 'recovered')::int as recovered,
                round((count(*) filter (where c.status = 'recovered'))::numeric / count(*), 4) as rate
           from platform.dunning_campaign c
          where ${window}
          group by c.first_category
          order by started desc, category`,
        [from, to],
      ),
      em.execute<{ last_action: string; recovered: number }[]>(
        `select coalesce(c.last_action, '${NO_ACTION}') as last_action, count(*)::int as recovered
           from platform.dunning_campaign c
          where ${window} and c.status = 'recovered'
          group by 1`,
        [from, to],
      ),
    ]);
    return {
      from,
      to,
      currencies: currencies.map((row) => ({
        currency: row.currency.trim(),
        failedAmount: Number(row.failed_amount),
        recoveredAmount: Number(row.recovered_amount),
        recoveryRate: row.recovery_rate === null ? null : Number(row.recovery_rate),
        counts: {
          started: row.started,
          recovered: row.recovered,
          canceled: row.canceled,
          writtenOff: row.written_off,
          closed: row.closed,
          running: row.running,
        },
      })),
      byCategory: categories.map((row) => ({
        category: row.category,
        started: row.started,
        recovered: row.recovered,
        rate: Number(row.rate),
      })),
      byStep: steps
        .map((row) => ({
          lastAction: row.last_action as StepRecoveryDto['lastAction'],
          recovered: row.recovered,
        }))
        .sort((a, b) => STEP_ORDER.indexOf(a.lastAction) - STEP_ORDER.indexOf(b.lastAction)),
    };
  }

  // ---- recovery policies ----

  async listPolicies(): Promise<RecoveryPolicyListDto> {
    const em = this.em.fork();
    const policies = await em.find(
      RecoveryPolicy,
      {},
      { orderBy: { isDefault: 'desc', code: 'asc' } },
    );
    const plans = await this.planCodes(
      em,
      policies.map((policy) => policy.id),
    );
    return { items: policies.map((policy) => toPolicyDto(policy, plans.get(policy.id) ?? [])) };
  }

  async getPolicy(id: string): Promise<RecoveryPolicyDto> {
    const em = this.em.fork();
    return this.withPlans(em, await this.loadPolicy(em, id));
  }

  async createPolicy(dto: CreateRecoveryPolicyDto): Promise<RecoveryPolicyDto> {
    const rules = checkedRules({
      retryDays: dto.retryDays,
      steps: dto.steps,
      cardExpiryNoticeDays: dto.cardExpiryNoticeDays,
    });
    const policy = await this.writePolicies(async (em) => {
      if ((await em.count(RecoveryPolicy, { code: dto.code })) > 0) throw codeTaken(dto.code);
      const now = this.clock.now();
      const row = em.create(RecoveryPolicy, {
        code: dto.code,
        name: dto.name,
        rules,
        isDefault: false,
        createdAt: now,
        updatedAt: now,
      });
      this.recordPolicy(em, 'billing.recovery_policy.created', row, { name: row.name, rules });
      return row;
    });
    return toPolicyDto(policy, []);
  }

  /** Running campaigns keep the copy of the rules they started with: an edit reaches new ones only. */
  async updatePolicy(id: string, dto: UpdateRecoveryPolicyDto): Promise<RecoveryPolicyDto> {
    const policy = await this.writePolicies(async (em) => {
      const row = await this.loadPolicy(em, id);
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      if (
        dto.retryDays !== undefined ||
        dto.steps !== undefined ||
        dto.cardExpiryNoticeDays !== undefined
      ) {
        // Validated whole, before anything changes: a refused edit leaves the policy as it was.
        const rules = checkedRules({
          retryDays: dto.retryDays ?? row.rules.retryDays,
          steps: dto.steps ?? row.rules.steps,
          cardExpiryNoticeDays: dto.cardExpiryNoticeDays ?? row.rules.cardExpiryNoticeDays,
        });
        for (const key of ['retryDays', 'steps', 'cardExpiryNoticeDays'] as const) {
          if (JSON.stringify(row.rules[key]) !== JSON.stringify(rules[key])) {
            changes[key] = { from: row.rules[key], to: rules[key] };
          }
        }
        if (Object.keys(changes).length > 0) row.rules = rules;
      }
      if (dto.name !== undefined && dto.name !== row.name) {
        changes.name = { from: row.name, to: dto.name };
        row.name = dto.name;
      }
      let undefaulted: string[] = [];
      if (dto.isDefault === true && !row.isDefault) {
        // Unset first, in its own statement: the unique index allows one default at any moment.
        const previous = await em.execute<{ code: string }[]>(
          `update platform.recovery_policy set is_default = false, updated_at = ?
            where is_default and id <> ? returning code`,
          [this.clock.now(), row.id],
        );
        undefaulted = previous.map((p) => p.code).sort();
        changes.isDefault = { from: false, to: true };
        row.isDefault = true;
      }
      if (Object.keys(changes).length === 0) return row;
      row.updatedAt = this.clock.now();
      this.recordPolicy(em, 'billing.recovery_policy.updated', row, { changes, undefaulted });
      return row;
    });
    return this.withPlans(this.em.fork(), policy);
  }

  /** A plan's own policy, or (null) the platform default; campaigns already running keep theirs. */
  async setPlanPolicy(
    planId: string,
    dto: SetPlanRecoveryPolicyDto,
  ): Promise<PlanRecoveryPolicyDto> {
    const plan = await this.writePolicies(async (em) => {
      const row = await em.findOne(Plan, { id: planId });
      if (!row) throw new BillingException(BillingErrorCode.PlanNotFound, `No plan ${planId}.`);
      const policy = dto.policyId ? await this.loadPolicy(em, dto.policyId) : null;
      const from = row.recoveryPolicy?.id ?? null;
      const to = policy?.id ?? null;
      if (from === to) return row;
      row.recoveryPolicy = policy;
      row.updatedAt = this.clock.now();
      this.audit.recordPlatform(
        {
          tenantId: null,
          action: 'billing.plan.recovery_policy_set',
          data: { planId: row.id, planCode: row.code, from, to, toCode: policy?.code ?? null },
        },
        em,
      );
      return row;
    });
    const em = this.em.fork();
    const { policy } = await this.policies.forPlan(em, plan.id);
    return {
      planId: plan.id,
      planCode: plan.code,
      policyId: plan.recoveryPolicy?.id ?? null,
      effectivePolicy: policy ? await this.withPlans(em, policy) : null,
    };
  }

  // ---- helpers ----

  /**
   * The dunning queue in one query: campaign, its invoice as it is now, its
   * tenant's name. Soonest next step first (paused ones, with none, last);
   * keyset-paged on (next step time, id) from the cursor campaign.
   */
  private queueRows(em: EntityManager, filter: QueueFilter): Promise<QueueRow[]> {
    const conditions = [`c.status in (${filter.statuses.map(() => '?').join(', ')})`];
    const params: unknown[] = [...filter.statuses];
    if (filter.ids) {
      conditions.push(`c.id in (${filter.ids.map(() => '?').join(', ')})`);
      params.push(...filter.ids);
    }
    if (filter.tenantId) {
      conditions.push('c.tenant_id = ?');
      params.push(filter.tenantId);
    }
    if (filter.lastAction === NO_ACTION) {
      conditions.push('c.last_action is null');
    } else if (filter.lastAction) {
      conditions.push('c.last_action = ?');
      params.push(filter.lastAction);
    }
    const sortKey = (alias: string) => `coalesce(${alias}.next_step_at, 'infinity'::timestamptz)`;
    if (filter.cursor) {
      conditions.push(
        `(${sortKey('c')}, c.id) > (select ${sortKey('k')}, k.id from platform.dunning_campaign k where k.id = ?)`,
      );
      params.push(filter.cursor);
    }
    params.push(filter.limit);
    return em.execute<QueueRow[]>(
      `select c.id, c.tenant_id, t.name as tenant_name, c.invoice_id, i.number as invoice_number,
              i.amount_due, i.currency, c.status, c.last_failure_class, c.first_category,
              c.last_category, c.last_decline_code, c.started_at, c.last_action,
              case when c.status in ('active', 'paused')
                   then c.rules -> 'steps' -> c.next_step ->> 'action' end as next_action,
              c.next_step_at, i.next_attempt_at, c.paused_at, c.ended_at
         from platform.dunning_campaign c
         join platform.invoice i on i.id = c.invoice_id
         join platform.tenant t on t.id = c.tenant_id
        where ${conditions.join(' and ')}
        order by ${sortKey('c')}, c.id
        limit ?`,
      params,
    );
  }

  private async campaignRow(campaignId: string): Promise<DunningCampaignDto> {
    const [row] = await this.queueRows(this.em.fork(), {
      ids: [campaignId],
      statuses: Object.values(CampaignStatus),
      limit: 1,
    });
    if (!row) throw campaignNotFound(campaignId);
    return toCampaignDto(row);
  }

  /**
   * A campaign change in one transaction: the invoice row locked first, then
   * the campaign (the lock order of every dunning path), at the tenant's
   * billing time.
   */
  private inCampaign<T>(
    campaignId: string,
    work: (tx: EntityManager, campaign: DunningCampaign, invoice: Invoice, now: Date) => Promise<T>,
  ): Promise<T> {
    return this.em.fork().transactional(async (tx) => {
      const [peek] = await tx.execute<{ invoice_id: string }[]>(
        'select invoice_id from platform.dunning_campaign where id = ?',
        [campaignId],
      );
      if (!peek) throw campaignNotFound(campaignId);
      const invoice = await tx.findOneOrFail(
        Invoice,
        { id: peek.invoice_id },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      const campaign = await this.dunning.lockCampaign(tx, invoice);
      if (!campaign) throw campaignNotFound(campaignId);
      const now = await this.billingClock.nowFor(tx, invoice.tenantId);
      return work(tx, campaign, invoice, now);
    });
  }

  private record(
    em: EntityManager,
    action: string,
    campaign: DunningCampaign,
    invoice: Invoice,
    data: Record<string, unknown>,
  ): void {
    this.audit.recordPlatform(
      {
        tenantId: invoice.tenantId,
        action,
        data: { campaignId: campaign.id, invoiceId: invoice.id, ...data },
      },
      em,
    );
  }

  /** Policies are platform settings: their events belong to no tenant. */
  private recordPolicy(
    em: EntityManager,
    action: string,
    policy: RecoveryPolicy,
    data: Record<string, unknown>,
  ): void {
    this.audit.recordPlatform(
      { tenantId: null, action, data: { policyId: policy.id, code: policy.code, ...data } },
      em,
    );
  }

  /** One policy change: serialised with the others and committed whole. */
  private async writePolicies<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await this.em.fork().transactional(async (em) => {
        await em.execute(POLICY_LOCK_SQL);
        return work(em);
      });
    } catch (error) {
      // The lock makes the check exact; the index is the backstop should anything bypass it.
      if (
        error instanceof UniqueConstraintViolationException &&
        /recovery_policy_code_key/.test(error.message)
      ) {
        throw new BillingException(
          BillingErrorCode.RecoveryPolicyCodeTaken,
          'Another recovery policy already has this code.',
          {},
          error,
        );
      }
      throw error;
    }
  }

  private async loadPolicy(em: EntityManager, id: string): Promise<RecoveryPolicy> {
    const policy = await em.findOne(RecoveryPolicy, { id });
    if (!policy) {
      throw new BillingException(
        BillingErrorCode.RecoveryPolicyNotFound,
        `No recovery policy ${id}.`,
      );
    }
    return policy;
  }

  private async planCodes(em: EntityManager, policyIds: string[]): Promise<Map<string, string[]>> {
    const byPolicy = new Map<string, string[]>();
    if (policyIds.length === 0) return byPolicy;
    const rows = await em.execute<{ policy_id: string; code: string }[]>(
      `select recovery_policy_id as policy_id, code from platform.plan
        where recovery_policy_id in (${policyIds.map(() => '?').join(', ')})
        order by code`,
      policyIds,
    );
    for (const row of rows)
      byPolicy.set(row.policy_id, [...(byPolicy.get(row.policy_id) ?? []), row.code]);
    return byPolicy;
  }

  private async withPlans(em: EntityManager, policy: RecoveryPolicy): Promise<RecoveryPolicyDto> {
    const plans = await this.planCodes(em, [policy.id]);
    return toPolicyDto(policy, plans.get(policy.id) ?? []);
  }
}

/** The rules as stored (plain objects), or a 422 listing everything wrong with them. */
function checkedRules(input: RecoveryRules): RecoveryRules {
  const rules: RecoveryRules = {
    retryDays: [...input.retryDays],
    steps: input.steps.map((step) => ({ day: step.day, action: step.action })),
    cardExpiryNoticeDays: input.cardExpiryNoticeDays,
  };
  const problems = policyProblems(rules);
  if (problems.length > 0) {
    throw new BillingException(
      BillingErrorCode.RecoveryPolicyInvalid,
      `Invalid recovery policy: ${problems.join('; ')}.`,
      { problems },
    );
  }
  return rules;
}

function assertRunning(campaign: Pick<DunningCampaign, 'id' | 'status'>): void {
  if (!RUNNING_CAMPAIGN.includes(campaign.status as never)) {
    throw new BillingException(
      BillingErrorCode.CampaignNotRunning,
      `Campaign ${campaign.id} has ended (${campaign.status}): there is nothing left to act on.`,
      { status: campaign.status },
    );
  }
}

function campaignNotFound(id: string): BillingException {
  return new BillingException(BillingErrorCode.CampaignNotFound, `No dunning campaign ${id}.`);
}

function codeTaken(code: string): BillingException {
  return new BillingException(
    BillingErrorCode.RecoveryPolicyCodeTaken,
    `A recovery policy with the code "${code}" already exists.`,
  );
}

const date = (value: Date | string | null): Date | null =>
  value === null ? null : new Date(value);

function toCampaignDto(row: QueueRow): DunningCampaignDto {
  return {
    campaignId: row.id,
    tenantId: row.tenant_id,
    tenantName: row.tenant_name,
    invoiceId: row.invoice_id,
    invoiceNumber: row.invoice_number,
    amountDue: Number(row.amount_due),
    currency: row.currency.trim(),
    status: row.status,
    failureClass: row.last_failure_class,
    firstCategory: row.first_category,
    lastCategory: row.last_category,
    lastDeclineCode: row.last_decline_code,
    startedAt: new Date(row.started_at),
    lastAction: row.last_action,
    nextAction: row.next_action,
    nextActionAt: date(row.next_step_at),
    nextAttemptAt: date(row.next_attempt_at),
    pausedAt: date(row.paused_at),
    endedAt: date(row.ended_at),
  };
}

function toPolicyDto(policy: RecoveryPolicy, planCodes: string[]): RecoveryPolicyDto {
  return {
    id: policy.id,
    code: policy.code,
    name: policy.name,
    isDefault: policy.isDefault,
    retryDays: [...policy.rules.retryDays],
    steps: policy.rules.steps.map((step) => ({ day: step.day, action: step.action })),
    cardExpiryNoticeDays: policy.rules.cardExpiryNoticeDays,
    planCodes,
    createdAt: policy.createdAt,
    updatedAt: policy.updatedAt,
  };
}
