import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import request, { Response } from 'supertest';
import { TenantRole } from '../../src/access/roles';
import { Tenant } from '../../src/tenancy/entities/tenant.entity';
import { TENANT_SCOPED } from '../../src/tenancy/tenant-scoped.decorator';
import { Actor, createTenant, createUser, uniqueEmail, uniqueSlug } from '../support/factories';
import { TestApp } from '../support/test-app';

/** The header `@TenantScoped()` documents on every tenant-scoped operation. */
export const TENANT_HEADER = 'X-Tenant-Id';
/** The global prefix of the API routes (`app.setGlobalPrefix('v1')`). */
export const API_PREFIX = '/v1';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;
type HttpMethod = (typeof HTTP_METHODS)[number];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UUID_ANYWHERE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** A short random marker, so that every name of A's is unique in the whole run. */
export const tag = (): string => randomBytes(4).toString('hex');

// ---------------------------------------------------------------- OpenAPI

export interface OpenApiParameter {
  name: string;
  in: string;
  required?: boolean;
}
export interface OpenApiOperation {
  operationId?: string;
  parameters?: OpenApiParameter[];
}
export interface OpenApiDocument {
  paths: Record<string, Partial<Record<HttpMethod, OpenApiOperation>>>;
}

/** One operation of the document that acts for a tenant. */
export interface TenantScopedOperation {
  operationId: string;
  method: HttpMethod;
  /** The document's path template, e.g. `/v1/tenant/members/{userId}`. */
  path: string;
  pathParams: string[];
}

const isTenantHeader = (p: OpenApiParameter) =>
  p.in === 'header' && p.name.toLowerCase() === TENANT_HEADER.toLowerCase();

/** Every operation of the document with an `X-Tenant-Id` header parameter, by operationId. */
export function tenantScopedOperations(doc: OpenApiDocument): TenantScopedOperation[] {
  const found: TenantScopedOperation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!op || !(op.parameters ?? []).some(isTenantHeader)) continue;
      if (!op.operationId) {
        throw new Error(
          `${method.toUpperCase()} ${path} is tenant-scoped but has no operationId: ` +
            'give it one with @ApiOperation({ operationId }) and add its isolation case.',
        );
      }
      found.push({
        operationId: op.operationId,
        method,
        path,
        pathParams: [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]),
      });
    }
  }
  return found.sort((x, y) => x.operationId.localeCompare(y.operationId));
}

/**
 * Every route the code marks `@TenantScoped()`, as `method path` in the
 * document's notation: the document must show each of them (a route hidden
 * from the document would escape the suite).
 */
export function tenantScopedRoutes(app: TestApp['app']): string[] {
  const discovery = app.get(DiscoveryService);
  const scanner = app.get(MetadataScanner);
  const reflector = app.get(Reflector);
  const routes: string[] = [];
  for (const wrapper of discovery.getControllers()) {
    const instance = wrapper.instance as object | undefined;
    if (!instance) continue;
    const controller = wrapper.metatype as () => void;
    const prefixes = [Reflect.getMetadata(PATH_METADATA, controller) as string | string[]].flat();
    const prototype = Object.getPrototypeOf(instance) as object;
    for (const name of scanner.getAllMethodNames(prototype)) {
      const handler = (prototype as Record<string, () => void>)[name];
      const paths = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
      if (paths === undefined) continue;
      if (!reflector.getAllAndOverride<boolean>(TENANT_SCOPED, [handler, controller])) continue;
      const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number];
      for (const prefix of prefixes) {
        for (const path of [paths].flat()) {
          const segments = [API_PREFIX, prefix, path]
            .flatMap((s) => (s ?? '').split('/'))
            .filter((s) => s !== '')
            .map((s) => s.replace(/^:(\w+)$/, '{$1}'));
          routes.push(`${method.toLowerCase()} /${segments.join('/')}`);
        }
      }
    }
  }
  return routes.sort();
}

// ---------------------------------------------------------------- A's data

/**
 * A's identifying strings. None may reach anyone outside A, except a value the
 * caller sent itself (echoing the attacker's own input discloses nothing; that
 * the answer does not depend on it is checked separately, with made-up values).
 */
export class Secrets {
  private readonly values = new Map<string, string>();

  add(label: string, value: string | null | undefined): void {
    // Shorter strings would match by chance (`member`, `owner`, a date).
    if (typeof value === 'string' && value.length >= 8) this.values.set(value.toLowerCase(), label);
  }

  addAll(prefix: string, values: Record<string, string>): void {
    for (const [key, value] of Object.entries(values)) this.add(`${prefix}.${key}`, value);
  }

  /** Every UUID anywhere in `data` (what A's owner reads is A's data). */
  addIdsIn(prefix: string, data: unknown): void {
    for (const id of JSON.stringify(data ?? null).match(UUID_ANYWHERE) ?? []) {
      if (!this.values.has(id.toLowerCase())) this.add(`${prefix} id`, id);
    }
  }

  get size(): number {
    return this.values.size;
  }

  /** A's strings that `text` contains, leaving out those the caller sent itself. */
  foundIn(text: string, sent = ''): string[] {
    const haystack = text.toLowerCase();
    const own = sent.toLowerCase();
    return [...this.values]
      .filter(([value]) => haystack.includes(value) && !own.includes(value))
      .map(([value, label]) => `${label} "${value}"`);
  }

  /** A's strings that occur in `text`, longest first. */
  occurringIn(text: string): string[] {
    const haystack = text.toLowerCase();
    return [...this.values.keys()]
      .filter((value) => haystack.includes(value))
      .sort((x, y) => y.length - x.length);
  }
}

/** What a case sees of tenant A, to create its objects there. */
export interface VictimTenant {
  app: TestApp['app'];
  tenant: Tenant;
  /** A's owner, signed in, with `X-Tenant-Id: <A's id>` in `headers`. */
  owner: Actor;
  /** A plain `member` of A. */
  member: Actor;
  /** `supertest` on the app. */
  http(): ReturnType<typeof request>;
}

/** Tenant A (the victim) and tenant B (the attacker), with every credential the attacks use. */
export interface World {
  victim: VictimTenant;
  /** Was an `admin` of A, removed through the API: a stale membership would let it in. */
  removed: Actor;
  /** An access token of A's owner, for A, that expired 10 seconds ago. */
  expiredOwnerToken: string;
  attacker: { tenant: Tenant; owner: Actor; apiKey: string };
  secrets: Secrets;
}

/** Builds A and B afresh (every test gets its own, so one refused attack cannot mask another). */
export async function buildWorld(t: TestApp): Promise<World> {
  const http = () => request(t.server);
  const secrets = new Secrets();

  const tenant = await createTenant(t.app, {
    slug: uniqueSlug('victim'),
    name: `Victim Org ${tag()}`,
  });
  const user = (role: TenantRole, who: string) =>
    createUser(t.app, {
      tenant,
      role,
      email: uniqueEmail(`victim-${who}`),
      name: `Victim ${who} ${tag()}`,
    });
  const owner = await user(TenantRole.Owner, 'owner');
  const member = await user(TenantRole.Member, 'member');
  const removed = await user(TenantRole.Admin, 'removed');
  await http().get('/v1/tenant').set(removed.headers).expect(200);
  await http().delete(`/v1/tenant/members/${removed.user.id}`).set(owner.headers).expect(204);
  const key = await http()
    .post('/v1/tenant/api-keys')
    .set(owner.headers)
    .send({ name: `Victim key ${tag()}` })
    .expect(201);

  const attackerTenant = await createTenant(t.app, {
    slug: uniqueSlug('attacker'),
    name: `Attacker Org ${tag()}`,
  });
  const attackerOwner = await createUser(t.app, {
    tenant: attackerTenant,
    role: TenantRole.Owner,
  });
  const attackerKey = await http()
    .post('/v1/tenant/api-keys')
    .set(attackerOwner.headers)
    .send({ name: 'Attacker key' })
    .expect(201);

  const jwt = t.app.get(JwtService);
  const claims = jwt.decode<{ sub: string; sid: string; tid: string }>(owner.token);
  const ownClaims = { sub: claims.sub, sid: claims.sid, tid: claims.tid };
  const expiredOwnerToken = jwt.sign(ownClaims, { expiresIn: -10 });

  // The credentials are what the attacks take them for: B's work in B, and the
  // expired token differs from a valid one by its expiry only.
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
  const inB = await http().get('/v1/tenant').set(bearer(attackerOwner.token)).expect(200);
  expect(inB.body.id).toBe(attackerTenant.id);
  const byKey = await http().get('/v1/tenant').set('X-Api-Key', attackerKey.body.key).expect(200);
  expect(byKey.body.id).toBe(attackerTenant.id);
  const fresh = jwt.sign(ownClaims, { expiresIn: 60 });
  const inA = await http().get('/v1/tenant').set(bearer(fresh)).expect(200);
  expect(inA.body.id).toBe(tenant.id);

  secrets.add('A.id', tenant.id);
  secrets.add('A.id (no dashes)', tenant.id.replace(/-/g, ''));
  secrets.add('A.schemaName', tenant.schemaName);
  secrets.add('A.slug', tenant.slug);
  secrets.add('A.name', tenant.name);
  for (const [who, actor] of Object.entries({ owner, member, removed })) {
    secrets.add(`A.${who}.id`, actor.user.id);
    secrets.add(`A.${who}.email`, actor.user.email);
    secrets.add(`A.${who}.name`, actor.user.name);
    secrets.add(`A.${who}.refreshToken`, actor.refreshToken);
  }
  for (const field of ['id', 'prefix', 'name', 'key'] as const) {
    secrets.add(`A.apiKey.${field}`, key.body[field] as string);
  }
  return {
    victim: { app: t.app, tenant, owner, member, http },
    removed,
    expiredOwnerToken,
    attacker: { tenant: attackerTenant, owner: attackerOwner, apiKey: attackerKey.body.key },
    secrets,
  };
}

/**
 * A's data as its owner reads it: every tenant-scoped GET of the document that
 * takes no path parameter (so operations added later are watched too).
 */
export async function readVictim(
  t: TestApp,
  world: World,
  operations: TenantScopedOperation[],
): Promise<Record<string, { status: number; body: unknown }>> {
  const reads = operations.filter((op) => op.method === 'get' && op.pathParams.length === 0);
  const snapshot: Record<string, { status: number; body: unknown }> = {};
  for (const op of reads) {
    const res = await request(t.server).get(op.path).set(world.victim.owner.headers);
    snapshot[op.operationId] = { status: res.status, body: res.body as unknown };
  }
  return snapshot;
}

// ---------------------------------------------------------------- requests

/** What a case says about the request: the document gives the method and the path template. */
export interface CaseRequest {
  /** Fills the `{name}` segments of the document's path. */
  params?: Record<string, string>;
  query?: Record<string, string | number>;
  body?: unknown;
  /** A body that is not JSON (a file's bytes) says its type. */
  contentType?: string;
}

export interface BuiltRequest {
  method: HttpMethod;
  url: string;
  body?: unknown;
  contentType?: string;
}

export function buildRequest(op: TenantScopedOperation, spec: CaseRequest): BuiltRequest {
  const params = spec.params ?? {};
  const missing = op.pathParams.filter((p) => !(p in params));
  const extra = Object.keys(params).filter((p) => !op.pathParams.includes(p));
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(
      `The isolation case of ${op.operationId} does not fit ${op.method.toUpperCase()} ${op.path}: ` +
        `missing path params [${missing.join(', ')}], unknown [${extra.join(', ')}].`,
    );
  }
  const path = op.path.replace(/\{([^}]+)\}/g, (_m, name: string) =>
    encodeURIComponent(params[name]),
  );
  const query = new URLSearchParams(
    Object.entries(spec.query ?? {}).map(([k, v]): [string, string] => [k, String(v)]),
  ).toString();
  return {
    method: op.method,
    url: query ? `${path}?${query}` : path,
    body: spec.body,
    contentType: spec.contentType,
  };
}

export function send(
  t: TestApp,
  req: BuiltRequest,
  headers: Record<string, string>,
): Promise<Response> {
  const call = request(t.server)[req.method](req.url).set(headers);
  if (req.contentType) void call.set('content-type', req.contentType);
  return req.body === undefined ? call : call.send(req.body as object);
}

/**
 * Everything the caller put in the request, for telling an echo from a
 * disclosure: the URL, the headers, the body, and the claims of its bearer
 * token (readable by whoever holds it: a removed member's token names A).
 */
export function sentText(req: BuiltRequest, headers: Record<string, string>): string {
  const claims = Object.values(headers)
    .map((value) => /^Bearer [^.]+\.([^.]+)\./.exec(value)?.[1])
    .filter((payload): payload is string => payload !== undefined)
    .map((payload) => Buffer.from(payload, 'base64url').toString('utf8'));
  return [req.url, ...Object.values(headers), JSON.stringify(req.body ?? null), ...claims].join(
    '\n',
  );
}

/** Everything the caller got back: the raw body and every header. */
export const receivedText = (res: Response): string =>
  `${JSON.stringify(res.headers)}\n${res.text ?? ''}`;

/** The same shape of value, made up: a UUID of the same version, or the hex digits redrawn. */
export function ghostOf(value: string): string {
  if (UUID.test(value)) {
    const made = randomUUID();
    return `${made.slice(0, 14)}${value[14]}${made.slice(15)}`;
  }
  const hex = '0123456789abcdef';
  for (;;) {
    const made = value.replace(/[0-9a-f]/gi, (c) =>
      c >= 'A' && c <= 'F' ? hex[10 + randomInt(6)].toUpperCase() : hex[randomInt(16)],
    );
    if (made.toLowerCase() !== value.toLowerCase()) return made;
  }
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Replaces each key of `map` (case-insensitively, longest first) by its value. */
export function replaceAll(text: string, map: Map<string, string>): string {
  if (map.size === 0) return text;
  const keys = [...map.keys()].sort((x, y) => y.length - x.length);
  const pattern = new RegExp(keys.map(escape).join('|'), 'gi');
  return text.replace(pattern, (m) => map.get(m.toLowerCase()) ?? m);
}

/**
 * The request with A's values in its URL, tenant header and body swapped for
 * made-up ones; returns it with the placeholders that normalise both answers.
 */
export function ghostRequest(
  req: BuiltRequest,
  headers: Record<string, string>,
  secrets: Secrets,
): {
  req: BuiltRequest;
  headers: Record<string, string>;
  real: Map<string, string>;
  ghost: Map<string, string>;
} {
  const tenantHeader = headers[TENANT_HEADER] ?? '';
  const visible = secrets.occurringIn(
    [req.url, tenantHeader, JSON.stringify(req.body ?? null)].join('\n'),
  );
  const toGhost = new Map(visible.map((v) => [v, ghostOf(v)]));
  const real = new Map(visible.map((v, i) => [v, `<value ${i}>`]));
  const ghost = new Map(visible.map((v, i) => [toGhost.get(v)!.toLowerCase(), `<value ${i}>`]));
  const ghostHeaders = { ...headers };
  if (tenantHeader) ghostHeaders[TENANT_HEADER] = replaceAll(tenantHeader, toGhost);
  return {
    req: {
      method: req.method,
      url: replaceAll(req.url, toGhost),
      body:
        req.body === undefined
          ? undefined
          : (JSON.parse(replaceAll(JSON.stringify(req.body), toGhost)) as unknown),
      contentType: req.contentType,
    },
    headers: ghostHeaders,
    real,
    ghost,
  };
}

/** An error answer with the caller's own values and the request id taken out, for comparison. */
export function normalisedAnswer(res: Response, placeholders: Map<string, string>) {
  let body: unknown = replaceAll(res.text ?? '', placeholders);
  try {
    const parsed = JSON.parse(body as string) as Record<string, unknown>;
    delete parsed.requestId;
    body = parsed;
  } catch {
    // Not JSON: compared as text.
  }
  return {
    status: res.status,
    contentType: res.headers['content-type'] as unknown,
    wwwAuthenticate: res.headers['www-authenticate'] as unknown,
    body,
  };
}
