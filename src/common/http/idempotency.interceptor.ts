import {
  applyDecorators,
  CallHandler,
  ExecutionContext,
  Injectable,
  Logger,
  NestInterceptor,
  SetMetadata,
  StreamableFile,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiExtension } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ClsService } from 'nestjs-cls';
import { catchError, concatMap, from, Observable, of, throwError } from 'rxjs';
import { Readable } from 'node:stream';
import { IS_PUBLIC } from '../../access/policies';
import { CommonErrorCode, CommonException } from '../errors/common.exception';
import { PROBLEM_CONTENT_TYPE, toProblem } from '../errors/problem';
import { RequestStore } from '../request-store';
import {
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENCY_UNSUPPORTED_EXTENSION,
  IDEMPOTENT_REPLAYED_HEADER,
  idempotencyRequestHash,
  idempotencyScope,
  parseIdempotencyKey,
} from './idempotency';
import { IdempotencyClaim, IdempotencyService } from './idempotency.service';

export const IDEMPOTENCY_UNSUPPORTED = 'groundwork:idempotency-unsupported';

const SECRET_SHOWN_ONCE =
  'its response shows a secret only once, and a stored copy of the response would keep that secret.';

/**
 * The route refuses `Idempotency-Key` (400 `idempotency_key_unsupported`),
 * because its response must never be stored: typically it shows a secret
 * once. Refusing beats ignoring: a client relying on the header would
 * otherwise believe a retry is safe.
 */
export function IdempotencyUnsupported(reason: string = SECRET_SHOWN_ONCE): MethodDecorator {
  return applyDecorators(
    SetMetadata(IDEMPOTENCY_UNSUPPORTED, reason),
    ApiExtension(IDEMPOTENCY_UNSUPPORTED_EXTENSION, reason),
  );
}

/**
 * Client errors that say "not now" rather than "no": they are not kept, so a
 * retry with the same key runs again (like a 5xx).
 */
const TRANSIENT_CLIENT_ERRORS = new Set([408, 425, 429]);

type Replay = Extract<IdempotencyClaim, { outcome: 'replay' }>;

/**
 * `Idempotency-Key` on mutating POSTs: the first request with a key runs and
 * its response (or its 4xx problem) is kept for 24 hours; a repeat with the
 * same body gets that response again, marked `Idempotent-Replayed: true`;
 * another body under the same key 422; a repeat while the first still runs
 * 409. Keys belong to the caller and the organisation acted for.
 *
 * Not covered, the header being ignored:
 * - other methods: the header is for POST, which creates or triggers what a
 *   blind retry would do twice;
 * - public routes, even when credentials come along (sign-up, sign-in,
 *   refresh, password reset, accepting an invitation): their responses carry
 *   tokens issued once, which must never be stored in clear, and each is safe
 *   to repeat already (sign-up is unique by email, emailed links work once);
 * - anonymous callers, for the same reason and because a key needs an owner.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly logger = new Logger('Idempotency');

  constructor(
    private readonly reflector: Reflector,
    private readonly cls: ClsService<RequestStore>,
    private readonly idempotency: IdempotencyService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const header = request.headers[IDEMPOTENCY_KEY_HEADER];
    if (request.method !== 'POST' || header === undefined) return next.handle();
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return next.handle();
    const principal = this.cls.get('principal');
    if (!principal) return next.handle();

    const unsupported = this.reflector.getAllAndOverride<string | undefined>(
      IDEMPOTENCY_UNSUPPORTED,
      targets,
    );
    if (unsupported !== undefined) {
      return throwError(
        () =>
          new CommonException(
            CommonErrorCode.IdempotencyKeyUnsupported,
            `This operation does not accept Idempotency-Key: ${unsupported} Send it without the header.`,
          ),
      );
    }
    let key: string;
    try {
      key = parseIdempotencyKey(header);
    } catch (error) {
      return throwError(() => error);
    }
    const scope = idempotencyScope(principal, this.cls.get('tenant')?.id);
    const hash = idempotencyRequestHash(request.method, request.url, request.body);
    const reply = http.getResponse<FastifyReply>();
    return from(this.idempotency.claim(scope, key, hash)).pipe(
      concatMap((claim) =>
        claim.outcome === 'replay'
          ? of(this.replay(reply, claim))
          : this.run(next, request, reply, claim.recordId),
      ),
    );
  }

  private replay(reply: FastifyReply, claim: Replay): unknown {
    void reply.status(claim.status).header(IDEMPOTENT_REPLAYED_HEADER, 'true');
    if (claim.status >= 400) void reply.header('content-type', PROBLEM_CONTENT_TYPE);
    return claim.body;
  }

  private run(
    next: CallHandler,
    request: FastifyRequest,
    reply: FastifyReply,
    recordId: string,
  ): Observable<unknown> {
    return next.handle().pipe(
      concatMap(async (body: unknown) => {
        // The status is final here: Nest applied @HttpCode before the handler ran.
        await this.keepResponse(recordId, reply.statusCode, body, request.id);
        return body;
      }),
      catchError((error: unknown) =>
        from(this.keepFailure(recordId, error, request.id)).pipe(
          concatMap(() => throwError(() => error)),
        ),
      ),
    );
  }

  /** Stores what the client is about to receive: the value as JSON (Fastify's serialisation). */
  private async keepResponse(
    recordId: string,
    status: number,
    body: unknown,
    requestId: string,
  ): Promise<void> {
    const streamed =
      body instanceof StreamableFile || body instanceof Readable || Buffer.isBuffer(body);
    await this.settle(requestId, () =>
      // A stream cannot be replayed; such a route is simply not protected.
      streamed
        ? this.idempotency.release(recordId)
        : this.idempotency.complete(recordId, status, body),
    );
  }

  /**
   * A 4xx is the answer to this request, and a repeat gets it again. A 5xx (or
   * anything unexpected) is our failure: the key is freed so a retry runs.
   * The problem is built exactly as the global ProblemFilter builds it.
   */
  private async keepFailure(recordId: string, error: unknown, requestId: string): Promise<void> {
    const { problem } = toProblem(error, requestId);
    const retryable = problem.status >= 500 || TRANSIENT_CLIENT_ERRORS.has(problem.status);
    await this.settle(requestId, () =>
      retryable
        ? this.idempotency.release(recordId)
        : this.idempotency.complete(recordId, problem.status, problem),
    );
  }

  /**
   * The client's answer never depends on the bookkeeping: a failure to settle
   * is logged, and the key then stays `processing` (a repeat gets 409) until it
   * expires, which is safer than letting a repeat run the request twice.
   */
  private async settle(requestId: string, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      this.logger.error(
        { err: error, requestId },
        'Could not settle an Idempotency-Key; it stays busy until it expires',
      );
    }
  }
}
