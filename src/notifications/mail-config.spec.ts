import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { AppConfig, loadConfig } from '../config/app-config';
import { ConfigError } from '../config/config.error';

/** The `mail` section of the configuration: SMTP_URL, MAIL_FROM, OUTBOX_POLL_MS. */
let dataDir: string;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'groundwork-mail-config-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const load = (env: NodeJS.ProcessEnv = {}): AppConfig => loadConfig({ DATA_DIR: dataDir, ...env });

function problemsOf(env: NodeJS.ProcessEnv): { problems: string[]; error: ConfigError } {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return { problems: (error as ConfigError).problems, error: error as ConfigError };
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

describe('mail configuration', () => {
  it('defaults to no SMTP (mail is held), a local sender and a one-second poll', () => {
    const { mail } = load();
    expect(mail.smtpUrl).toBeUndefined();
    expect(mail.from).toBe('Groundwork <no-reply@localhost>');
    expect(mail.outboxPollMs).toBe(1000);
  });

  it.each([
    'smtp://127.0.0.1:2525',
    'smtp://user:p%40ss@mail.example.com:587',
    'smtps://user:secret@smtp.example.com:465',
    'SMTP://mail.example.com',
  ])('keeps SMTP_URL=%s as a Secret', (url) => {
    const { mail } = load({ SMTP_URL: url });
    expect(mail.smtpUrl?.reveal()).toBe(url);
    expect(String(mail.smtpUrl)).toBe('[secret]');
    expect(JSON.stringify({ mail })).not.toContain(url);
    expect(inspect(mail)).not.toContain(url);
  });

  it.each([
    'http://user:hunter2-s3cret@mail.example.com',
    'smtp://user:hunter2-s3cret@',
    'user:hunter2-s3cret@mail.example.com:587',
    'mail.example.com',
  ])('rejects SMTP_URL=%s without echoing it', (url) => {
    const { problems, error } = problemsOf({ SMTP_URL: url });
    expect(problems).toEqual([
      'SMTP_URL: expected a URL such as smtp://user:password@host:587 or smtps://user:password@host:465',
    ]);
    expect(error.message).not.toContain('hunter2');
    expect(inspect(error)).not.toContain('hunter2');
  });

  it.each([
    ['Groundwork <no-reply@example.com>', 'Groundwork <no-reply@example.com>'],
    ['"Acme, Inc." <billing@acme.example>', '"Acme, Inc." <billing@acme.example>'],
    ['no-reply@example.com', 'no-reply@example.com'],
    ['  <ops@example.com>  ', '<ops@example.com>'],
  ])('accepts MAIL_FROM=%j', (raw, value) => {
    expect(load({ MAIL_FROM: raw }).mail.from).toBe(value);
  });

  it.each([
    'Groundwork',
    'no-reply',
    'Groundwork <no-reply>',
    'a@b.example, c@d.example',
    'Groundwork <no-reply@example.com>\r\nBcc: everyone@example.com',
    'no-reply@example.com\nBcc: x@example.com',
  ])('rejects MAIL_FROM=%j naming MAIL_FROM', (raw) => {
    const { problems } = problemsOf({ MAIL_FROM: raw });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^MAIL_FROM: expected an address such as "Groundwork <no-reply@example.com>", got /,
    );
  });

  it.each([
    ['10', 10],
    ['50', 50],
    ['600000', 600_000],
  ])('reads OUTBOX_POLL_MS=%s', (raw, value) => {
    expect(load({ OUTBOX_POLL_MS: raw }).mail.outboxPollMs).toBe(value);
  });

  it.each(['9', '600001', '0', 'fast', '1.5'])('rejects OUTBOX_POLL_MS=%s', (raw) => {
    expect(problemsOf({ OUTBOX_POLL_MS: raw }).problems).toEqual([
      `OUTBOX_POLL_MS: expected a whole number from 10 to 600000, got "${raw}"`,
    ]);
  });
});
