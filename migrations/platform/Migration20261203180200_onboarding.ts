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
    // One lateral per step, each fenced (offset 0) so the planner computes it
    // once per tenant instead of once for every column that mentions it; a
    // filter on tenant_id reaches platform.tenant's key and every index below.
    this.addSql(`create view "platform"."tenant_onboarding" as
select t.id as tenant_id,
       ev.at is not null as email_verified,
       pc.at is not null as plan_chosen,
       pm.at is not null as payment_method_added,
       ti.at is not null as teammate_invited,
       fv.at is not null as first_ticket_or_kb_visit,
       ak.at is not null as api_key_created,
       n.steps_done,
       6 as steps_total,
       n.steps_done = 6 as completed,
       case when n.steps_done = 6 then greatest(ev.at, pc.at, pm.at, ti.at, fv.at, ak.at) end as completed_at,
       ev.at as email_verified_at,
       pc.at as plan_chosen_at,
       pm.at as payment_method_added_at,
       ti.at as teammate_invited_at,
       fv.at as first_ticket_or_kb_visit_at,
       ak.at as api_key_created_at
  from platform.tenant t
  -- An owner's address is verified; the time an owner both was one and was verified.
  cross join lateral (
    select min(greatest(u.email_verified_at, m.created_at)) as at
      from platform.membership m
      join platform.user_account u on u.id = m.user_id
     where m.tenant_id = t.id and m.role = 'owner' and u.email_verified_at is not null
    offset 0) ev
  -- A subscription was taken, unless its first payment never went through.
  cross join lateral (
    select min(s.created_at) as at from platform.subscription s
     where s.tenant_id = t.id and s.status not in ('incomplete', 'incomplete_expired')
    offset 0) pc
  cross join lateral (
    select min(p.created_at) as at from platform.payment_method p where p.tenant_id = t.id
    offset 0) pm
  -- An invitation sent, or a second member (whichever came first).
  cross join lateral (
    select least(
             (select min(i.created_at) from platform.invitation i where i.tenant_id = t.id),
             (select m.created_at from platform.membership m where m.tenant_id = t.id
               order by m.created_at, m.id offset 1 limit 1)) as at
    offset 0) ti
  -- A ticket (its platform.support_queue row), or a member's first knowledge-base visit.
  cross join lateral (
    select least(
             (select min(q.created_at) from platform.support_queue q where q.tenant_id = t.id),
             (select k.first_at from platform.tenant_milestone k
               where k.tenant_id = t.id and k.milestone = 'kb_visit')) as at
    offset 0) fv
  cross join lateral (
    select min(a.created_at) as at from platform.api_key a where a.tenant_id = t.id
    offset 0) ak
  cross join lateral (
    select ((ev.at is not null)::int + (pc.at is not null)::int + (pm.at is not null)::int
            + (ti.at is not null)::int + (fv.at is not null)::int + (ak.at is not null)::int
           ) as steps_done) n`);
  }

  override down(): void {
    this.addSql('drop view if exists "platform"."tenant_onboarding"');
    this.addSql('drop table if exists "platform"."tenant_milestone" cascade');
  }
}
