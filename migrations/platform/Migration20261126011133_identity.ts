// Platform migration.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261126011133_identity extends Migration {
  override up(): void {
    this.addSql(
      'create table "platform"."api_key" ("id" uuid not null, "tenant_id" uuid not null, "name" text not null, "prefix" text not null, "secret_hash" text not null, "scopes" text[] not null, "created_by" uuid not null, "created_at" timestamptz not null, "last_used_at" timestamptz null, "expires_at" timestamptz null, "revoked_at" timestamptz null, constraint "api_key_pkey" primary key ("id"))',
    );
    this.addSql(
      'alter table "platform"."api_key" add constraint "api_key_prefix_key" unique ("prefix")',
    );
    this.addSql('create index "api_key_tenant_idx" on "platform"."api_key" ("tenant_id")');
    this.addSql(
      'create table "platform"."email_token" ("id" uuid not null, "user_id" uuid not null, "purpose" text check ("purpose" in (\'verify_email\', \'reset_password\')) not null, "token_hash" text not null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "used_at" timestamptz null, constraint "email_token_pkey" primary key ("id"))',
    );
    this.addSql(
      'alter table "platform"."email_token" add constraint "email_token_hash_key" unique ("token_hash")',
    );
    this.addSql('create index "email_token_user_idx" on "platform"."email_token" ("user_id")');
    this.addSql(
      'create table "platform"."invitation" ("id" uuid not null, "tenant_id" uuid not null, "email" text not null, "role" text check ("role" in (\'owner\', \'admin\', \'billing_manager\', \'support_agent\', \'member\')) not null, "token_hash" text not null, "invited_by" uuid not null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "accepted_at" timestamptz null, "revoked_at" timestamptz null, constraint "invitation_pkey" primary key ("id"))',
    );
    this.addSql(
      'alter table "platform"."invitation" add constraint "invitation_token_hash_key" unique ("token_hash")',
    );
    this.addSql('create index "invitation_tenant_idx" on "platform"."invitation" ("tenant_id")');
    this.addSql(
      'create table "platform"."membership" ("id" uuid not null, "tenant_id" uuid not null, "user_id" uuid not null, "role" text check ("role" in (\'owner\', \'admin\', \'billing_manager\', \'support_agent\', \'member\')) not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "membership_pkey" primary key ("id"))',
    );
    this.addSql('create index "membership_user_idx" on "platform"."membership" ("user_id")');
    this.addSql(
      'alter table "platform"."membership" add constraint "membership_tenant_user_key" unique ("tenant_id", "user_id")',
    );
    this.addSql(
      'create table "platform"."platform_audit_event" ("id" uuid not null, "actor_type" text not null, "actor_id" text null, "action" text not null, "tenant_id" uuid null, "request_id" text null, "ip" inet null, "data" jsonb not null, "at" timestamptz not null, constraint "platform_audit_event_pkey" primary key ("id"))',
    );
    this.addSql(
      'create index "platform_audit_event_tenant_idx" on "platform"."platform_audit_event" ("tenant_id")',
    );
    this.addSql(
      'create table "platform"."refresh_token" ("id" uuid not null, "family_id" uuid not null, "user_id" uuid not null, "token_hash" text not null, "tenant_id" uuid null, "expires_at" timestamptz not null, "created_at" timestamptz not null, "rotated_at" timestamptz null, "revoked_at" timestamptz null, "revoked_reason" text null, constraint "refresh_token_pkey" primary key ("id"))',
    );
    this.addSql('create index "refresh_token_user_idx" on "platform"."refresh_token" ("user_id")');
    this.addSql(
      'alter table "platform"."refresh_token" add constraint "refresh_token_hash_key" unique ("token_hash")',
    );
    this.addSql(
      'create index "refresh_token_family_idx" on "platform"."refresh_token" ("family_id")',
    );
    this.addSql(
      'create table "platform"."user_account" ("id" uuid not null, "email" text not null, "name" text not null, "password_hash" text not null, "email_verified_at" timestamptz null, "platform_role" text check ("platform_role" in (\'platform_admin\', \'platform_support\')) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "user_account_pkey" primary key ("id"))',
    );
    this.addSql(
      'alter table "platform"."user_account" add constraint "user_account_email_key" unique ("email")',
    );
  }

  override down(): void {
    this.addSql('drop table if exists "platform"."api_key" cascade');
    this.addSql('drop table if exists "platform"."email_token" cascade');
    this.addSql('drop table if exists "platform"."invitation" cascade');
    this.addSql('drop table if exists "platform"."membership" cascade');
    this.addSql('drop table if exists "platform"."platform_audit_event" cascade');
    this.addSql('drop table if exists "platform"."refresh_token" cascade');
    this.addSql('drop table if exists "platform"."user_account" cascade');
  }
}
