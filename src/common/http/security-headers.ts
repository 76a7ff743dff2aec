import cors from '@fastify/cors';
import helmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AppConfig } from '../../config/app-config';
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER } from './idempotency';
import { RATE_LIMIT_RESPONSE_HEADERS } from './rate-limit';

/** The Swagger UI and its assets (`/docs`, `/docs/…`, `/docs-json`, `/docs-yaml`). */
export const isDocsRoute = (url: string): boolean =>
  url === '/docs' || url.startsWith('/docs/') || url.startsWith('/docs-');

/**
 * Every other response is JSON or problem+json: nothing in it may load,
 * run, frame or submit anything.
 */
const API_CSP = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
    frameAncestors: ["'none'"],
  },
};

/**
 * What the Swagger UI page needs and no more: its scripts and stylesheet
 * from this server, inline styles (its HTML has `<style>` blocks and the UI
 * sets style attributes), data: icons, and "Try it out" calls to this origin.
 * No inline script: @nestjs/swagger loads its initialiser from a file.
 */
const DOCS_CSP = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", 'data:'],
    fontSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
};

/** Helmet's options for the API; production adds HSTS (TLS ends in front of us there). */
export function helmetOptions(config: AppConfig): FastifyHelmetOptions {
  return {
    global: true,
    contentSecurityPolicy: API_CSP,
    // A JSON API has no cross-origin documents to isolate; COEP would only get in the way.
    crossOriginEmbedderPolicy: false,
    // Browsers honour HSTS over HTTPS only; outside production it would pin localhost.
    strictTransportSecurity:
      config.env === 'production' ? { maxAge: 365 * 24 * 3600, includeSubDomains: true } : false,
    referrerPolicy: { policy: 'no-referrer' },
    xFrameOptions: { action: 'deny' },
  };
}

/** Request headers a browser client may send cross-origin. */
const CORS_ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'x-api-key',
  'x-tenant-id',
  'x-request-id',
  IDEMPOTENCY_KEY_HEADER,
];
/** Response headers a browser client may read cross-origin. */
const CORS_EXPOSED_HEADERS = [
  'x-request-id',
  'retry-after',
  'www-authenticate',
  'location',
  IDEMPOTENT_REPLAYED_HEADER,
  ...RATE_LIMIT_RESPONSE_HEADERS,
];

/**
 * Security headers on every response (helmet: strict CSP, nosniff, no
 * referrer, no framing; HSTS in production), a looser CSP on the Swagger UI
 * only, and CORS for the configured origins only. Registered before any
 * route so every route, the 404 handler and the docs get them.
 */
export async function registerSecurityHeaders(
  app: NestFastifyApplication,
  config: AppConfig,
): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  // Before helmet's own onRoute hook, which reads the route's `helmet` option.
  fastify.addHook('onRoute', (route) => {
    if (isDocsRoute(route.url)) {
      (route as { helmet?: FastifyHelmetOptions }).helmet = { contentSecurityPolicy: DOCS_CSP };
    }
  });
  await app.register(helmet, helmetOptions(config));
  const allowed = new Set(config.http.corsOrigins);
  await app.register(cors, {
    // Exact match only; no origin configured: no cross-origin access at all.
    origin: (origin, done) => done(null, origin !== undefined && allowed.has(origin)),
    // Bearer tokens and API keys travel in headers, never in cookies.
    credentials: false,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    maxAge: 600,
    strictPreflight: true,
  });
}
