// Platform migration.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261126044625_support_queue extends Migration {
  override up(): void {
    this.addSql(
      'create table "platform"."support_queue" ("ticket_id" uuid not null, "tenant_id" uuid not null, "number" int not null, "status" text check ("status" in (\'new\', \'open\', \'pending\', \'on_hold\', \'solved\', \'closed\')) not null, "priority" text check ("priority" in (\'low\', \'normal\', \'high\', \'urgent\')) not null, "requester_id" uuid not null, "assignee_id" uuid null, "first_response_due_at" timestamptz null, "resolution_due_at" timestamptz null, "first_response_at" timestamptz null, "solved_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "support_queue_pkey" primary key ("ticket_id"))',
    );
    this.addSql(
      'create index "support_queue_assignee_id_idx" on "platform"."support_queue" ("assignee_id")',
    );
    this.addSql(
      'create index "support_queue_status_due_idx" on "platform"."support_queue" ("status", "resolution_due_at")',
    );
    this.addSql(
      'alter table "platform"."support_queue" add constraint "support_queue_tenant_number_key" unique ("tenant_id", "number")',
    );
  }

  override down(): void {
    this.addSql('drop table if exists "platform"."support_queue" cascade');
  }
}
