import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { stableStringify } from '../../src/openapi';
import { bootTestApp, TestApp } from '../support/test-app';

interface Operation {
  operationId?: string;
  parameters?: { name: string; in: string; required?: boolean }[];
  responses?: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, { properties?: Record<string, unknown> }> };
}

/** The served API description: what frontends generate their clients from. */
describe('OpenAPI', () => {
  let t: TestApp;
  let doc: OpenApiDocument;

  beforeAll(async () => {
    t = await bootTestApp();
    const res = await request(t.server).get('/docs-json').expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    doc = res.body as OpenApiDocument;
  });
  afterAll(() => t.close());

  const operation = (path: string, method: string): Operation => {
    const op = doc.paths[path]?.[method];
    if (!op) throw new Error(`${method.toUpperCase()} ${path} is not in the document`);
    return op;
  };

  it('/docs-json is an OpenAPI 3 document', () => {
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(typeof doc.paths).toBe('object');
  });

  it.each([
    ['/v1/tenant', 'get', 'getTenant'],
    ['/v1/tenant', 'patch', 'updateTenant'],
    ['/v1/tenant/audit-log', 'get', 'listAuditEvents'],
  ])('%s %s is operation %s with the optional X-Tenant-Id header', (path, method, id) => {
    const op = operation(path, method);
    expect(op.operationId).toBe(id);
    expect(op.parameters).toContainEqual(
      expect.objectContaining({ name: 'X-Tenant-Id', in: 'header', required: false }),
    );
  });

  it.each([
    ['/v1/tenant', 'get'],
    ['/v1/tenant', 'patch'],
    ['/v1/tenant/audit-log', 'get'],
  ])('%s %s documents its problem responses as ProblemDto', (path, method) => {
    const responses = operation(path, method).responses ?? {};
    for (const status of ['400', '401', '403', '404']) {
      expect(responses[status]?.content?.['application/problem+json']?.schema?.$ref).toBe(
        '#/components/schemas/ProblemDto',
      );
    }
  });

  it('has ProblemDto in components', () => {
    const problem = doc.components?.schemas?.ProblemDto;
    expect(problem).toBeDefined();
    expect(Object.keys(problem?.properties ?? {})).toEqual(
      expect.arrayContaining(['type', 'title', 'status', 'detail', 'code', 'requestId', 'errors']),
    );
  });

  it('hides the health probes', () => {
    const paths = Object.keys(doc.paths);
    expect(paths.length).toBeGreaterThan(0);
    expect(paths.filter((p) => /(^|\/)health(\/|$)/.test(p))).toEqual([]);
  });

  it('/docs serves the Swagger UI as HTML', async () => {
    const res = await request(t.server).get('/docs').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toMatch(/<html/i);
    expect(res.text).toMatch(/swagger-ui/i);
  });

  it('the committed openapi.json is the served document (run `npm run openapi` when this fails)', () => {
    const committed = readFileSync(join(__dirname, '../../openapi.json'), 'utf8');
    expect(committed).toBe(stableStringify(doc));
  });
});
