// Platform migration.
// Product feedback (ADR 0024): in the platform schema, one table the
// operator's admin list, summary and CSV export read across all tenants.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261203180100_feedback extends Migration {
  override up(): void {
    this.addSql(
      'create table "platform"."feedback" ("id" uuid not null, "tenant_id" uuid not null, "user_id" uuid not null, "kind" text check ("kind" in (\'rating\', \'nps\')) not null, "score" smallint not null, "category" text check ("category" in (\'bug\', \'feature_request\', \'billing\', \'support\', \'usability\', \'performance\', \'other\')) not null, "message" text null, "context" jsonb not null, "created_at" timestamptz not null, constraint "feedback_pkey" primary key ("id"), constraint "feedback_score_range_check" check (((kind = \'rating\' and score >= 1 and score <= 5) or (kind = \'nps\' and score >= 0 and score <= 10))))',
    );
    this.addSql(
      'create index "feedback_created_idx" on "platform"."feedback" ("created_at", "id")',
    );
    this.addSql(
      'create index "feedback_tenant_created_idx" on "platform"."feedback" ("tenant_id", "created_at", "id")',
    );
    this.addSql(
      'create index "feedback_kind_created_idx" on "platform"."feedback" ("kind", "created_at", "id")',
    );
    this.addSql(
      'create index "feedback_category_created_idx" on "platform"."feedback" ("category", "created_at", "id")',
    );
    this.addSql(
      'create index "feedback_message_trgm_idx" on "platform"."feedback" using gin ("message" public.gin_trgm_ops)',
    );
    this.addSql(
      'alter table "platform"."feedback" add constraint "feedback_tenant_id_foreign" foreign key ("tenant_id") references "platform"."tenant" ("id") on update cascade on delete cascade',
    );
  }

  override down(): void {
    this.addSql('drop table if exists "platform"."feedback" cascade');
  }
}
