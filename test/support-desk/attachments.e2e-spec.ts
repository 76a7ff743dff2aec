import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PlatformRole, TenantRole } from '../../src/access/roles';
import { createOrg, createUser, type Actor, type Org } from '../support/factories';
import { bootTestApp, TestApp } from '../support/test-app';
import { Keyring } from '../../src/common/crypto/keyring';

const PRO_MONTH = '0193a000-0000-7000-8001-000000000031';
const MAX_BYTES = 64 * 1024;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const png = (size: number): Buffer =>
  Buffer.concat([PNG_SIGNATURE, Buffer.alloc(size - PNG_SIGNATURE.length, 7)]);
const PDF = Buffer.from('%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n');
const EXE = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(62, 0x90)]);

/** Supertest keeps a download's bytes as they came (the response is Node's stream). */
const binary = (res: request.Response, done: (err: Error | null, body: Buffer) => void): void => {
  const stream = res as unknown as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => done(null, Buffer.concat(chunks)));
};

/** Files on tickets: stored outside any served path, checked by their bytes, readable as the ticket is. */
describe('support ticket attachments', () => {
  let t: TestApp;
  let agent: Actor;

  beforeAll(async () => {
    t = await bootTestApp({ env: { ATTACHMENT_MAX_BYTES: String(MAX_BYTES) } });
    agent = await createUser(t.app, { platformRole: PlatformRole.Support });
  });
  afterAll(() => t.close());

  const api = () => request(t.server);
  const asAgentIn = (org: Org) => ({ ...agent.headers, 'X-Tenant-Id': org.tenant.id });

  async function proOrg(): Promise<{ org: Org; member: Actor; ticketId: string }> {
    const org = await createOrg(t.app);
    await api()
      .post('/v1/billing/payment-methods')
      .set(org.headers)
      .send({ paymentMethodId: 'pm_card_visa' })
      .expect(201);
    await api()
      .post('/v1/billing/subscription')
      .set(org.headers)
      .send({ priceId: PRO_MONTH, quantity: 5 })
      .expect(201);
    const member = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Member });
    const ticket = await api()
      .post('/v1/support/tickets')
      .set(member.headers)
      .send({ subject: 'Broken chart', description: 'See the screenshot.' })
      .expect(201);
    return { org, member, ticketId: ticket.body.id as string };
  }

  const upload = (
    headers: Record<string, string>,
    ticketId: string,
    bytes: Buffer | string,
    type: string,
    filename = 'file',
  ) =>
    api()
      .post(`/v1/support/tickets/${ticketId}/attachments`)
      .query({ filename })
      .set(headers)
      .set('content-type', type)
      .send(bytes);

  it('uploads, lists and downloads the same bytes, records it in the history, and keeps the file off any served path', async () => {
    const { org, member, ticketId } = await proOrg();
    const bytes = png(5000);
    const created = await upload(
      member.headers,
      ticketId,
      bytes,
      'image/png',
      '../../Zoë "chart".png',
    ).expect(201);
    expect(created.body).toMatchObject({
      ticketId,
      messageId: null,
      fileName: 'Zoë _chart_.png',
      contentType: 'image/png',
      size: 5000,
      uploadedBy: member.user.id,
    });
    const id = created.body.id as string;
    // The agent adds a CSV too.
    await upload(
      asAgentIn(org),
      ticketId,
      'a,b\n1,2\n',
      'text/csv; charset=utf-8',
      'data.csv',
    ).expect(201);

    const list = await api()
      .get(`/v1/support/tickets/${ticketId}/attachments`)
      .set(member.headers)
      .expect(200);
    expect(list.body.map((a: { fileName: string }) => a.fileName)).toEqual([
      'Zoë _chart_.png',
      'data.csv',
    ]);

    const download = await api()
      .get(`/v1/support/tickets/${ticketId}/attachments/${id}`)
      .set(member.headers)
      .buffer(true)
      .parse(binary)
      .expect(200);
    expect(Buffer.compare(download.body as Buffer, bytes)).toBe(0);
    expect(download.headers['content-type']).toBe('image/png');
    expect(download.headers['x-content-type-options']).toBe('nosniff');
    expect(download.headers['content-disposition']).toBe(
      `attachment; filename="Zo_ _chart_.png"; filename*=UTF-8''Zo%C3%AB%20_chart_.png`,
    );
    expect(created.body.sha256).toMatch(/^[0-9a-f]{64}$/);

    const history = (
      await api().get(`/v1/support/tickets/${ticketId}`).set(asAgentIn(org)).expect(200)
    ).body.history as { field: string; to: string }[];
    expect(history.filter((h) => h.field === 'attachment').map((h) => h.to)).toEqual([
      'Zoë _chart_.png',
      'data.csv',
    ]);

    // On disk: under the attachments folder, per tenant, named by our key, owner-only.
    const root = t.config.attachments.dir;
    expect(relative(t.config.dataDir, root)).toBe('attachments');
    const dir = join(root, org.tenant.id);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const files = readdirSync(dir);
    expect(files).toHaveLength(2);
    for (const name of files) expect(name).toMatch(/^[0-9a-f-]{36}$/);
    // Encrypted at rest: the disk holds ciphertext that the app's keyring opens.
    const stored = files.map((name) => readFileSync(join(dir, name)));
    expect(stored.some((b) => b.includes(bytes.subarray(0, 16)))).toBe(false);
    const keyring = Keyring.fromConfig(t.config.secrets.dataEncryptionKeys);
    expect(stored.some((b) => Buffer.compare(keyring.decryptBytes(b), bytes) === 0)).toBe(true);
    expect(existsSync(join(dir, 'Zoë _chart_.png'))).toBe(false);
    // Nothing serves that folder.
    for (const name of files) {
      for (const path of [
        `/attachments/${org.tenant.id}/${name}`,
        `/v1/attachments/${org.tenant.id}/${name}`,
        `/${org.tenant.id}/${name}`,
      ]) {
        await api().get(path).set(member.headers).expect(404);
      }
    }
  });

  it('refuses a file over the limit (413) and a type the bytes do not bear out (415)', async () => {
    const { member, ticketId } = await proOrg();
    await upload(member.headers, ticketId, png(MAX_BYTES), 'image/png').expect(201);
    const tooBig = await upload(member.headers, ticketId, png(MAX_BYTES + 1), 'image/png').expect(
      413,
    );
    expect(tooBig.headers['content-type']).toMatch(/^application\/problem\+json/);

    const pdfAsPng = await upload(member.headers, ticketId, PDF, 'image/png', 'x.png').expect(415);
    expect(pdfAsPng.body.code).toBe('attachment_type_not_allowed');
    const exe = await upload(
      member.headers,
      ticketId,
      EXE,
      'application/octet-stream',
      'setup.exe',
    ).expect(415);
    expect(exe.body.code).toBe('attachment_type_not_allowed');
    const exeAsText = await upload(member.headers, ticketId, EXE, 'text/plain', 'a.txt').expect(
      415,
    );
    expect(exeAsText.body.code).toBe('attachment_type_not_allowed');
    // A type no upload may have is refused before the body is read.
    await upload(member.headers, ticketId, EXE, 'application/x-msdownload').expect(415);
    // The PDF itself is fine.
    await upload(member.headers, ticketId, PDF, 'application/pdf', 'x.pdf').expect(201);

    const list = await api()
      .get(`/v1/support/tickets/${ticketId}/attachments`)
      .set(member.headers)
      .expect(200);
    expect(list.body.map((a: { contentType: string }) => a.contentType)).toEqual([
      'image/png',
      'application/pdf',
    ]);
    // Other routes still refuse these types.
    await api()
      .post('/v1/support/tickets')
      .set(member.headers)
      .set('content-type', 'text/plain')
      .send('hello')
      .expect(415);
  });

  it('finds no unknown ticket or attachment, and no ticket of another member or another tenant', async () => {
    const { org, member, ticketId } = await proOrg();
    const id = (await upload(member.headers, ticketId, PDF, 'application/pdf').expect(201)).body
      .id as string;
    const code = (res: request.Response) => (res.body as { code: string }).code;

    const unknown = randomUUID();
    expect(code(await upload(member.headers, unknown, PDF, 'application/pdf').expect(404))).toBe(
      'ticket_not_found',
    );
    expect(
      code(
        await api()
          .get(`/v1/support/tickets/${unknown}/attachments`)
          .set(member.headers)
          .expect(404),
      ),
    ).toBe('ticket_not_found');
    expect(
      code(
        await api()
          .get(`/v1/support/tickets/${ticketId}/attachments/${unknown}`)
          .set(member.headers)
          .expect(404),
      ),
    ).toBe('attachment_not_found');

    // Another member of the same organisation: not their ticket.
    const other = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Member });
    expect(code(await upload(other.headers, ticketId, PDF, 'application/pdf').expect(404))).toBe(
      'ticket_not_found',
    );
    await api().get(`/v1/support/tickets/${ticketId}/attachments`).set(other.headers).expect(404);
    await api()
      .get(`/v1/support/tickets/${ticketId}/attachments/${id}`)
      .set(other.headers)
      .expect(404);

    // Another organisation's owner.
    const stranger = await createOrg(t.app);
    await api()
      .get(`/v1/support/tickets/${ticketId}/attachments`)
      .set(stranger.headers)
      .expect(404);
    const leak = await api()
      .get(`/v1/support/tickets/${ticketId}/attachments/${id}`)
      .set(stranger.headers)
      .expect(404);
    expect(code(leak)).toBe('ticket_not_found');
    expect(readdirSync(t.config.attachments.dir)).not.toContain(stranger.tenant.id);
  });
});
