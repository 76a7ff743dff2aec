// Tenant migration: runs once per tenant schema, with the search path set to it.
// The ticket list and the audit log read newest first (id desc) under a filter:
// the single-column status and requester indexes become (column, id).
import { Migration } from '@mikro-orm/migrations';

export class Migration20261203102908_list_indexes extends Migration {
  override up(): void {
    this.addSql('create index "audit_event_action_id_idx" on "audit_event" ("action", "id")');
    this.addSql('drop index "ticket_requester_id_idx"');
    this.addSql('drop index "ticket_status_idx"');
    this.addSql('create index "ticket_requester_id_id_idx" on "ticket" ("requester_id", "id")');
    this.addSql('create index "ticket_status_id_idx" on "ticket" ("status", "id")');
  }

  override down(): void {
    this.addSql('drop index "audit_event_action_id_idx"');
    this.addSql('drop index "ticket_requester_id_id_idx"');
    this.addSql('drop index "ticket_status_id_idx"');
    this.addSql('create index "ticket_requester_id_idx" on "ticket" ("requester_id")');
    this.addSql('create index "ticket_status_idx" on "ticket" ("status")');
  }
}
