// Platform migration.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261202160015_two_factor extends Migration {
  override up(): void {
    this.addSql(
      'create table "platform"."login_challenge" ("id" uuid not null, "user_id" uuid not null, "token_hash" text not null, "attempts" int not null default 0, "created_at" timestamptz not null, "expires_at" timestamptz not null, "used_at" timestamptz null, constraint "login_challenge_pkey" primary key ("id"))',
    );
    this.addSql(
      'alter table "platform"."login_challenge" add constraint "login_challenge_hash_key" unique ("token_hash")',
    );
    this.addSql(
      'create index "login_challenge_user_idx" on "platform"."login_challenge" ("user_id")',
    );
    this.addSql(
      'create table "platform"."two_factor_recovery_code" ("id" uuid not null, "user_id" uuid not null, "code_hash" text not null, "created_at" timestamptz not null, "used_at" timestamptz null, constraint "two_factor_recovery_code_pkey" primary key ("id"))',
    );
    this.addSql(
      'create index "two_factor_recovery_code_user_idx" on "platform"."two_factor_recovery_code" ("user_id")',
    );
    this.addSql(
      'alter table "platform"."two_factor_recovery_code" add constraint "two_factor_recovery_code_hash_key" unique ("user_id", "code_hash")',
    );
    this.addSql(
      'create table "platform"."user_two_factor" ("user_id" uuid not null, "secret" text not null, "enabled_at" timestamptz null, "last_used_step" int null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "user_two_factor_pkey" primary key ("user_id"))',
    );
    this.addSql(
      'alter table "platform"."tenant" add column "require_two_factor" boolean not null default false',
    );
  }

  override down(): void {
    this.addSql('drop table if exists "platform"."login_challenge" cascade');
    this.addSql('drop table if exists "platform"."two_factor_recovery_code" cascade');
    this.addSql('drop table if exists "platform"."user_two_factor" cascade');
    this.addSql('alter table "platform"."tenant" drop column "require_two_factor"');
  }
}
