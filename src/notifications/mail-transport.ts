import { createTransport, type NodemailerError, type Transporter } from 'nodemailer';
import { Secret } from '../config/secret';

/** One message as a transport sends it. */
export interface OutgoingMail {
  /** The outbox id: it becomes the Message-ID, so a receiver can spot a repeated delivery. */
  id: string;
  to: string;
  subject: string;
  text: string;
  html?: string | null;
}

/** Why a send failed, in words safe to store and show to an operator (no credentials). */
export class MailDeliveryError extends Error {
  constructor(
    message: string,
    /** The SMTP reply code, when the server answered. */
    readonly responseCode?: number,
  ) {
    super(message);
    this.name = 'MailDeliveryError';
  }
}

/** Where mail goes. The outbox worker is its only caller. */
export abstract class MailTransport {
  /** Resolves once the receiving server has accepted the message; rejects with MailDeliveryError. */
  abstract send(mail: OutgoingMail): Promise<void>;
  /** Releases connections; sends in progress are not interrupted. */
  abstract close(): void;
}

/** The longest a single send may take; the worker keeps this much of its claim in reserve. */
export const MAIL_SEND_TIMEOUT_MS = 120_000;

/** SMTP through nodemailer: one transporter for the process, from `SMTP_URL`. */
export class SmtpMailTransport extends MailTransport {
  private readonly transporter: Transporter;
  private readonly secrets: string[];
  private readonly messageIdDomain: string;

  constructor(url: Secret, from: string) {
    super();
    const raw = url.reveal();
    const parsed = new URL(raw);
    // Whatever an error message carries, the password never reaches a log or the outbox row.
    this.secrets = [parsed.password, decodeURIComponent(parsed.password)].filter(
      (s) => s.length >= 3,
    );
    this.messageIdDomain = /@([^\s<>@]+)>?\s*$/.exec(from)?.[1] ?? 'groundwork.invalid';
    this.transporter = createTransport(
      {
        url: raw,
        // Fail a dead or silent server in seconds instead of nodemailer's minutes.
        connectionTimeout: 15_000,
        greetingTimeout: 15_000,
        socketTimeout: 60_000,
        // Connections are opened per message; nothing idles between sends.
        pool: false,
      },
      { from },
    );
  }

  async send(mail: OutgoingMail): Promise<void> {
    try {
      await this.transporter.sendMail({
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        ...(mail.html ? { html: mail.html } : {}),
        messageId: `<${mail.id}@${this.messageIdDomain}>`,
        signal: AbortSignal.timeout(MAIL_SEND_TIMEOUT_MS),
      });
    } catch (error) {
      throw this.describe(error);
    }
  }

  close(): void {
    this.transporter.close();
  }

  private describe(error: unknown): MailDeliveryError {
    const e = (error ?? {}) as NodemailerError;
    const parts = [
      e.code,
      e.responseCode !== undefined ? String(e.responseCode) : undefined,
      e.message || String(error),
    ].filter(Boolean);
    let text = parts.join(' ');
    for (const secret of this.secrets) text = text.split(secret).join('[secret]');
    return new MailDeliveryError(text.slice(0, 1000), e.responseCode);
  }
}

/** Without SMTP_URL nothing is sent: messages are held in the outbox. */
export class NoMailTransport extends MailTransport {
  send(): Promise<void> {
    return Promise.reject(new MailDeliveryError('SMTP_URL is not set; mail is held, not sent'));
  }

  close(): void {}
}
