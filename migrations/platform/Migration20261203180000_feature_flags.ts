// Platform migration: feature flags, their per-tenant overrides, beta cohorts (ADR 0023).
import { Migration } from '@mikro-orm/migrations';

export class Migration20261203180000_feature_flags extends Migration {
  override up(): void {
    this.addSql(
      'create table "platform"."feature_flag" ("id" uuid not null, "key" text not null, "description" text not null, "default_enabled" boolean not null, "plan_defaults" jsonb not null, "gates" text[] not null, "archived_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "feature_flag_pkey" primary key ("id"))',
    );
    this.addSql(
      'alter table "platform"."feature_flag" add constraint "feature_flag_key_key" unique ("key")',
    );
    this.addSql(
      'create table "platform"."beta_cohort" ("id" uuid not null, "key" text not null, "name" text not null, "description" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "beta_cohort_pkey" primary key ("id"))',
    );
    this.addSql(
      'alter table "platform"."beta_cohort" add constraint "beta_cohort_key_key" unique ("key")',
    );
    this.addSql(
      'create table "platform"."feature_flag_override" ("id" uuid not null, "flag_id" uuid not null, "tenant_id" uuid not null, "enabled" boolean not null, "reason" text null, "created_by" uuid null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "feature_flag_override_pkey" primary key ("id"))',
    );
    this.addSql(
      'create index "feature_flag_override_tenant_idx" on "platform"."feature_flag_override" ("tenant_id")',
    );
    this.addSql(
      'alter table "platform"."feature_flag_override" add constraint "feature_flag_override_flag_tenant_key" unique ("flag_id", "tenant_id")',
    );
    this.addSql(
      'create table "platform"."beta_cohort_member" ("id" uuid not null, "cohort_id" uuid not null, "tenant_id" uuid not null, "added_by" uuid null, "created_at" timestamptz not null, constraint "beta_cohort_member_pkey" primary key ("id"))',
    );
    this.addSql(
      'create index "beta_cohort_member_tenant_idx" on "platform"."beta_cohort_member" ("tenant_id")',
    );
    this.addSql(
      'alter table "platform"."beta_cohort_member" add constraint "beta_cohort_member_cohort_tenant_key" unique ("cohort_id", "tenant_id")',
    );
    this.addSql(
      'create table "platform"."feature_flag_cohort" ("id" uuid not null, "flag_id" uuid not null, "cohort_id" uuid not null, "enabled" boolean not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "feature_flag_cohort_pkey" primary key ("id"))',
    );
    this.addSql(
      'create index "feature_flag_cohort_cohort_idx" on "platform"."feature_flag_cohort" ("cohort_id")',
    );
    this.addSql(
      'alter table "platform"."feature_flag_cohort" add constraint "feature_flag_cohort_flag_cohort_key" unique ("flag_id", "cohort_id")',
    );
    this.addSql(
      'alter table "platform"."feature_flag_override" add constraint "feature_flag_override_flag_id_foreign" foreign key ("flag_id") references "platform"."feature_flag" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "platform"."feature_flag_override" add constraint "feature_flag_override_tenant_id_foreign" foreign key ("tenant_id") references "platform"."tenant" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "platform"."beta_cohort_member" add constraint "beta_cohort_member_cohort_id_foreign" foreign key ("cohort_id") references "platform"."beta_cohort" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "platform"."beta_cohort_member" add constraint "beta_cohort_member_tenant_id_foreign" foreign key ("tenant_id") references "platform"."tenant" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "platform"."feature_flag_cohort" add constraint "feature_flag_cohort_flag_id_foreign" foreign key ("flag_id") references "platform"."feature_flag" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "platform"."feature_flag_cohort" add constraint "feature_flag_cohort_cohort_id_foreign" foreign key ("cohort_id") references "platform"."beta_cohort" ("id") on update cascade on delete cascade',
    );
  }

  override down(): void {
    this.addSql('drop table if exists "platform"."feature_flag_cohort" cascade');
    this.addSql('drop table if exists "platform"."beta_cohort_member" cascade');
    this.addSql('drop table if exists "platform"."feature_flag_override" cascade');
    this.addSql('drop table if exists "platform"."beta_cohort" cascade');
    this.addSql('drop table if exists "platform"."feature_flag" cascade');
  }
}
