// Platform migration.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261126064930_payment_recovery extends Migration {
  override up(): void {
    this.addSql(
      'create table "platform"."recovery_policy" ("id" uuid not null, "code" text not null, "name" text not null, "rules" jsonb not null, "is_default" boolean not null default false, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "recovery_policy_pkey" primary key ("id"))',
    );
    this.addSql(
      'alter table "platform"."recovery_policy" add constraint "recovery_policy_code_key" unique ("code")',
    );
    this.addSql(
      'create unique index recovery_policy_default_key on platform.recovery_policy (is_default) where is_default',
    );
    this.addSql(
      'create table "platform"."dunning_campaign" ("id" uuid not null, "tenant_id" uuid not null, "invoice_id" uuid not null, "subscription_id" uuid not null, "policy_id" uuid null, "rules" jsonb not null, "status" text check ("status" in (\'active\', \'paused\', \'recovered\', \'canceled\', \'written_off\', \'closed\')) not null, "started_at" timestamptz not null, "schedule_origin" timestamptz not null, "next_step" int not null default 0, "next_step_at" timestamptz null, "last_action" text check ("last_action" in (\'notify\', \'remind\', \'warn\', \'suspend\', \'cancel\')) null, "first_category" text not null, "last_failure_class" text not null, "last_category" text null, "last_decline_code" text null, "amount_due" bigint not null, "currency" char(3) not null, "paused_at" timestamptz null, "ended_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "dunning_campaign_pkey" primary key ("id"))',
    );
    this.addSql(
      'alter table "platform"."dunning_campaign" add constraint "dunning_campaign_invoice_id_key" unique ("invoice_id")',
    );
    this.addSql(
      'create index "dunning_campaign_started_at_idx" on "platform"."dunning_campaign" ("started_at")',
    );
    this.addSql(
      'create index "dunning_campaign_tenant_id_idx" on "platform"."dunning_campaign" ("tenant_id")',
    );
    this.addSql(
      'create index "dunning_campaign_status_next_step_at_idx" on "platform"."dunning_campaign" ("status", "next_step_at")',
    );
    this.addSql(
      'create table "platform"."dunning_step_run" ("campaign_id" uuid not null, "step" int not null, "action" text check ("action" in (\'notify\', \'remind\', \'warn\', \'suspend\', \'cancel\')) not null, "due_at" timestamptz not null, "ran_at" timestamptz not null, constraint "dunning_step_run_pkey" primary key ("campaign_id", "step"))',
    );
    this.addSql(
      'alter table "platform"."dunning_campaign" add constraint "dunning_campaign_invoice_id_foreign" foreign key ("invoice_id") references "platform"."invoice" ("id") on update cascade on delete restrict',
    );
    this.addSql(
      'alter table "platform"."dunning_campaign" add constraint "dunning_campaign_subscription_id_foreign" foreign key ("subscription_id") references "platform"."subscription" ("id") on update cascade on delete restrict',
    );
    this.addSql(
      'alter table "platform"."dunning_campaign" add constraint "dunning_campaign_policy_id_foreign" foreign key ("policy_id") references "platform"."recovery_policy" ("id") on update cascade on delete set null',
    );
    this.addSql(
      'alter table "platform"."dunning_step_run" add constraint "dunning_step_run_campaign_id_foreign" foreign key ("campaign_id") references "platform"."dunning_campaign" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "platform"."payment_method" add column "expiry_notice_sent_at" timestamptz null',
    );
    this.addSql('alter table "platform"."plan" add column "recovery_policy_id" uuid null');
    this.addSql(
      'alter table "platform"."plan" add constraint "plan_recovery_policy_id_foreign" foreign key ("recovery_policy_id") references "platform"."recovery_policy" ("id") on update cascade on delete restrict',
    );
    this.addSql(
      "create index invoice_next_attempt_at_idx on platform.invoice (next_attempt_at) where status = 'open' and next_attempt_at is not null",
    );
    // New attempt triggers: a new default card, and staff asking for an attempt now.
    this.addSql(
      'alter table "platform"."payment_attempt" drop constraint if exists "payment_attempt_trigger_check"',
    );
    this.addSql(
      "alter table \"platform\".\"payment_attempt\" add constraint \"payment_attempt_trigger_check\" check(\"trigger\" in ('subscribe', 'change', 'renewal', 'pay_now', 'retry', 'payment_method_updated', 'admin_retry'))",
    );
    // The platform default: retries on days 1, 3, 5, 7; notify, remind, warn, suspend on day 10, cancel on day 30.
    this.addSql(
      `insert into "platform"."recovery_policy" ("id", "code", "name", "rules", "is_default", "created_at", "updated_at")
       values (gen_random_uuid(), 'default', 'Standard recovery', '{"retryDays":[1,3,5,7],"steps":[{"day":0,"action":"notify"},{"day":3,"action":"remind"},{"day":7,"action":"warn"},{"day":10,"action":"suspend"},{"day":30,"action":"cancel"}],"cardExpiryNoticeDays":14}', true, now(), now())`,
    );
  }

  override down(): void {
    this.addSql(
      'alter table "platform"."payment_attempt" drop constraint if exists "payment_attempt_trigger_check"',
    );
    this.addSql(
      "alter table \"platform\".\"payment_attempt\" add constraint \"payment_attempt_trigger_check\" check(\"trigger\" in ('subscribe', 'change', 'renewal', 'pay_now', 'retry'))",
    );
    this.addSql('alter table "platform"."plan" drop constraint "plan_recovery_policy_id_foreign"');
    this.addSql(
      'alter table "platform"."dunning_campaign" drop constraint "dunning_campaign_policy_id_foreign"',
    );
    this.addSql(
      'alter table "platform"."dunning_step_run" drop constraint "dunning_step_run_campaign_id_foreign"',
    );
    this.addSql('drop table if exists "platform"."recovery_policy" cascade');
    this.addSql('drop table if exists "platform"."dunning_campaign" cascade');
    this.addSql('drop table if exists "platform"."dunning_step_run" cascade');
    this.addSql('drop index "platform"."invoice_next_attempt_at_idx"');
    this.addSql('alter table "platform"."payment_method" drop column "expiry_notice_sent_at"');
    this.addSql('alter table "platform"."plan" drop column "recovery_policy_id"');
  }
}
