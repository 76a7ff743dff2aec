import {
  escapeHtml,
  formatDate,
  formatMoney,
  RecoveryMail,
  RecoveryMailContext,
  renderRecoveryMail,
} from './recovery-mails';

const KINDS = Object.values(RecoveryMail);
const PUBLIC_URL = 'https://app.example.com';
const PORTAL = `${PUBLIC_URL}/billing`;
const INVOICE_URL = `${PUBLIC_URL}/billing/invoices/0190c1a2-0000-7000-8000-000000000001`;

const minimal: RecoveryMailContext = { organisationName: 'Acme Ltd', publicUrl: PUBLIC_URL };

const full: RecoveryMailContext = {
  organisationName: 'Acme Ltd',
  publicUrl: PUBLIC_URL,
  invoice: {
    id: '0190c1a2-0000-7000-8000-000000000001',
    number: 'INV-0042',
    amountDue: 123456,
    currency: 'usd',
  },
  declineMessage: 'Your card has insufficient funds.',
  needsNewCard: false,
  nextAttemptAt: new Date('2026-11-27T09:00:00Z'),
  suspendAt: new Date('2026-12-04T09:00:00Z'),
  cancelAt: new Date('2026-12-18T09:00:00Z'),
  card: { brand: 'visa', last4: '4242', expMonth: 12, expYear: 2026 },
};

/** Everything optional present but unusable: each must be left out, not printed. */
const broken: RecoveryMailContext = {
  organisationName: '   ',
  publicUrl: `${PUBLIC_URL}/`,
  invoice: { id: ' ', number: null, amountDue: Number.NaN, currency: 'dollars' },
  declineMessage: '  ',
  nextAttemptAt: new Date('not a date'),
  suspendAt: null,
  cancelAt: new Date(Number.NaN),
  card: { brand: '', last4: '', expMonth: 13, expYear: Number.NaN },
};

const CONTEXTS: [string, RecoveryMailContext][] = [
  ['minimal', minimal],
  ['full', full],
  ['broken', broken],
  ['hard decline', { ...full, needsNewCard: true }],
];

const ALLOWED_TAGS = new Set([
  '!DOCTYPE',
  'html',
  'head',
  'meta',
  'title',
  'body',
  'div',
  'h1',
  'p',
  'br',
  'a',
]);

/** The kinds that tell why the last attempt failed. */
const SHOWS_DECLINE = new Set([
  RecoveryMail.PaymentFailed,
  RecoveryMail.Reminder,
  RecoveryMail.SuspensionNotice,
]);

/** The HTML's visible text, laid out like the text part. */
function visibleText(html: string): string {
  const body = html.replace(/^[\s\S]*<body[^>]*>/, '').replace(/<\/body>[\s\S]*$/, '');
  return body
    .replace(/<br>/g, '\n')
    .replace(/<\/(p|h1)>\s*/g, '\n\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\n\s*\n/g, '\n\n')
    .trim();
}

describe('renderRecoveryMail', () => {
  describe.each(KINDS)('%s', (kind) => {
    it('names its template billing.recovery.<kind>', () => {
      const mail = renderRecoveryMail(kind, minimal);
      expect(mail.template).toBe(`billing.recovery.${kind}`);
      expect(mail.template).toMatch(/^[a-z0-9_]+(\.[a-z0-9_]+)*$/);
    });

    it.each(CONTEXTS)('links to the billing portal in both parts (%s context)', (_, ctx) => {
      const mail = renderRecoveryMail(kind, ctx);
      expect(mail.text).toContain(`${PORTAL}\n`);
      expect(mail.html).toContain(`href="${PORTAL}"`);
      expect(mail.text).not.toContain('//billing');
      expect(mail.html).not.toContain('//billing');
    });

    it('links to the invoice in both parts when there is one', () => {
      const mail = renderRecoveryMail(kind, full);
      expect(mail.text).toContain(INVOICE_URL);
      expect(mail.html).toContain(`href="${INVOICE_URL}"`);
      expect(renderRecoveryMail(kind, minimal).text).not.toContain('/billing/invoices/');
    });

    it.each(CONTEXTS)(
      'never prints undefined, null, NaN or Invalid Date (%s context)',
      (_, ctx) => {
        const mail = renderRecoveryMail(kind, ctx);
        for (const part of [mail.subject, mail.text, mail.html]) {
          expect(part).not.toMatch(/undefined|null|NaN|Invalid Date|\[object /i);
          expect(part.trim()).not.toBe('');
        }
      },
    );

    it.each(CONTEXTS)('says the same thing in text and HTML (%s context)', (_, ctx) => {
      const mail = renderRecoveryMail(kind, ctx);
      expect(visibleText(mail.html)).toBe(mail.text.trim());
    });

    it('has a one-line subject with the organisation name', () => {
      const { subject } = renderRecoveryMail(kind, full);
      expect(subject).toContain('Acme Ltd');
      expect(subject).not.toMatch(/[\r\n]/);
      expect(subject.length).toBeLessThanOrEqual(200);
      expect(subject).not.toContain('!');
    });

    it('keeps the subject on one line and within 200 characters for any organisation name', () => {
      const name = `Acme\r\nBcc: victim@example.com ${'Very Long Name '.repeat(30)}`;
      const { subject, html } = renderRecoveryMail(kind, { ...full, organisationName: name });
      expect(subject).not.toMatch(/[\r\n]/);
      expect(Array.from(subject).length).toBeLessThanOrEqual(200);
      expect(subject).toContain('Acme Bcc: victim@example.com');
      expect(html).toContain(`<title>${escapeHtml(subject)}</title>`);
    });

    it('mentions the amount and the invoice number when there is an invoice', () => {
      const { subject, text, html } = renderRecoveryMail(kind, full);
      for (const part of [text, html]) {
        expect(part).toContain('$1,234.56');
        expect(part).toContain('INV-0042');
      }
      if (kind !== RecoveryMail.CardExpiring) expect(subject).toMatch(/Acme Ltd/);
    });

    it('escapes every value in the HTML', () => {
      const hostile: RecoveryMailContext = {
        ...full,
        organisationName: '<script>alert("org")</script> & Sons',
        invoice: { ...full.invoice!, id: 'in"v', number: '<b>INV-1</b>' },
        declineMessage: '<img src=x onerror=alert(1)>',
        card: { brand: '<i>visa</i>', last4: '4242', expMonth: 1, expYear: 2027 },
      };
      const { html, text } = renderRecoveryMail(kind, hostile);
      // Only the template's own tags, and every link is exactly href + style.
      const tags = new Set([...html.matchAll(/<\/?([a-zA-Z0-9!]+)/g)].map((m) => m[1]));
      expect([...tags].filter((t) => !ALLOWED_TAGS.has(t))).toEqual([]);
      for (const [anchor] of html.matchAll(/<a\b[^>]*>/g))
        expect(anchor).toMatch(/^<a href="[^"<>]*" style="[^"<>]*">$/);
      expect(html).not.toContain('<script');
      expect(html).toContain('&lt;script&gt;alert(&quot;org&quot;)&lt;/script&gt; &amp; Sons');
      expect(html).not.toContain('<img');
      if (SHOWS_DECLINE.has(kind)) expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
      expect(html).toContain('/billing/invoices/in%22v');
      // Plain text is not HTML: it carries the name as given.
      expect(text).toContain('<script>alert("org")</script> & Sons');
    });
  });

  it('writes different copy for every kind', () => {
    for (const ctx of [minimal, full]) {
      const mails = KINDS.map((kind) => renderRecoveryMail(kind, ctx));
      expect(new Set(mails.map((m) => m.subject)).size).toBe(KINDS.length);
      expect(new Set(mails.map((m) => m.text)).size).toBe(KINDS.length);
    }
  });

  it('tolerates trailing slashes on the public URL', () => {
    const mail = renderRecoveryMail(RecoveryMail.PaymentFailed, {
      ...full,
      publicUrl: `${PUBLIC_URL}//`,
    });
    expect(mail.text).toContain(`Update your payment method: ${PORTAL}\n`);
    expect(mail.text).toContain(`Pay the invoice: ${INVOICE_URL}\n`);
  });

  describe('after a soft decline', () => {
    it.each([RecoveryMail.PaymentFailed, RecoveryMail.Reminder])(
      '%s gives the reason and the next attempt',
      (kind) => {
        const { text } = renderRecoveryMail(kind, full);
        expect(text).toContain('Your card has insufficient funds.');
        expect(text).toContain('We will try again on 27 November 2026.');
        expect(text).toContain('Visa ending in 4242');
        expect(text).not.toMatch(/new card/i);
      },
    );

    it('asks to update the payment method when no retry is planned', () => {
      const { text } = renderRecoveryMail(RecoveryMail.PaymentFailed, {
        ...full,
        nextAttemptAt: null,
      });
      expect(text).not.toMatch(/try again/i);
      expect(text).toMatch(/update your payment method or pay the invoice/);
    });
  });

  describe('after a hard decline', () => {
    const hard = { ...full, needsNewCard: true, declineMessage: 'Your card was reported lost.' };

    it.each([RecoveryMail.PaymentFailed, RecoveryMail.Reminder])(
      '%s asks for a new card instead of promising a retry',
      (kind) => {
        const { text, html } = renderRecoveryMail(kind, hard);
        expect(text).toContain('cannot be charged again');
        expect(text).toMatch(/add a new card/);
        expect(text).toContain(`Add a new card: ${PORTAL}`);
        expect(text).not.toMatch(/we will try again/i);
        expect(text).not.toContain('27 November 2026');
        expect(html).toMatch(/add a new card/);
      },
    );

    it.each([RecoveryMail.SuspensionNotice, RecoveryMail.Suspended])(
      '%s asks for a new card too',
      (kind) => {
        const { text } = renderRecoveryMail(kind, hard);
        expect(text).toMatch(/add a new card/);
        expect(text).toContain(`Add a new card: ${PORTAL}`);
      },
    );
  });

  it('ActionRequired links to the invoice to confirm the payment', () => {
    const { text, html, subject } = renderRecoveryMail(RecoveryMail.ActionRequired, full);
    expect(subject).toBe('Confirm your payment for Acme Ltd (invoice INV-0042, $1,234.56)');
    expect(text).toContain(`Confirm the payment: ${INVOICE_URL}\n`);
    expect(html).toContain(`href="${INVOICE_URL}"`);
    expect(text).toContain('3-D Secure');
    expect(text).toContain('before 4 December 2026');
  });

  it('ActionRequired without an invoice sends the customer to the portal to confirm', () => {
    const { text } = renderRecoveryMail(RecoveryMail.ActionRequired, minimal);
    expect(text).toContain(`Confirm the payment: ${PORTAL}\n`);
  });

  it('SuspensionNotice gives the date, and says reads and billing stay open', () => {
    const { subject, text } = renderRecoveryMail(RecoveryMail.SuspensionNotice, full);
    expect(subject).toBe('Action needed: Acme Ltd becomes read-only on 4 December 2026');
    expect(text).toContain('Unless it is paid by 4 December 2026');
    expect(text).toContain('see all of its data and manage billing');
    expect(text).toContain('still unpaid on 18 December 2026, the subscription will be canceled');
  });

  it('Suspended says writes are refused until paid, reads and billing stay open', () => {
    const { text } = renderRecoveryMail(RecoveryMail.Suspended, full);
    expect(text).toContain('your account is now read-only');
    expect(text).toContain('cannot create or change anything');
    expect(text).toContain('manage billing');
  });

  it('Canceled says the subscription is canceled and the invoice closed', () => {
    const { text } = renderRecoveryMail(RecoveryMail.Canceled, full);
    expect(text).toContain('was canceled on 18 December 2026');
    expect(text).toContain('closed as uncollectible');
  });

  it('CardExpiring names the card and when it expires', () => {
    const { subject, text } = renderRecoveryMail(RecoveryMail.CardExpiring, {
      ...minimal,
      card: { brand: 'amex', last4: '0005', expMonth: 1, expYear: 2027 },
    });
    expect(subject).toBe('The card used for Acme Ltd expires soon');
    expect(text).toContain(
      'Your American Express ending in 0005, the default payment method for Acme Ltd, expires at the end of January 2027.',
    );
  });

  it('renders the full text of a payment failure', () => {
    expect(renderRecoveryMail(RecoveryMail.PaymentFailed, full).text).toBe(
      [
        'Your payment did not go through',
        'We tried to collect the payment of $1,234.56 (invoice INV-0042) for Acme Ltd from your Visa ending in 4242, but it did not go through.',
        'The reason we were given: Your card has insufficient funds.',
        'We will try again on 27 November 2026. If your card details have changed, please update them before then, or pay the invoice now.',
        'Invoice: INV-0042\nAmount due: $1,234.56\nPayment method: Visa ending in 4242',
        `Pay the invoice: ${INVOICE_URL}`,
        `Update your payment method: ${PORTAL}`,
        'You are receiving this email because you manage billing for Acme Ltd.',
      ].join('\n\n') + '\n',
    );
  });

  it('degrades a minimal payment failure to sensible copy', () => {
    const { subject, text } = renderRecoveryMail(RecoveryMail.PaymentFailed, minimal);
    expect(subject).toBe('Payment failed for Acme Ltd');
    expect(text).toContain(
      'We tried to collect the latest payment for Acme Ltd, but it did not go through.',
    );
  });

  it('falls back to "your organisation" for a blank name', () => {
    const { subject } = renderRecoveryMail(RecoveryMail.Suspended, broken);
    expect(subject).toBe('your organisation is now read-only: payment overdue');
  });
});

describe('formatMoney', () => {
  it.each([
    [123456, 'usd', '$1,234.56'],
    [123456, 'USD', '$1,234.56'],
    [123456, 'eur', '€1,234.56'],
    [99, 'gbp', '£0.99'],
    [0, 'usd', '$0.00'],
    [5000, 'jpy', '¥5,000'],
    [5000, 'JPY', '¥5,000'],
    [1234567, 'kwd', 'KWD 1,234.567'],
  ])('%i %s → %s', (amount, currency, expected) => {
    expect(formatMoney(amount, currency)?.replace(/\u00a0/g, ' ')).toBe(expected);
  });

  it.each([
    [Number.NaN, 'usd'],
    [Number.POSITIVE_INFINITY, 'usd'],
    [100, 'dollars'],
    [100, ''],
  ])('%s %s → null', (amount, currency) => {
    expect(formatMoney(amount, currency)).toBeNull();
  });

  it('renders zero-decimal currencies in mails', () => {
    const { text, subject } = renderRecoveryMail(RecoveryMail.PaymentFailed, {
      ...full,
      invoice: { ...full.invoice!, amountDue: 5000, currency: 'jpy' },
    });
    expect(text).toContain('¥5,000');
    expect(subject).toContain('¥5,000');
  });
});

describe('formatDate', () => {
  it('writes the UTC day in words', () => {
    expect(formatDate(new Date('2026-12-04T00:00:00Z'))).toBe('4 December 2026');
    // Late on the 4th in UTC is already the 5th in Tokyo: the mail says the 4th.
    expect(formatDate(new Date('2026-12-04T23:30:00Z'))).toBe('4 December 2026');
  });

  it('gives null for a missing or invalid date', () => {
    expect(formatDate(null)).toBeNull();
    expect(formatDate(undefined)).toBeNull();
    expect(formatDate(new Date('nope'))).toBeNull();
  });
});

describe('escapeHtml', () => {
  it('escapes the five HTML-significant characters', () => {
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });
});
