/**
 * The bare baseline for `GET /v1/support/tickets`: `node:http` and `pg`, no
 * framework, answering the same request with the same SQL shape and the same
 * JSON as the app, so the ratio shows what the framework, ORM and pipeline cost.
 *
 * Per request it does the equivalent of the app's pipeline, minus what the
 * app adds on top (request id, logging, CASL, validation pipe, DTO classes):
 * - verifies the bearer token: HS256 with node:crypto HMAC, issuer, audience
 *   and expiry checked;
 * - resolves the tenant (the token's `tid` claim) and the caller's membership
 *   in one query, cached 5 s per (tenant, user) as the app caches memberships
 *   and sessions;
 * - selects `limit + 1` tickets newest first (keyset by id), narrowed to the
 *   caller's own tickets for a plain member, as the app's ability does;
 * - writes `{ items, nextCursor }` with the TicketDto fields.
 *
 * Run as its own process (`BaselineServer.start`), so it does not share the
 * load generator's event loop; environment: DATABASE_URL, JWT_SECRET, PORT,
 * DATABASE_POOL_MAX (default 10, the app's pool size).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { Pool } from 'pg';
import { freePort } from '../../src/database/embedded-postgres';

const ISSUER = 'groundwork';
const AUDIENCE = 'groundwork-api';
const MEMBERSHIP_CACHE_MS = 5_000;
/** Roles that read every ticket of the tenant; others read their own. */
const READ_ALL = new Set(['owner', 'admin', 'support_agent']);

interface Claims {
  sub: string;
  tid?: string;
  exp: number;
  iss: string;
  aud: string;
}

function verifyJwt(token: string, secret: string): Claims | undefined {
  const [header, payload, signature] = token.split('.');
  if (!header || !payload || !signature) return undefined;
  const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  if ((JSON.parse(Buffer.from(header, 'base64url').toString()) as { alg?: string }).alg !== 'HS256')
    return undefined;
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Claims;
  if (claims.iss !== ISSUER || claims.aud !== AUDIENCE || claims.exp * 1000 < Date.now())
    return undefined;
  return claims;
}

function serve(): void {
  const secret = process.env.JWT_SECRET!;
  const pool = new Pool({
    connectionString: process.env.DATABASE_URL,
    max: Number(process.env.DATABASE_POOL_MAX ?? 10),
  });
  const memberships = new Map<string, { schema: string; role: string; until: number }>();

  const membership = async (tenantId: string, userId: string) => {
    const key = `${tenantId}:${userId}`;
    const hit = memberships.get(key);
    if (hit && hit.until > Date.now()) return hit;
    const { rows } = await pool.query<{ schema_name: string; role: string }>(
      `select t.schema_name, m.role from platform.tenant t
       join platform.membership m on m.tenant_id = t.id and m.user_id = $2
       where t.id = $1 and t.status = 'active'`,
      [tenantId, userId],
    );
    if (!rows[0]) return undefined;
    const entry = {
      schema: rows[0].schema_name,
      role: rows[0].role,
      until: Date.now() + MEMBERSHIP_CACHE_MS,
    };
    memberships.set(key, entry);
    return entry;
  };

  const reply = (res: ServerResponse, status: number, body: unknown) => {
    const json = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(json),
    });
    res.end(json);
  };

  const listTickets = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const auth = req.headers.authorization;
    const claims = auth?.startsWith('Bearer ') ? verifyJwt(auth.slice(7), secret) : undefined;
    if (!claims) return reply(res, 401, { code: 'unauthenticated' });
    const tenantId = (req.headers['x-tenant-id'] as string | undefined) ?? claims.tid;
    const member = tenantId ? await membership(tenantId, claims.sub) : undefined;
    if (!member) return reply(res, 403, { code: 'not_a_member' });
    const limit = Math.min(100, Math.max(1, Number(url.searchParams.get('limit') ?? 50)));
    const mine = !READ_ALL.has(member.role);
    const { rows } = await pool.query(
      `select id, number, subject, description, status, priority, channel, tags, requester_id,
         assignee_id, first_response_at, solved_at, merged_into_id, created_at, updated_at
       from "${member.schema}".ticket
       ${mine ? 'where requester_id = $2' : ''}
       order by id desc limit $1`,
      mine ? [limit + 1, claims.sub] : [limit + 1],
    );
    const page = rows.slice(0, limit);
    reply(res, 200, {
      items: page.map((r: Record<string, unknown>) => ({
        id: r.id,
        number: r.number,
        subject: r.subject,
        description: r.description,
        status: r.status,
        priority: r.priority,
        channel: r.channel,
        tags: r.tags,
        requesterId: r.requester_id,
        assigneeId: r.assignee_id,
        firstResponseAt: r.first_response_at,
        solvedAt: r.solved_at,
        mergedIntoId: r.merged_into_id,
        createdAt: r.created_at,
        updatedAt: r.updated_at,
      })),
      nextCursor: rows.length > limit ? (page[page.length - 1] as { id: string }).id : null,
    });
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://baseline');
    if (req.method === 'GET' && url.pathname === '/v1/support/tickets') {
      listTickets(req, res, url).catch((error: unknown) => {
        process.stderr.write(`${String(error)}\n`);
        reply(res, 500, { code: 'internal' });
      });
    } else if (url.pathname === '/health/ready') {
      reply(res, 200, { status: 'ok' });
    } else {
      reply(res, 404, { code: 'not_found' });
    }
  });
  server.keepAliveTimeout = 72_000;
  server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
  process.on('SIGTERM', () => server.close(() => void pool.end().then(() => process.exit(0))));
}

/** The baseline as a child process of the bench run. */
export class BaselineServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(options: { databaseUrl: string; jwtSecret: string }): Promise<BaselineServer> {
    const port = await freePort();
    const child = spawn(process.execPath, [__filename], {
      env: {
        PATH: process.env.PATH,
        BASELINE_SERVER: '1',
        DATABASE_URL: options.databaseUrl,
        JWT_SECRET: options.jwtSecret,
        PORT: String(port),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`baseline server exited (${code})`)));
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) resolve();
      });
    });
    return new BaselineServer(child, `http://127.0.0.1:${port}`);
  }

  get pid(): number {
    return this.child.pid!;
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }
}

if (process.env.BASELINE_SERVER === '1') serve();
