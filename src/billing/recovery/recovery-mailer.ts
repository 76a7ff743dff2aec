import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { TenantRole } from '../../access/roles';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { OutboxService } from '../../notifications/outbox.service';
import { Invoice } from '../entities/invoice.entity';
import { RecoveryMail, RecoveryMailContext, renderRecoveryMail } from './recovery-mails';

/** Who hears about billing: the organisation's owners and billing managers. */
const BILLING_ROLES = [TenantRole.Owner, TenantRole.BillingManager];

export type RecoveryMailFacts = Omit<
  RecoveryMailContext,
  'organisationName' | 'publicUrl' | 'invoice'
> & {
  invoice?: Invoice | null;
};

/**
 * Recovery mail through the outbox, in the caller's transaction: the mail is
 * sent exactly when the step that caused it commits.
 */
@Injectable()
export class RecoveryMailer {
  constructor(
    private readonly outbox: OutboxService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /** Returns how many recipients the mail was queued for. */
  async send(
    em: EntityManager,
    tenantId: string,
    kind: RecoveryMail,
    facts: RecoveryMailFacts,
  ): Promise<number> {
    const recipients = await em.execute<{ email: string; organisation: string }[]>(
      `select u.email, t.name as organisation
         from platform.membership m
         join platform.user_account u on u.id = m.user_id
         join platform.tenant t on t.id = m.tenant_id
        where m.tenant_id = ? and m.role in (?, ?)
        order by u.email`,
      [tenantId, ...BILLING_ROLES],
    );
    if (recipients.length === 0) return 0;
    const { invoice, ...rest } = facts;
    const mail = renderRecoveryMail(kind, {
      ...rest,
      organisationName: recipients[0].organisation,
      publicUrl: this.config.http.publicUrl,
      invoice: invoice
        ? {
            id: invoice.id,
            number: invoice.number ?? null,
            amountDue: invoice.amountDue,
            currency: invoice.currency,
          }
        : null,
    });
    for (const { email } of recipients) {
      this.outbox.enqueue(em, {
        to: email,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        template: mail.template,
        tenantId,
      });
    }
    return recipients.length;
  }
}
