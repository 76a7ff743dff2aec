import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { BadRequestException, HttpException } from '@nestjs/common';
import { errorCodes, type FastifyReply, type FastifyRequest } from 'fastify';
import { AppModule, AppModuleOptions } from './app.module';
import { PROBLEM_CONTENT_TYPE, toProblem } from './common/errors/problem';
import { requestIdFor } from './common/http/request-id';
import { registerSecurityHeaders } from './common/http/security-headers';
import { AppConfig } from './config/app-config';
import { APP_CONFIG } from './config/config.module';
import { setupOpenApi } from './openapi';
import { instrumentHttp } from './observability/http-metrics';
import { Metrics } from './observability/metrics';
import { SharedCaches } from './common/cache/shared-caches';
import { RAW_BODY_ROUTES } from './billing/webhooks/webhook.controller';
import { UPLOAD_CONTENT_TYPES } from './support/attachments/attachment-type';
import { ATTACHMENT_UPLOAD_ROUTE } from './support/attachments/attachment.controller';

/** The Fastify adapter with our limits and request ids. */
export function createAdapter(config: AppConfig): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
    genReqId: requestIdFor,
    // Keep-alive connections get `503 Connection: close` once closing starts.
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    trustProxy: config.http.trustProxy,
    // Requests Node's parser refuses (headers over 16 KiB, a malformed request line) get a
    // problem document too, not Fastify's default JSON.
    clientErrorHandler: (error: Error & { code?: string }, socket: Socket) => {
      if (!socket.writable) return socket.destroy();
      const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      const { problem } = toProblem(
        new HttpException(STATUS_CODES[status] ?? 'Bad Request', status),
      );
      const body = JSON.stringify(problem);
      socket.end(
        `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\n` +
          `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `Connection: close\r\n\r\n${body}`,
      );
    },
    // Requests Fastify rejects before routing (a malformed URL, say) still get a problem document.
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) => {
      const { problem } = toProblem(
        Object.assign(new BadRequestException(error.message), {}),
        request.id,
      );
      void reply
        .status(problem.status)
        .header('x-request-id', request.id)
        .header('content-type', PROBLEM_CONTENT_TYPE)
        .send(problem);
    },
  });
}

/**
 * Nest's body parsers are off: they would add form-encoded bodies. The API
 * speaks JSON only; anything else gets a 415 problem.
 */
export const APP_OPTIONS = { bufferLogs: true, bodyParser: false } as const;

/**
 * Everything done to a freshly created application before it serves; shared
 * by `main.ts`, the OpenAPI writer and the e2e harness so they all run the
 * same pipeline.
 */
export async function configureApp(app: NestFastifyApplication): Promise<NestFastifyApplication> {
  app.useLogger(app.get(Logger));
  app.setGlobalPrefix('v1', {
    exclude: ['health', 'health/{*path}', 'webhooks/{*path}', 'metrics'],
  });
  const fastify = app.getHttpAdapter().getInstance();
  // Before any route is added, so every one of them (and the docs) gets the headers.
  await registerSecurityHeaders(app, app.get<AppConfig>(APP_CONFIG));
  instrumentHttp(fastify, app.get(Metrics));
  // A change is acknowledged once its cache invalidations have left for the other
  // replicas (ADR 0026): the caller's next request, wherever it lands, sees it.
  const caches = app.get(SharedCaches);
  fastify.addHook('onSend', (_request, _reply, payload, done) => {
    const pending = caches.published();
    if (!pending) return done(null, payload);
    void pending.then(() => done(null, payload));
  });
  // Webhook signatures are computed over the exact bytes sent: those routes get
  // the raw body; every other route keeps Fastify's own (safe) JSON parser.
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    if (RAW_BODY_ROUTES.has(request.routeOptions.url ?? '')) return done(null, body);
    // Fastify's parser takes the buffer too (typed as a string).
    void parseJson(request, body as unknown as string, done);
  });
  // Fastify parses text/plain by default; a JSON API refuses it (415) rather
  // than validating a string.
  fastify.removeContentTypeParser('text/plain');
  // Ticket attachments arrive as the file's raw bytes, with their own size
  // limit on that one route; everywhere else these types stay refused (415).
  const { maxBytes } = app.get<AppConfig>(APP_CONFIG).attachments;
  fastify.addHook('onRoute', (route) => {
    if (route.url === ATTACHMENT_UPLOAD_ROUTE) route.bodyLimit = maxBytes;
  });
  fastify.addContentTypeParser(
    UPLOAD_CONTENT_TYPES,
    { parseAs: 'buffer' },
    (request, body, done) => {
      if (request.routeOptions.url === ATTACHMENT_UPLOAD_ROUTE) return done(null, body);
      done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE());
    },
  );
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });
  setupOpenApi(app);
  await app.init();
  return app;
}

/** Builds the HTTP application (initialised, not yet listening). */
export async function createApp(
  config: AppConfig,
  options: AppModuleOptions = {},
): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, options),
    createAdapter(config),
    APP_OPTIONS,
  );
  return configureApp(app);
}
