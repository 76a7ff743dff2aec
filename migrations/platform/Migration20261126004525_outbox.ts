// Platform migration.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261126004525_outbox extends Migration {
  override up(): void {
    this.addSql(
      'create table "platform"."outbox" ("id" uuid not null, "kind" text check ("kind" in (\'email\')) not null default \'email\', "tenant_id" uuid null, "to" text not null, "subject" text not null, "text" text not null, "html" text null, "template" text not null, "status" text check ("status" in (\'pending\', \'sending\', \'sent\', \'failed\', \'held\')) not null, "attempts" int not null default 0, "next_attempt_at" timestamptz not null, "last_error" text null, "created_at" timestamptz not null, "sent_at" timestamptz null, constraint "outbox_pkey" primary key ("id"))',
    );
    this.addSql(
      'create index "outbox_status_next_attempt_at_idx" on "platform"."outbox" ("status", "next_attempt_at")',
    );
  }

  override down(): void {
    this.addSql('drop table if exists "platform"."outbox" cascade');
  }
}
