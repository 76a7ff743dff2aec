import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261203102908_list_indexes } from './Migration20261203102908_list_indexes';
import { Migration20261126050852_ticket_attachments } from './Migration20261126050852_ticket_attachments';
import { Migration20261126050139_ticket_merge } from './Migration20261126050139_ticket_merge';
import { Migration20261126044719_tickets } from './Migration20261126044719_tickets';
import { Migration20261126001300_audit_event } from './Migration20261126001300_audit_event';

/**
 * Tenant migrations in the order they run, applied to every `tenant_<id>` schema
 * by the tenant schema migrator (never by MikroORM's own migrator). Statements
 * run with `SET LOCAL search_path` set to the tenant schema, so write them
 * unqualified. `npm run migrate:create -- --tenant` appends here.
 */
export const tenantMigrations: MigrationObject[] = [
  { name: 'Migration20261126001300_audit_event', class: Migration20261126001300_audit_event },
  { name: 'Migration20261126044719_tickets', class: Migration20261126044719_tickets },
  { name: 'Migration20261126050139_ticket_merge', class: Migration20261126050139_ticket_merge },
  {
    name: 'Migration20261126050852_ticket_attachments',
    class: Migration20261126050852_ticket_attachments,
  },
  { name: 'Migration20261203102908_list_indexes', class: Migration20261203102908_list_indexes },
];
