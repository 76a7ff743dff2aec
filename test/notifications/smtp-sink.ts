import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

/** One message as the test SMTP server received it, decoded enough to assert on. */
export interface ReceivedMail {
  envelopeFrom: string;
  envelopeTo: string[];
  headers: Record<string, string>;
  from: string;
  to: string;
  subject: string;
  messageId: string;
  /** The text/plain part, decoded. */
  text: string;
  /** The text/html part, decoded, when there is one. */
  html?: string;
  raw: string;
}

export interface SmtpSinkOptions {
  /** Extra SMTPServer options (e.g. onAuth). */
  server?: Partial<SMTPServerOptions>;
}

/**
 * A real SMTP server on loopback (smtp-server) that keeps what it receives in
 * memory. It can refuse recipients for a while, and hold a message's DATA
 * until released to simulate a send in flight.
 */
export class SmtpSink {
  readonly messages: ReceivedMail[] = [];
  /** RCPT TO commands seen, accepted or not. */
  recipientAttempts = 0;
  /** Messages whose DATA has started arriving. */
  dataStarted = 0;
  private rejection?: { code: number; message: string };
  private gate?: { promise: Promise<void>; open: () => void };
  private server!: SMTPServer;
  port = 0;
  /** Delay before accepting each message (lets concurrent senders overlap). */
  dataDelayMs = 0;

  private constructor(private readonly options: SmtpSinkOptions) {}

  static async start(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
    const sink = new SmtpSink(options);
    await sink.listen();
    return sink;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  /** RCPT TO is answered with this error until `accept()`. */
  reject(code = 451, message = 'Mailbox busy, try again later'): void {
    this.rejection = { code, message };
  }

  accept(): void {
    this.rejection = undefined;
  }

  /** Messages' DATA is held (the sender waits) until `release()`. */
  hold(): void {
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.gate = { promise, open };
  }

  release(): void {
    this.gate?.open();
    this.gate = undefined;
  }

  bySubject(subject: string): ReceivedMail[] {
    return this.messages.filter((m) => m.subject === subject);
  }

  /** Waits until `predicate` holds for the received messages; fails with what did arrive. */
  async waitFor(
    predicate: (messages: ReceivedMail[]) => boolean,
    what: string,
    timeoutMs = 10_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.messages)) {
      if (Date.now() > deadline) {
        throw new Error(
          `Timed out waiting for ${what}; received: ${JSON.stringify(this.messages.map((m) => m.subject))}`,
        );
      }
      await sleep(20);
    }
  }

  close(): Promise<void> {
    this.release();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private listen(): Promise<void> {
    this.server = new SMTPServer({
      authOptional: true,
      // Plain SMTP on loopback: no certificate to set up, nodemailer does not try TLS.
      disabledCommands: ['STARTTLS'],
      logger: false,
      closeTimeout: 1000,
      ...this.options.server,
      onRcptTo: (address, _session, callback) => {
        this.recipientAttempts++;
        if (this.rejection) {
          const error = new Error(this.rejection.message) as Error & { responseCode: number };
          error.responseCode = this.rejection.code;
          return callback(error);
        }
        callback();
      },
      onData: (stream, session, callback) => {
        this.dataStarted++;
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          void (async () => {
            if (this.gate) await this.gate.promise;
            if (this.dataDelayMs) await sleep(this.dataDelayMs);
            const raw = Buffer.concat(chunks).toString('utf8');
            this.messages.push(
              parseMail(
                raw,
                session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
                session.envelope.rcptTo.map((r) => r.address),
              ),
            );
            callback(null, 'Queued');
          })();
        });
      },
    });
    return new Promise((resolve, reject) => {
      this.server.on('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.port = (this.server.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }
}

/** Just enough MIME to read what nodemailer writes: headers, encoded words, QP/base64, alternatives. */
export function parseMail(raw: string, envelopeFrom: string, envelopeTo: string[]): ReceivedMail {
  const { headers, body } = splitPart(raw);
  const parts = leafParts(headers, body);
  const text = parts.find((p) => p.type === 'text/plain')?.content ?? '';
  const html = parts.find((p) => p.type === 'text/html')?.content;
  return {
    envelopeFrom,
    envelopeTo,
    headers,
    from: decodeWords(headers['from'] ?? ''),
    to: decodeWords(headers['to'] ?? ''),
    subject: decodeWords(headers['subject'] ?? ''),
    messageId: headers['message-id'] ?? '',
    text,
    html,
    raw,
  };
}

function splitPart(raw: string): { headers: Record<string, string>; body: string } {
  const end = raw.indexOf('\r\n\r\n');
  const head = end >= 0 ? raw.slice(0, end) : raw;
  const body = end >= 0 ? raw.slice(end + 4) : '';
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0)
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body };
}

function leafParts(
  headers: Record<string, string>,
  body: string,
): { type: string; content: string }[] {
  const contentType = headers['content-type'] ?? 'text/plain';
  const type = contentType.split(';')[0].trim().toLowerCase();
  if (type.startsWith('multipart/')) {
    const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
    if (!boundary) return [];
    return body
      .split(`--${boundary}`)
      .slice(1)
      .filter((chunk) => !chunk.startsWith('--'))
      .flatMap((chunk) => {
        const part = splitPart(chunk.replace(/^\r\n/, ''));
        return leafParts(part.headers, part.body);
      });
  }
  const encoding = (headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  let content = body.replace(/\r\n$/, '');
  if (encoding === 'quoted-printable') content = decodeQuotedPrintable(content);
  if (encoding === 'base64') content = Buffer.from(content, 'base64').toString('utf8');
  return [{ type, content: content.replace(/\r\n/g, '\n') }];
}

function decodeQuotedPrintable(value: string): string {
  const bytes = value
    .replace(/=\r\n/g, '')
    .replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([BQ])\?([^?]*)\?=/gi, (_m, _charset, kind: string, text: string) =>
      kind.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : decodeQuotedPrintable(text.replace(/_/g, ' ')),
    );
}

/** Polls `check` until it returns true; fails naming `what`. */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(20);
  }
}
