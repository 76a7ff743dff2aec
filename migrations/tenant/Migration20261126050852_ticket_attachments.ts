// Tenant migration: runs once per tenant schema, with the search path set to it.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261126050852_ticket_attachments extends Migration {
  override up(): void {
    this.addSql(
      'create table "ticket_attachment" ("id" uuid not null, "ticket_id" uuid not null, "message_id" uuid null, "file_name" text not null, "content_type" text not null, "size" int not null, "sha256" text not null, "storage_key" text not null, "uploaded_by" uuid not null, "created_at" timestamptz not null, constraint "ticket_attachment_pkey" primary key ("id"))',
    );
    this.addSql(
      'alter table "ticket_attachment" add constraint "ticket_attachment_storage_key_key" unique ("storage_key")',
    );
    this.addSql(
      'create index "ticket_attachment_ticket_id_idx" on "ticket_attachment" ("ticket_id", "created_at")',
    );
  }

  override down(): void {
    this.addSql('drop table if exists "ticket_attachment" cascade');
  }
}
