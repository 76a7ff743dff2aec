import { Secret } from '../../src/config/secret';
import { MailDeliveryError, SmtpMailTransport } from '../../src/notifications/mail-transport';
import { SmtpSink } from './smtp-sink';

const PASSWORD = 'hunter2-s3cret';

/** The SMTP transport alone, against a server that checks credentials. */
describe('SmtpMailTransport', () => {
  let sink: SmtpSink;

  beforeAll(async () => {
    sink = await SmtpSink.start({
      server: {
        authOptional: false,
        allowInsecureAuth: true,
        authMethods: ['PLAIN', 'LOGIN'],
        onAuth: (auth, _session, callback) => {
          if (auth.username === 'mailer' && auth.password === PASSWORD) {
            return callback(null, { user: 'mailer' });
          }
          // A careless server that repeats what it was given.
          return callback(new Error(`Invalid login ${auth.username}/${auth.password}`));
        },
      },
    });
  });
  afterAll(() => sink.close());

  const transportFor = (password: string) =>
    new SmtpMailTransport(
      new Secret(`smtp://mailer:${encodeURIComponent(password)}@127.0.0.1:${sink.port}`),
      'Groundwork <no-reply@mail.example.com>',
    );

  it('authenticates with the credentials of SMTP_URL and sends', async () => {
    const transport = transportFor(PASSWORD);
    try {
      await transport.send({
        id: '0193a3c5-8f2e-7b6a-9c1d-2e3f4a5b6c7d',
        to: 'ada@example.com',
        subject: 'Hello',
        text: 'Body',
      });
    } finally {
      transport.close();
    }
    const mail = sink.bySubject('Hello')[0];
    expect(mail.messageId).toBe('<0193a3c5-8f2e-7b6a-9c1d-2e3f4a5b6c7d@mail.example.com>');
    expect(mail.from).toBe('Groundwork <no-reply@mail.example.com>');
  });

  it('never lets the password into the error it reports', async () => {
    const wrong = 'wrong-p@ss word';
    const transport = transportFor(wrong);
    let error: unknown;
    try {
      await transport.send({ id: 'x', to: 'ada@example.com', subject: 'Nope', text: 'Body' });
    } catch (caught) {
      error = caught;
    } finally {
      transport.close();
    }
    expect(error).toBeInstanceOf(MailDeliveryError);
    const message = (error as MailDeliveryError).message;
    expect(message).toContain('Invalid login mailer/[secret]');
    expect(message).not.toContain(wrong);
    expect(message).not.toContain(encodeURIComponent(wrong));
    expect(sink.bySubject('Nope')).toEqual([]);
  });

  it('reports an unreachable server as a MailDeliveryError', async () => {
    const transport = new SmtpMailTransport(
      new Secret(`smtp://mailer:${PASSWORD}@127.0.0.1:1`),
      'no-reply@example.com',
    );
    await expect(
      transport.send({ id: 'x', to: 'ada@example.com', subject: 'S', text: 'T' }),
    ).rejects.toThrow(MailDeliveryError);
    transport.close();
  });
});
