import helmet from '@fastify/helmet';
import Fastify from 'fastify';
import { AppConfig } from '../../config/app-config';
import { helmetOptions, isDocsRoute } from './security-headers';

async function headersFor(env: AppConfig['env']): Promise<Record<string, unknown>> {
  const app = Fastify();
  await app.register(helmet, helmetOptions({ env } as AppConfig));
  app.get('/x', () => ({ ok: true }));
  const res = await app.inject({ method: 'GET', url: '/x' });
  await app.close();
  return res.headers;
}

describe('helmetOptions', () => {
  it('sends HSTS for a year, subdomains included, in production', async () => {
    expect((await headersFor('production'))['strict-transport-security']).toBe(
      'max-age=31536000; includeSubDomains',
    );
  });

  it.each(['development', 'test'] as const)(
    'sends no HSTS in %s (it would pin localhost)',
    async (env) => {
      const headers = await headersFor(env);
      expect(headers['strict-transport-security']).toBeUndefined();
      expect(headers['x-content-type-options']).toBe('nosniff');
    },
  );
});

describe('isDocsRoute', () => {
  it.each(['/docs', '/docs/', '/docs/swagger-ui-init.js', '/docs-json', '/docs-yaml'])(
    '%s is the Swagger UI',
    (url) => expect(isDocsRoute(url)).toBe(true),
  );
  it.each(['/v1/docs', '/docsearch', '/v1/kb/search'])('%s is not', (url) =>
    expect(isDocsRoute(url)).toBe(false),
  );
});
