// Platform migration.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261126032635_billing extends Migration {
  override up(): void {
    this.addSql(
      'create table "platform"."billing_counter" ("name" text not null, "value" bigint not null, constraint "billing_counter_pkey" primary key ("name"))',
    );
    this.addSql(
      'create table "platform"."billing_customer" ("tenant_id" uuid not null, "gateway_id" text not null, "email" text not null, "name" text not null, "default_payment_method_id" uuid null, "balance" bigint not null default 0, "test_clock_at" timestamptz null, "trial_used_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "billing_customer_pkey" primary key ("tenant_id"))',
    );
    this.addSql(
      'alter table "platform"."billing_customer" add constraint "billing_customer_gateway_id_key" unique ("gateway_id")',
    );
    this.addSql(
      'create table "platform"."feature" ("key" text not null, "name" text not null, "description" text null, "kind" text check ("kind" in (\'flag\', \'limit\', \'text\')) not null, "sort_order" int not null, constraint "feature_pkey" primary key ("key"))',
    );
    this.addSql(
      'create table "platform"."gateway_event" ("id" text not null, "type" text not null, "payload" jsonb not null, "occurred_at" timestamptz not null, "received_at" timestamptz not null, "processed_at" timestamptz null, "attempts" int not null default 0, "last_error" text null, constraint "gateway_event_pkey" primary key ("id"))',
    );
    this.addSql(
      'create index "gateway_event_unprocessed_idx" on "platform"."gateway_event" ("processed_at", "received_at")',
    );
    this.addSql(
      'create table "platform"."idempotency_key" ("id" uuid not null, "scope" text not null, "key" text not null, "request_hash" text not null, "state" text check ("state" in (\'processing\', \'completed\')) not null, "response_status" smallint null, "response_body" jsonb null, "created_at" timestamptz not null, "expires_at" timestamptz not null, constraint "idempotency_key_pkey" primary key ("id"))',
    );
    this.addSql(
      'create index "idempotency_key_expires_at_idx" on "platform"."idempotency_key" ("expires_at")',
    );
    this.addSql(
      'alter table "platform"."idempotency_key" add constraint "idempotency_key_scope_key_key" unique ("scope", "key")',
    );
    this.addSql(
      'create table "platform"."payment_method" ("id" uuid not null, "tenant_id" uuid not null, "gateway_id" text not null, "brand" text not null, "last4" text not null, "exp_month" smallint not null, "exp_year" smallint not null, "created_at" timestamptz not null, "detached_at" timestamptz null, constraint "payment_method_pkey" primary key ("id"))',
    );
    this.addSql(
      'alter table "platform"."payment_method" add constraint "payment_method_gateway_id_key" unique ("gateway_id")',
    );
    this.addSql(
      'create index "payment_method_tenant_id_idx" on "platform"."payment_method" ("tenant_id")',
    );
    this.addSql(
      'create table "platform"."plan" ("id" uuid not null, "code" text not null, "name" text not null, "description" text not null, "sort_order" int not null, "support_tier" text check ("support_tier" in (\'community\', \'standard\', \'priority\', \'dedicated\')) not null, "seat_limit" int null, "trial_days" int not null default 0, "recommended" boolean not null default false, "features" jsonb not null, "status" text check ("status" in (\'active\', \'archived\')) not null default \'active\', "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "plan_pkey" primary key ("id"))',
    );
    this.addSql('alter table "platform"."plan" add constraint "plan_code_key" unique ("code")');
    this.addSql(
      'create table "platform"."price" ("id" uuid not null, "plan_id" uuid not null, "currency" char(3) not null, "interval" text check ("interval" in (\'month\', \'year\')) not null, "unit_amount" bigint not null, "status" text check ("status" in (\'active\', \'archived\')) not null default \'active\', "created_at" timestamptz not null, "archived_at" timestamptz null, constraint "price_pkey" primary key ("id"))',
    );
    this.addSql(
      "create unique index price_active_key on platform.price (plan_id, currency, interval) where status = 'active'",
    );
    this.addSql(
      'create table "platform"."subscription" ("id" uuid not null, "tenant_id" uuid not null, "plan_id" uuid not null, "price_id" uuid not null, "quantity" int not null, "billing_anchor" timestamptz not null, "status" text check ("status" in (\'trialing\', \'active\', \'incomplete\', \'incomplete_expired\', \'past_due\', \'unpaid\', \'canceled\')) not null, "current_period_start" timestamptz not null, "current_period_end" timestamptz not null, "trial_end" timestamptz null, "cancel_at_period_end" boolean not null default false, "cancel_reason" text null, "cancel_comment" text null, "canceled_at" timestamptz null, "ended_at" timestamptz null, "pending_price_id" uuid null, "pending_quantity" int null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "subscription_pkey" primary key ("id"))',
    );
    this.addSql(
      'create index "subscription_tenant_id_idx" on "platform"."subscription" ("tenant_id")',
    );
    this.addSql(
      'create index "subscription_status_period_end_idx" on "platform"."subscription" ("status", "current_period_end")',
    );
    this.addSql(
      "create unique index subscription_live_tenant_key on platform.subscription (tenant_id) where status in ('trialing', 'active', 'incomplete', 'past_due', 'unpaid')",
    );
    this.addSql(
      'create table "platform"."invoice" ("id" uuid not null, "tenant_id" uuid not null, "subscription_id" uuid null, "number" text null, "status" text check ("status" in (\'draft\', \'open\', \'paid\', \'void\', \'uncollectible\')) not null, "reason" text check ("reason" in (\'subscription_create\', \'subscription_cycle\', \'subscription_update\')) not null, "currency" char(3) not null, "subtotal" bigint not null, "total" bigint not null, "credit_applied" bigint not null default 0, "amount_due" bigint not null, "amount_paid" bigint not null default 0, "amount_refunded" bigint not null default 0, "period_start" timestamptz not null, "period_end" timestamptz not null, "billing_key" text null, "attempt_count" int not null default 0, "next_attempt_at" timestamptz null, "paid_at" timestamptz null, "voided_at" timestamptz null, "disputed_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "invoice_pkey" primary key ("id"))',
    );
    this.addSql(
      'alter table "platform"."invoice" add constraint "invoice_number_key" unique ("number")',
    );
    this.addSql(
      'alter table "platform"."invoice" add constraint "invoice_billing_key_key" unique ("billing_key")',
    );
    this.addSql('create index "invoice_status_idx" on "platform"."invoice" ("status")');
    this.addSql(
      'create index "invoice_tenant_id_created_at_idx" on "platform"."invoice" ("tenant_id", "created_at")',
    );
    this.addSql(
      'create table "platform"."payment_attempt" ("id" uuid not null, "tenant_id" uuid not null, "invoice_id" uuid not null, "attempt_number" int not null, "trigger" text check ("trigger" in (\'subscribe\', \'change\', \'renewal\', \'pay_now\', \'retry\')) not null, "amount" bigint not null, "currency" char(3) not null, "idempotency_key" text not null, "payment_method_id" uuid null, "status" text check ("status" in (\'pending\', \'succeeded\', \'failed\', \'requires_action\', \'unknown\')) not null, "category" text null, "decline_code" text null, "retryable" boolean null, "message" text null, "gateway_payment_id" text null, "gateway_request_id" text null, "created_at" timestamptz not null, "completed_at" timestamptz null, constraint "payment_attempt_pkey" primary key ("id"))',
    );
    this.addSql(
      'alter table "platform"."payment_attempt" add constraint "payment_attempt_idempotency_key_key" unique ("idempotency_key")',
    );
    this.addSql(
      'create index "payment_attempt_gateway_payment_id_idx" on "platform"."payment_attempt" ("gateway_payment_id")',
    );
    this.addSql(
      'create index "payment_attempt_status_created_at_idx" on "platform"."payment_attempt" ("status", "created_at")',
    );
    this.addSql(
      'create index "payment_attempt_invoice_id_idx" on "platform"."payment_attempt" ("invoice_id")',
    );
    this.addSql(
      'create table "platform"."invoice_line" ("id" uuid not null, "tenant_id" uuid not null, "invoice_id" uuid null, "kind" text check ("kind" in (\'plan\', \'proration_credit\', \'proration_debit\')) not null, "description" text not null, "quantity" int not null, "unit_amount" bigint not null, "amount" bigint not null, "price_id" uuid null, "interval" text check ("interval" in (\'month\', \'year\')) null, "period_start" timestamptz not null, "period_end" timestamptz not null, "created_at" timestamptz not null, constraint "invoice_line_pkey" primary key ("id"))',
    );
    this.addSql(
      'create index invoice_line_pending_idx on platform.invoice_line (tenant_id) where invoice_id is null',
    );
    this.addSql(
      'create index "invoice_line_invoice_id_idx" on "platform"."invoice_line" ("invoice_id")',
    );
    this.addSql(
      'alter table "platform"."price" add constraint "price_plan_id_foreign" foreign key ("plan_id") references "platform"."plan" ("id") on update cascade on delete restrict',
    );
    this.addSql(
      'alter table "platform"."subscription" add constraint "subscription_plan_id_foreign" foreign key ("plan_id") references "platform"."plan" ("id") on update cascade on delete restrict',
    );
    this.addSql(
      'alter table "platform"."subscription" add constraint "subscription_price_id_foreign" foreign key ("price_id") references "platform"."price" ("id") on update cascade on delete restrict',
    );
    this.addSql(
      'alter table "platform"."subscription" add constraint "subscription_pending_price_id_foreign" foreign key ("pending_price_id") references "platform"."price" ("id") on update cascade on delete restrict',
    );
    this.addSql(
      'alter table "platform"."invoice" add constraint "invoice_subscription_id_foreign" foreign key ("subscription_id") references "platform"."subscription" ("id") on update cascade on delete restrict',
    );
    this.addSql(
      'alter table "platform"."payment_attempt" add constraint "payment_attempt_invoice_id_foreign" foreign key ("invoice_id") references "platform"."invoice" ("id") on update cascade on delete restrict',
    );
    this.addSql(
      'alter table "platform"."invoice_line" add constraint "invoice_line_invoice_id_foreign" foreign key ("invoice_id") references "platform"."invoice" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "platform"."invoice_line" add constraint "invoice_line_price_id_foreign" foreign key ("price_id") references "platform"."price" ("id") on update cascade on delete restrict',
    );
  }

  override down(): void {
    this.addSql('alter table "platform"."price" drop constraint "price_plan_id_foreign"');
    this.addSql(
      'alter table "platform"."subscription" drop constraint "subscription_plan_id_foreign"',
    );
    this.addSql(
      'alter table "platform"."subscription" drop constraint "subscription_price_id_foreign"',
    );
    this.addSql(
      'alter table "platform"."subscription" drop constraint "subscription_pending_price_id_foreign"',
    );
    this.addSql(
      'alter table "platform"."invoice_line" drop constraint "invoice_line_price_id_foreign"',
    );
    this.addSql(
      'alter table "platform"."invoice" drop constraint "invoice_subscription_id_foreign"',
    );
    this.addSql(
      'alter table "platform"."payment_attempt" drop constraint "payment_attempt_invoice_id_foreign"',
    );
    this.addSql(
      'alter table "platform"."invoice_line" drop constraint "invoice_line_invoice_id_foreign"',
    );
    this.addSql('drop table if exists "platform"."billing_counter" cascade');
    this.addSql('drop table if exists "platform"."billing_customer" cascade');
    this.addSql('drop table if exists "platform"."feature" cascade');
    this.addSql('drop table if exists "platform"."gateway_event" cascade');
    this.addSql('drop table if exists "platform"."idempotency_key" cascade');
    this.addSql('drop table if exists "platform"."payment_method" cascade');
    this.addSql('drop table if exists "platform"."plan" cascade');
    this.addSql('drop table if exists "platform"."price" cascade');
    this.addSql('drop table if exists "platform"."subscription" cascade');
    this.addSql('drop table if exists "platform"."invoice" cascade');
    this.addSql('drop table if exists "platform"."payment_attempt" cascade');
    this.addSql('drop table if exists "platform"."invoice_line" cascade');
  }
}
