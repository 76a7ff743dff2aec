/** What a solved ticket gives the knowledge base. */
export interface KbDraftSource {
  subject: string;
  description: string;
  /** The agents' public replies, oldest first (never the requester's, never internal notes). */
  agentReplies: readonly string[];
}

/** Who the ticket is about: each is replaced wherever it appears. */
export interface KbDraftIdentities {
  requesterName: string;
  requesterEmail: string;
  organisationName: string;
}

export interface KbDraft {
  title: string;
  body: string;
}

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
/** Seven or more digits, allowing the usual separators: phone numbers, account numbers. */
const LONG_NUMBER = /\+?\d(?:[\s().-]*\d){6,}/g;
/** Name parts shorter than this are too likely to be ordinary words ("Li", "Al"). */
const MIN_NAME_PART = 3;

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Removes what identifies the requester and the organisation from text meant
 * for every reader of the knowledge base: any e-mail address (`[email]`), the
 * requester's e-mail, full name and each name part of 3+ letters (`[name]`),
 * the organisation's name (`[organisation]`), and runs of 7+ digits such as
 * phone or account numbers (`[number]`). Matching ignores case and respects
 * word boundaries.
 */
export function redact(text: string, who: KbDraftIdentities): string {
  const email = who.requesterEmail.trim();
  let out = email ? text.split(email).join('[email]') : text;
  out = out.replace(EMAIL, '[email]');
  const replaceWords = (words: string[], by: string) => {
    // Longest first, so "Ada Lovelace" goes before "Ada".
    for (const word of [...new Set(words)].sort((a, b) => b.length - a.length)) {
      out = out.replace(
        new RegExp(`(?<![\\p{L}\\p{N}])${escape(word)}(?![\\p{L}\\p{N}])`, 'giu'),
        by,
      );
    }
  };
  const organisation = who.organisationName.trim();
  if (organisation.length >= MIN_NAME_PART) replaceWords([organisation], '[organisation]');
  const name = who.requesterName.trim();
  const parts = name.split(/\s+/).filter((part) => part.length >= MIN_NAME_PART);
  replaceWords(
    [name, ...parts].filter((w) => w.length >= MIN_NAME_PART),
    '[name]',
  );
  return out.replace(LONG_NUMBER, '[number]');
}

/**
 * A draft article from a solved ticket: the subject as title, the question
 * and the agents' answers as Markdown, everything redacted.
 */
export function kbDraftFromTicket(source: KbDraftSource, who: KbDraftIdentities): KbDraft {
  const answers = source.agentReplies.map((reply) => redact(reply.trim(), who));
  const body = [
    '## Question',
    '',
    redact(source.description.trim(), who),
    '',
    '## Answer',
    '',
    answers.length > 0 ? answers.join('\n\n---\n\n') : '_No public answer was recorded._',
    '',
  ].join('\n');
  return { title: redact(source.subject.trim(), who), body };
}
