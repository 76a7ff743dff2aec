import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261203180100_feedback } from './Migration20261203180100_feedback';
import { Migration20261203180200_onboarding } from './Migration20261203180200_onboarding';
import { Migration20261203180000_feature_flags } from './Migration20261203180000_feature_flags';
import { Migration20261203102856_list_indexes } from './Migration20261203102856_list_indexes';
import { Migration20261202160015_two_factor } from './Migration20261202160015_two_factor';
import { Migration20261126064930_payment_recovery } from './Migration20261126064930_payment_recovery';
import { Migration20261126050846_support_macros } from './Migration20261126050846_support_macros';
import { Migration20261126045915_support_queue_breaches } from './Migration20261126045915_support_queue_breaches';
import { Migration20261126044625_support_queue } from './Migration20261126044625_support_queue';
import { Migration20261126043712_knowledge_base } from './Migration20261126043712_knowledge_base';
import { Migration20261126032644_catalog_seed } from './Migration20261126032644_catalog_seed';
import { Migration20261126032635_billing } from './Migration20261126032635_billing';
import { Migration20261126011133_identity } from './Migration20261126011133_identity';
import { Migration20261126004525_outbox } from './Migration20261126004525_outbox';
import { Migration20261126001300_tenant } from './Migration20261126001300_tenant';

/**
 * Platform migrations in the order they run. `npm run migrate:create -- --platform`
 * writes a new file and appends it here; never edit one that has shipped.
 */
export const platformMigrations: MigrationObject[] = [
  { name: 'Migration20261126001300_tenant', class: Migration20261126001300_tenant },
  { name: 'Migration20261126004525_outbox', class: Migration20261126004525_outbox },
  { name: 'Migration20261126011133_identity', class: Migration20261126011133_identity },
  { name: 'Migration20261126032635_billing', class: Migration20261126032635_billing },
  { name: 'Migration20261126032644_catalog_seed', class: Migration20261126032644_catalog_seed },
  { name: 'Migration20261126043712_knowledge_base', class: Migration20261126043712_knowledge_base },
  { name: 'Migration20261126044625_support_queue', class: Migration20261126044625_support_queue },
  {
    name: 'Migration20261126045915_support_queue_breaches',
    class: Migration20261126045915_support_queue_breaches,
  },
  { name: 'Migration20261126050846_support_macros', class: Migration20261126050846_support_macros },
  {
    name: 'Migration20261126064930_payment_recovery',
    class: Migration20261126064930_payment_recovery,
  },
  { name: 'Migration20261202160015_two_factor', class: Migration20261202160015_two_factor },
  { name: 'Migration20261203102856_list_indexes', class: Migration20261203102856_list_indexes },
  { name: 'Migration20261203180000_feature_flags', class: Migration20261203180000_feature_flags },
  { name: 'Migration20261203180100_feedback', class: Migration20261203180100_feedback },
  { name: 'Migration20261203180200_onboarding', class: Migration20261203180200_onboarding },
];
