// Platform migration.
import { Migration } from '@mikro-orm/migrations';

/**
 * The onboarding checklist (docs/onboarding.md): `platform.tenant_milestone`
 * for what no other row records (a knowledge-base visit), and the view
 * `platform.tenant_onboarding`, one row per tenant, computed from the real
 * rows so that the checklist endpoint and the business metrics read the same
 * truth. Each step is "done once" (never undone): its time is the first row
 * that satisfied it.
 */
export class Migration20261203180200_onboarding extends Migration {
  override up(): void {
    this.addSql(
      `create table "platform"."tenant_milestone" ("tenant_id" uuid not null, "milestone" text check ("milestone" in ('kb_visit')) not null, "first_at" timestamptz not null, constraint "tenant_milestone_pkey" primary key ("tenant_id", "milestone"))`,
    );
    this.addSql(
      'alter table "platform"."tenant_milestone" add constraint "tenant_milestone_tenant_id_foreign" foreign key ("tenant_id") references "platform"."tenant" ("id") on update cascade on delete cascade',
    );
    this.addSql(`create view "platform"."tenant_onboarding" as
with step as (
  select t.id as tenant_id,
         -- An owner's address is verified; the time an owner both was one and was verified.
         (select min(greatest(u.email_verified_at, m.created_at))
            from platform.membership m
            join platform.user_account u on u.id = m.user_id
           where m.tenant_id = t.id and m.role = 'owner' and u.email_verified_at is not null
         ) as email_verified_at,
         -- A subscription was taken (any plan, free included), unless its first payment never went through.
         (select min(s.created_at)
            from platform.subscription s
           where s.tenant_id = t.id and s.status not in ('incomplete', 'incomplete_expired')
         ) as plan_chosen_at,
         (select min(p.created_at) from platform.payment_method p where p.tenant_id = t.id
         ) as payment_method_added_at,
         -- An invitation sent, or a second member (whichever came first).
         least(
           (select min(i.created_at) from platform.invitation i where i.tenant_id = t.id),
           (select m.created_at from platform.membership m where m.tenant_id = t.id
             order by m.created_at, m.id offset 1 limit 1)
         ) as teammate_invited_at,
         least(
           (select min(q.created_at) from platform.support_queue q where q.tenant_id = t.id),
           (select k.first_at from platform.tenant_milestone k
             where k.tenant_id = t.id and k.milestone = 'kb_visit')
         ) as first_ticket_or_kb_visit_at,
         (select min(a.created_at) from platform.api_key a where a.tenant_id = t.id
         ) as api_key_created_at
    from platform.tenant t
), counted as (
  select step.*,
         ((email_verified_at is not null)::int + (plan_chosen_at is not null)::int
          + (payment_method_added_at is not null)::int + (teammate_invited_at is not null)::int
          + (first_ticket_or_kb_visit_at is not null)::int + (api_key_created_at is not null)::int
         ) as steps_done
    from step
)
select tenant_id,
       email_verified_at is not null as email_verified,
       plan_chosen_at is not null as plan_chosen,
       payment_method_added_at is not null as payment_method_added,
       teammate_invited_at is not null as teammate_invited,
       first_ticket_or_kb_visit_at is not null as first_ticket_or_kb_visit,
       api_key_created_at is not null as api_key_created,
       steps_done,
       6 as steps_total,
       steps_done = 6 as completed,
       case when steps_done = 6 then greatest(email_verified_at, plan_chosen_at,
         payment_method_added_at, teammate_invited_at, first_ticket_or_kb_visit_at,
         api_key_created_at) end as completed_at,
       email_verified_at,
       plan_chosen_at,
       payment_method_added_at,
       teammate_invited_at,
       first_ticket_or_kb_visit_at,
       api_key_created_at
  from counted`);
  }

  override down(): void {
    this.addSql('drop view if exists "platform"."tenant_onboarding"');
    this.addSql('drop table if exists "platform"."tenant_milestone" cascade');
  }
}
