// Platform migration.
// Indexes that serve each filter and sort order of the list endpoints (the
// inventory is in docs/performance.md, "Indexes and query budgets").
import { Migration } from '@mikro-orm/migrations';

export class Migration20261203102856_list_indexes extends Migration {
  override up(): void {
    this.addSql('drop index "platform"."kb_article_category_id_idx"');
    this.addSql(
      'create index "kb_article_status_id_idx" on "platform"."kb_article" ("status", "id")',
    );
    this.addSql(
      'create index "kb_article_category_id_idx" on "platform"."kb_article" ("category_id", "id")',
    );
    this.addSql(
      'create index "membership_tenant_created_idx" on "platform"."membership" ("tenant_id", "created_at", "id")',
    );
    this.addSql(
      'create index "invoice_tenant_id_id_idx" on "platform"."invoice" ("tenant_id", "id")',
    );
    this.addSql(
      "create index payment_attempt_tenant_failure_idx on platform.payment_attempt (tenant_id, id) where status in ('failed', 'requires_action', 'unknown')",
    );
    this.addSql(
      "create index payment_attempt_failure_idx on platform.payment_attempt (id) where status in ('failed', 'requires_action', 'unknown')",
    );
    this.addSql(
      "create index dunning_campaign_queue_idx on platform.dunning_campaign ((coalesce(next_step_at, 'infinity'::timestamptz)), id)",
    );
    this.addSql(
      "create index support_queue_open_next_due_idx on platform.support_queue ((least(case when first_response_at is null then first_response_due_at end, case when solved_at is null then resolution_due_at end)) nulls last, created_at) where status not in ('solved', 'closed')",
    );
    this.addSql(
      'create index "tenant_name_trgm_idx" on "platform"."tenant" using gin ("name" public.gin_trgm_ops)',
    );
    this.addSql(
      'create index "tenant_slug_trgm_idx" on "platform"."tenant" using gin ("slug" public.gin_trgm_ops)',
    );
    this.addSql('create index "tenant_status_id_idx" on "platform"."tenant" ("status", "id")');
  }

  override down(): void {
    this.addSql('drop index "platform"."dunning_campaign_queue_idx"');
    this.addSql('drop index "platform"."invoice_tenant_id_id_idx"');
    this.addSql('drop index "platform"."kb_article_status_id_idx"');
    this.addSql('drop index "platform"."kb_article_category_id_idx"');
    this.addSql(
      'create index "kb_article_category_id_idx" on "platform"."kb_article" ("category_id")',
    );
    this.addSql('drop index "platform"."membership_tenant_created_idx"');
    this.addSql('drop index "platform"."payment_attempt_tenant_failure_idx"');
    this.addSql('drop index "platform"."payment_attempt_failure_idx"');
    this.addSql('drop index "platform"."support_queue_open_next_due_idx"');
    this.addSql('drop index "platform"."tenant_name_trgm_idx"');
    this.addSql('drop index "platform"."tenant_slug_trgm_idx"');
    this.addSql('drop index "platform"."tenant_status_id_idx"');
  }
}
