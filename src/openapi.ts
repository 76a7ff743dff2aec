import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { FieldErrorDto, ProblemDto } from './common/http/api-problem';
import { documentIdempotencyKey } from './common/http/idempotency';
import { documentRateLimits } from './common/http/rate-limit';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './common/paths';

/**
 * The OpenAPI document, built from the controllers' decorators, then completed
 * with what the global pipeline adds to routes (the `Idempotency-Key` header).
 */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Groundwork API')
    .setDescription(
      'The multi-tenant SaaS backend: tenancy, identity, billing, support and knowledge base. ' +
        'Errors are RFC 9457 problem documents (`application/problem+json`) with a stable `code`.',
    )
    .setVersion(readPackageVersion())
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-Api-Key' }, 'api-key')
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    extraModels: [ProblemDto, FieldErrorDto],
    operationIdFactory: (controller, method) => `${controller}_${method}`,
  });
  return documentRateLimits(documentIdempotencyKey(document));
}

function readPackageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** Serves the UI at `/docs` and the document at `/docs-json`. */
export function setupOpenApi(app: INestApplication): void {
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
    useGlobalPrefix: false,
  });
}

/** JSON with keys sorted at every level, so the committed file diffs cleanly. */
export function stableStringify(value: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
          )
        : v;
  return `${JSON.stringify(sort(value), null, 2)}\n`;
}
