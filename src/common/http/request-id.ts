import type { IncomingMessage } from 'node:http';
import { newId } from '../uuid';

const ACCEPTABLE = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * The request id: the caller's `X-Request-Id` when it is a sane token (so a
 * trace spans services), a new UUIDv7 otherwise. Also left on the raw request,
 * where pino-http and the CLS middleware pick it up.
 */
export function requestIdFor(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && ACCEPTABLE.test(incoming) ? incoming : newId();
  (req as IncomingMessage & { id?: string }).id = id;
  return id;
}
