import type { IncomingMessage } from 'node:http';
import { RequestMethod } from '@nestjs/common';
import { ClsServiceManager } from 'nestjs-cls';
import type { Params } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import type { Options } from 'pino-http';
import { AppConfig } from '../config/app-config';
import { RequestStore } from '../common/request-store';

/**
 * Paths pino replaces with "[redacted]" wherever they appear in a log line:
 * credentials in headers, and the usual names of passwords, tokens and card data
 * in any logged object.
 */
const SENSITIVE_KEYS = [
  'password',
  'newPassword',
  'currentPassword',
  'passwordHash',
  'token',
  'accessToken',
  'refreshToken',
  'secret',
  'apiKey',
  'key',
  'cardNumber',
  'card_number',
  'cvc',
  'cvv',
];

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["stripe-signature"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  // Nest's Logger puts a logged object at the top level of the line: the name
  // itself, and the same name one and two levels down.
  ...SENSITIVE_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]),
  'card.number',
  '*.card.number',
];

/** pino / pino-http settings: JSON lines with the request id and tenant id on each. */
export function loggerParams(config: AppConfig, destination?: DestinationStream): Params {
  const options: Options = {
    level: config.log.level,
    genReqId: (req: IncomingMessage) => (req as IncomingMessage & { id?: string }).id ?? 'unknown',
    // On the request-completed line and on every line logged while serving it.
    customProps: (req) => ({ requestId: (req as IncomingMessage & { id?: string }).id }),
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    // Tenant id from the request context, on every line logged while serving it.
    mixin: () => {
      const cls = ClsServiceManager.getClsService<RequestStore>();
      const tenant = cls.isActive() ? cls.get('tenant') : undefined;
      return tenant ? { tenantId: tenant.id } : {};
    },
    customLogLevel: (_req, res, error) =>
      error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
    // Probes every few seconds would drown the log. Middleware sees a url
    // relative to its mount point; originalUrl is the one the client sent.
    autoLogging: {
      ignore: (req) =>
        (
          (req as IncomingMessage & { originalUrl?: string }).originalUrl ??
          req.url ??
          ''
        ).startsWith('/health'),
    },
    serializers: {
      req: (req: { id: string; method: string; url: string; remoteAddress?: string }) => ({
        method: req.method,
        url: req.url,
        remoteAddress: req.remoteAddress,
      }),
    },
  };
  return {
    forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
    pinoHttp: destination ? [options, destination] : options,
  };
}
