import { kbDraftFromTicket, redact } from './kb-draft';

const who = {
  requesterName: 'Ada Lovelace',
  requesterEmail: 'ada@example.com',
  organisationName: 'Analytical Engines Ltd',
};

describe('redact', () => {
  it("replaces the requester's e-mail and any other address", () => {
    expect(redact('Write to ada@example.com or ops@other.org.', who)).toBe(
      'Write to [email] or [email].',
    );
  });

  it("replaces the requester's full name and each part, any case", () => {
    expect(redact('Hi Ada Lovelace — ADA, lovelace here', who)).toBe(
      'Hi [name] — [name], [name] here',
    );
  });

  it('keeps words that merely contain a name part', () => {
    expect(redact('Adam read the adage', who)).toBe('Adam read the adage');
  });

  it("replaces the organisation's name", () => {
    expect(redact('analytical engines ltd cannot export', who)).toBe(
      '[organisation] cannot export',
    );
  });

  it('replaces phone and account numbers but keeps short numbers', () => {
    expect(redact('Call +44 20 7946 0958 about order 42 (account 12345678).', who)).toBe(
      'Call [number] about order 42 (account [number]).',
    );
  });

  it('ignores name parts too short to be safe to replace', () => {
    expect(redact('Li said hi', { ...who, requesterName: 'Li' })).toBe('Li said hi');
  });

  it('treats names as text, not patterns', () => {
    expect(redact('Hi A.B (x)', { ...who, requesterName: 'A.B (x)' })).toBe('Hi [name]');
  });
});

describe('kbDraftFromTicket', () => {
  it('makes the subject the title and the question and answers the body', () => {
    const draft = kbDraftFromTicket(
      {
        subject: 'Export fails for Ada',
        description: 'I am Ada (ada@example.com); the CSV export times out.',
        agentReplies: ['Hi Ada, try a smaller range.', ' Fixed in 2.3. '],
      },
      who,
    );
    expect(draft.title).toBe('Export fails for [name]');
    expect(draft.body).toBe(
      [
        '## Question',
        '',
        'I am [name] ([email]); the CSV export times out.',
        '',
        '## Answer',
        '',
        'Hi [name], try a smaller range.',
        '',
        '---',
        '',
        'Fixed in 2.3.',
        '',
      ].join('\n'),
    );
  });

  it('says when there was no public answer', () => {
    const draft = kbDraftFromTicket({ subject: 's', description: 'q', agentReplies: [] }, who);
    expect(draft.body).toContain('_No public answer was recorded._');
  });
});
