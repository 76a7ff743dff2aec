/**
 * The customer-facing mails of payment recovery (dunning), as pure functions:
 * the recovery service picks the kind and the facts, this module writes the
 * words. Each mail is built once as a list of blocks and rendered twice, so
 * the plain-text and HTML parts cannot drift apart, and every value reaches
 * the HTML through one escape.
 */

export enum RecoveryMail {
  PaymentFailed = 'payment_failed',
  /** The bank asks the customer to confirm the payment (3-D Secure). */
  ActionRequired = 'action_required',
  Reminder = 'reminder',
  /** Writes will be suspended on `suspendAt` unless the invoice is paid. */
  SuspensionNotice = 'suspension_notice',
  /** Writes are refused until paid; reads and billing stay open. */
  Suspended = 'suspended',
  /** The subscription is canceled, the invoice uncollectible. */
  Canceled = 'canceled',
  Recovered = 'recovered',
  /** Pre-dunning: the default card expires soon. */
  CardExpiring = 'card_expiring',
}

export interface RecoveryMailContext {
  organisationName: string;
  /** PUBLIC_URL without trailing slash; links go to `${publicUrl}/billing` (portal) and, for an invoice, `${publicUrl}/billing/invoices/<invoiceId>`. */
  publicUrl: string;
  invoice?: {
    id: string;
    number: string | null;
    /** Minor units. */
    amountDue: number;
    /** ISO 4217, lower or upper case. */
    currency: string;
  } | null;
  /** Why the last attempt failed, safe to show (e.g. "Your card has insufficient funds."). */
  declineMessage?: string | null;
  /** Hard decline (the card will not work again: lost, stolen, expired…): say a new card is needed instead of "we will retry". */
  needsNewCard?: boolean;
  nextAttemptAt?: Date | null;
  suspendAt?: Date | null;
  cancelAt?: Date | null;
  card?: { brand: string; last4: string; expMonth: number; expYear: number } | null;
}

export interface RenderedRecoveryMail {
  /** `billing.recovery.<kind>`, the outbox's template name. */
  template: string;
  subject: string;
  text: string;
  html: string;
}

const SUBJECT_MAX = 200;

/** The mail of `kind` about `ctx`, ready for `OutboxService.enqueue`. */
export function renderRecoveryMail(
  kind: RecoveryMail,
  ctx: RecoveryMailContext,
): RenderedRecoveryMail {
  const facts = factsOf(ctx);
  const mail = COMPOSERS[kind](facts);
  const body: Block[] = [
    { kind: 'heading', text: mail.heading },
    ...mail.blocks,
    { kind: 'footer', text: footer(facts) },
  ];
  const subject = oneLine(mail.subject, SUBJECT_MAX);
  return {
    template: `billing.recovery.${kind}`,
    subject,
    text: renderText(body),
    html: renderHtml(subject, body),
  };
}

// ---------------------------------------------------------------------------
// Facts: the context, validated and formatted once. Anything missing or
// unusable becomes null here, so the copy below only ever sees real values.

interface Facts {
  organisation: string;
  portalUrl: string;
  invoiceUrl: string | null;
  invoiceNumber: string | null;
  amount: string | null;
  decline: string | null;
  needsNewCard: boolean;
  nextAttempt: string | null;
  suspendOn: string | null;
  cancelOn: string | null;
  /** "Visa ending in 4242", or null without a card. */
  card: string | null;
  /** "December 2026", or null when the card's expiry is unknown. */
  cardExpiry: string | null;
}

function factsOf(ctx: RecoveryMailContext): Facts {
  const base = (ctx.publicUrl ?? '').trim().replace(/\/+$/, '');
  const invoice = ctx.invoice ?? null;
  const invoiceId = invoice?.id?.trim() || null;
  return {
    organisation: clean(ctx.organisationName) ?? 'your organisation',
    portalUrl: `${base}/billing`,
    invoiceUrl: invoiceId ? `${base}/billing/invoices/${encodeURIComponent(invoiceId)}` : null,
    invoiceNumber: clean(invoice?.number),
    amount: invoice ? formatMoney(invoice.amountDue, invoice.currency) : null,
    decline: clean(ctx.declineMessage),
    needsNewCard: ctx.needsNewCard === true,
    nextAttempt: formatDate(ctx.nextAttemptAt),
    suspendOn: formatDate(ctx.suspendAt),
    cancelOn: formatDate(ctx.cancelAt),
    card: ctx.card ? describeCard(ctx.card.brand, ctx.card.last4) : null,
    cardExpiry: ctx.card ? formatExpiry(ctx.card.expMonth, ctx.card.expYear) : null,
  };
}

/**
 * Minor units as money in English: usd 123456 → "$1,234.56", jpy 5000 →
 * "¥5,000". The currency's own digits (Intl's, from ISO 4217) say how many
 * minor units make a major one. Null when the amount or code is unusable.
 */
export function formatMoney(minorUnits: number, currency: string): string | null {
  if (typeof minorUnits !== 'number' || !Number.isFinite(minorUnits)) return null;
  const code = typeof currency === 'string' ? currency.trim().toUpperCase() : '';
  if (!/^[A-Z]{3}$/.test(code)) return null;
  try {
    const format = new Intl.NumberFormat('en', { style: 'currency', currency: code });
    const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
    return format.format(minorUnits / 10 ** digits);
  } catch {
    return null;
  }
}

/** A day in UTC as "4 December 2026"; null for a missing or invalid date. */
export function formatDate(date: Date | null | undefined): string | null {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) return null;
  return date.toLocaleDateString('en-GB', {
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone: 'UTC',
  });
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

function formatExpiry(month: number, year: number): string | null {
  if (!Number.isInteger(month) || month < 1 || month > 12) return null;
  if (!Number.isInteger(year) || year < 2000 || year > 9999) return null;
  return `${MONTHS[month - 1]} ${year}`;
}

// Stripe spells brands in lower case; customers know them by these names.
const BRANDS: Record<string, string> = {
  amex: 'American Express',
  american_express: 'American Express',
  cartes_bancaires: 'Cartes Bancaires',
  diners: 'Diners Club',
  diners_club: 'Diners Club',
  discover: 'Discover',
  eftpos_au: 'eftpos',
  jcb: 'JCB',
  link: 'Link',
  mastercard: 'Mastercard',
  unionpay: 'UnionPay',
  visa: 'Visa',
};

function describeCard(brand: string, last4: string): string | null {
  const key = clean(brand)
    ?.toLowerCase()
    .replace(/[\s-]+/g, '_');
  const name = key && key !== 'unknown' ? (BRANDS[key] ?? titleCase(key)) : null;
  const digits = clean(last4);
  if (digits && /^\d{2,4}$/.test(digits)) return `${name ?? 'card'} ending in ${digits}`;
  return name ? `${name} card` : null;
}

function titleCase(key: string): string {
  return key
    .split('_')
    .filter(Boolean)
    .map((word) => word[0].toUpperCase() + word.slice(1))
    .join(' ');
}

/** Trimmed text, or null for nothing, so absent and blank degrade alike. */
function clean(value: string | null | undefined): string | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return trimmed ? trimmed : null;
}

/** Whitespace (line breaks included) collapsed, and cut to `max` characters. */
function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  const chars = Array.from(line);
  return chars.length <= max ? line : `${chars.slice(0, max - 1).join('')}…`;
}

// ---------------------------------------------------------------------------
// Copy. One composer per kind; the switch-free record is checked for
// exhaustiveness by its type.

type Block =
  | { kind: 'heading'; text: string }
  /** A paragraph; several lines stay together (a short summary). */
  | { kind: 'paragraph'; lines: string[] }
  | { kind: 'link'; label: string; url: string }
  | { kind: 'footer'; text: string };

interface Composed {
  subject: string;
  heading: string;
  blocks: Block[];
}

const COMPOSERS: Record<RecoveryMail, (f: Facts) => Composed> = {
  [RecoveryMail.PaymentFailed]: (f) => ({
    subject: `Payment failed for ${f.organisation}${subjectDetail(f)}`,
    heading: 'Your payment did not go through',
    blocks: [
      para(
        `We tried to collect ${what(f)} for ${f.organisation}` +
          `${f.card ? ` from your ${f.card}` : ''}, but it did not go through.`,
      ),
      ...declineReason(f),
      para(nextStep(f)),
      ...summary(f),
      ...actionLinks(f),
    ],
  }),

  [RecoveryMail.ActionRequired]: (f) => ({
    subject: `Confirm your payment for ${f.organisation}${subjectDetail(f)}`,
    heading: 'Your bank needs you to confirm a payment',
    blocks: [
      para(
        `Your bank has asked you to confirm ${what(f)} for ${f.organisation}` +
          `${f.card ? ` with your ${f.card}` : ''}. This is a security check (3-D Secure) ` +
          'and the payment stays pending until you complete it.',
      ),
      para(
        'Open the link below and follow the steps from your bank; it usually takes less than a ' +
          'minute, on the bank’s page or in its app.' +
          (f.suspendOn
            ? ` Please confirm before ${f.suspendOn} to keep full access for your team.`
            : ''),
      ),
      ...summary(f),
      link('Confirm the payment', f.invoiceUrl ?? f.portalUrl),
      ...(f.invoiceUrl ? [link('Manage billing', f.portalUrl)] : []),
    ],
  }),

  [RecoveryMail.Reminder]: (f) => ({
    subject: `Reminder: payment for ${f.organisation} is still due${subjectDetail(f)}`,
    heading: 'Your payment is still outstanding',
    blocks: [
      para(
        `This is a reminder that ${what(f)} for ${f.organisation} is still outstanding: ` +
          'our last attempt to collect it did not succeed.',
      ),
      ...declineReason(f),
      para(nextStep(f)),
      ...(f.suspendOn
        ? [
            para(
              `If it is still unpaid on ${f.suspendOn}, your team will no longer be able to ` +
                'create or change anything until the payment is made.',
            ),
          ]
        : []),
      ...summary(f),
      ...actionLinks(f),
    ],
  }),

  [RecoveryMail.SuspensionNotice]: (f) => ({
    subject: f.suspendOn
      ? `Action needed: ${f.organisation} becomes read-only on ${f.suspendOn}`
      : `Action needed: ${f.organisation} will soon become read-only`,
    heading: 'Your account will become read-only',
    blocks: [
      para(
        `We have still not been able to collect ${what(f)} for ${f.organisation}. ` +
          `Unless it is paid${f.suspendOn ? ` by ${f.suspendOn}` : ' soon'}, your account ` +
          'will become read-only.',
      ),
      para(
        'Your team will still be able to sign in, see all of its data and manage billing, but ' +
          'not create or change anything until the payment is made. Nothing is deleted.',
      ),
      ...declineReason(f),
      para(payNow(f, 'To avoid this')),
      ...(f.cancelOn
        ? [
            para(
              `If the invoice is still unpaid on ${f.cancelOn}, the subscription will be canceled.`,
            ),
          ]
        : []),
      ...summary(f),
      ...actionLinks(f),
    ],
  }),

  [RecoveryMail.Suspended]: (f) => ({
    subject: `${f.organisation} is now read-only: payment overdue`,
    heading: 'Your account is now read-only',
    blocks: [
      para(
        `Because ${what(f)} for ${f.organisation} is still outstanding, your account is now ` +
          'read-only. ' +
          'Your team can sign in, see all of its data and manage billing, but cannot create or ' +
          'change anything.',
      ),
      para(
        `${payNow(f, 'To restore full access')} Access comes back as soon as the payment ` +
          'succeeds, and nothing has been deleted.',
      ),
      ...(f.cancelOn
        ? [
            para(
              `If the invoice is still unpaid on ${f.cancelOn}, the subscription will be canceled.`,
            ),
          ]
        : []),
      ...summary(f),
      ...actionLinks(f),
    ],
  }),

  [RecoveryMail.Canceled]: (f) => ({
    subject: `Your subscription for ${f.organisation} has been canceled`,
    heading: 'Your subscription has been canceled',
    blocks: [
      para(
        `We were not able to collect ${what(f)} for ${f.organisation}, so the subscription ` +
          `${f.cancelOn ? `was canceled on ${f.cancelOn}` : 'has been canceled'} and the ` +
          'invoice has been closed as uncollectible.',
      ),
      para(
        'If you would like to continue, you can start a new subscription from your billing page ' +
          'at any time. If you think this is a mistake, please contact our support team.',
      ),
      ...summary(f, 'Amount unpaid'),
      link('Go to billing', f.portalUrl),
      ...(f.invoiceUrl ? [link('View the invoice', f.invoiceUrl)] : []),
    ],
  }),

  [RecoveryMail.Recovered]: (f) => ({
    subject: `Payment received for ${f.organisation}${subjectDetail(f)}`,
    heading: 'Thank you, your payment went through',
    blocks: [
      para(
        `We have received ${what(f)} for ${f.organisation}` +
          `${f.card ? ` from your ${f.card}` : ''}. Your subscription is in good standing, and ` +
          'any restriction on your account has been lifted.',
      ),
      para('There is nothing else you need to do.'),
      ...summary(f, 'Amount'),
      ...(f.invoiceUrl ? [link('View the invoice', f.invoiceUrl)] : []),
      link('Manage billing', f.portalUrl),
    ],
  }),

  [RecoveryMail.CardExpiring]: (f) => ({
    subject: `The card used for ${f.organisation} expires soon`,
    heading: 'Your card expires soon',
    blocks: [
      para(
        f.card
          ? `Your ${f.card}, the default payment method for ${f.organisation}, expires ` +
              `${f.cardExpiry ? `at the end of ${f.cardExpiry}` : 'soon'}.`
          : `The default card for ${f.organisation} expires soon.`,
      ),
      para(
        'To keep your subscription running without interruption, please add a new card or ' +
          'update the expiry date before your next payment is due.',
      ),
      ...summary(f),
      link('Update your payment method', f.portalUrl),
      ...(f.invoiceUrl ? [link('View the invoice', f.invoiceUrl)] : []),
    ],
  }),
};

/** "the payment of $1,234.56 (invoice INV-0042)", degrading to "the latest payment". */
function what(f: Facts): string {
  if (f.amount && f.invoiceNumber) return `the payment of ${f.amount} (invoice ${f.invoiceNumber})`;
  if (f.amount) return `the payment of ${f.amount}`;
  if (f.invoiceNumber) return `the payment of invoice ${f.invoiceNumber}`;
  return 'the latest payment';
}

function subjectDetail(f: Facts): string {
  const parts = [f.invoiceNumber ? `invoice ${f.invoiceNumber}` : null, f.amount].filter(Boolean);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

function declineReason(f: Facts): Block[] {
  return f.decline ? [para(`The reason we were given: ${f.decline}`)] : [];
}

/** After a failed attempt: a hard decline needs a new card, otherwise say when we retry. */
function nextStep(f: Facts): string {
  if (f.needsNewCard)
    return (
      `${f.card ? `Your ${f.card}` : 'This card'} cannot be charged again, so trying again will ` +
      'not help: please add a new card, or pay the invoice with another payment method.'
    );
  if (f.nextAttempt)
    return (
      `We will try again on ${f.nextAttempt}. If your card details have changed, please update ` +
      'them before then, or pay the invoice now.'
    );
  return 'Please update your payment method or pay the invoice now to keep your subscription active.';
}

/** When time is running out: pay now, with a new card if the old one cannot work. */
function payNow(f: Facts, goal: string): string {
  return f.needsNewCard
    ? `Your card cannot be charged again. ${goal}, add a new card or pay the invoice with another payment method.`
    : `${goal}, pay the invoice or update your payment method.`;
}

/** The invoice at a glance; nothing without an invoice. */
function summary(f: Facts, amountLabel = 'Amount due'): Block[] {
  if (!f.invoiceNumber && !f.amount) return [];
  const lines = [
    f.invoiceNumber ? `Invoice: ${f.invoiceNumber}` : null,
    f.amount ? `${amountLabel}: ${f.amount}` : null,
    f.card ? `Payment method: ${f.card}` : null,
  ].filter((line): line is string => line !== null);
  return [{ kind: 'paragraph', lines }];
}

function actionLinks(f: Facts): Block[] {
  const update = link(
    f.needsNewCard ? 'Add a new card' : 'Update your payment method',
    f.portalUrl,
  );
  return f.invoiceUrl ? [link('Pay the invoice', f.invoiceUrl), update] : [update];
}

function footer(f: Facts): string {
  return `You are receiving this email because you manage billing for ${f.organisation}.`;
}

const para = (text: string): Block => ({ kind: 'paragraph', lines: [text] });
const link = (label: string, url: string): Block => ({ kind: 'link', label, url });

// ---------------------------------------------------------------------------
// Rendering. Both parts say the same thing block for block; the HTML is a
// plain document with inline styles (mail clients drop <style>), no tables.

function renderText(blocks: Block[]): string {
  const parts = blocks.map((block) => {
    switch (block.kind) {
      case 'heading':
      case 'footer':
        return block.text;
      case 'paragraph':
        return block.lines.join('\n');
      case 'link':
        return `${block.label}: ${block.url}`;
    }
  });
  return `${parts.join('\n\n')}\n`;
}

const FONT = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Helvetica, Arial, sans-serif";
const STYLE = {
  body: `margin:0;padding:24px 12px;background:#f5f6f8;color:#1f2933;font-family:${FONT};font-size:15px;line-height:1.55;`,
  card: 'max-width:560px;margin:0 auto;padding:32px;background:#ffffff;border-radius:8px;',
  heading: 'margin:0 0 20px;font-size:20px;line-height:1.3;font-weight:600;',
  paragraph: 'margin:0 0 16px;',
  link: 'margin:0 0 12px;',
  anchor: 'color:#1d4ed8;text-decoration:underline;word-break:break-all;',
  footer:
    'margin:24px 0 0;padding-top:16px;border-top:1px solid #e4e7eb;color:#616e7c;font-size:13px;',
};

function renderHtml(subject: string, blocks: Block[]): string {
  const parts = blocks.map((block) => {
    switch (block.kind) {
      case 'heading':
        return `<h1 style="${STYLE.heading}">${escapeHtml(block.text)}</h1>`;
      case 'paragraph':
        return `<p style="${STYLE.paragraph}">${block.lines.map(escapeHtml).join('<br>')}</p>`;
      case 'link': {
        const url = escapeHtml(block.url);
        return (
          `<p style="${STYLE.link}">${escapeHtml(block.label)}: ` +
          `<a href="${url}" style="${STYLE.anchor}">${url}</a></p>`
        );
      }
      case 'footer':
        return `<p style="${STYLE.footer}">${escapeHtml(block.text)}</p>`;
    }
  });
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(subject)}</title>`,
    '</head>',
    `<body style="${STYLE.body}">`,
    `<div style="${STYLE.card}">`,
    ...parts,
    '</div>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text safe in HTML content and in double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}
