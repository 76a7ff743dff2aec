import { setTimeout as sleep } from 'node:timers/promises';

/** A check's failure: its message is the line an operator reads. */
export class SmokeFailure extends Error {
  override readonly name = 'SmokeFailure';
}

export interface SmokeResponse {
  status: number;
  contentType: string;
  text: string;
  /** Where a redirect points (redirects are reported, never followed). */
  location?: string;
}

export interface SmokeRequest {
  method?: 'GET' | 'POST';
  body?: unknown;
  token?: string;
}

/**
 * Rate limits answer 429 with Retry-After. The smoke test makes two or three
 * requests per limited route, so waiting briefly and asking again is what a
 * polite client does; a longer wait is reported instead, so a deployment
 * pipeline is never held for minutes.
 */
export const RATE_LIMIT = { attempts: 3, maxWaitMs: 30_000, defaultWaitMs: 1_000 } as const;

/** Sequential requests to one deployment, each under the same time limit. */
export class SmokeHttp {
  constructor(
    private readonly baseUrl: URL,
    private readonly timeoutMs: number,
    private readonly wait: (ms: number) => Promise<unknown> = sleep,
  ) {}

  /** `path` is relative to the base URL's own path, so a deployment under a prefix works too. */
  url(path: string): string {
    const url = new URL(this.baseUrl);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
    return url.toString();
  }

  async send(path: string, request: SmokeRequest = {}): Promise<SmokeResponse> {
    for (let attempt = 1; ; attempt++) {
      const res = await this.once(path, request);
      if (res.status !== 429) return res;
      const waitMs = retryAfterMs(res.headers.get('retry-after')) ?? RATE_LIMIT.defaultWaitMs;
      if (attempt >= RATE_LIMIT.attempts || waitMs > RATE_LIMIT.maxWaitMs)
        throw new SmokeFailure(
          `rate limited: HTTP 429 after ${attempt} attempt(s), Retry-After ${Math.ceil(waitMs / 1000)} s`,
        );
      await this.wait(waitMs);
    }
  }

  private async once(
    path: string,
    request: SmokeRequest,
  ): Promise<SmokeResponse & { headers: Headers }> {
    const headers: Record<string, string> = { accept: 'application/json, text/html;q=0.9' };
    if (request.token) headers.authorization = `Bearer ${request.token}`;
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    try {
      // One signal for the whole exchange: a body that trickles in counts against the limit too.
      const res = await fetch(this.url(path), {
        method: request.method ?? 'GET',
        headers,
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      return {
        status: res.status,
        contentType: res.headers.get('content-type') ?? '',
        location: res.headers.get('location') ?? undefined,
        headers: res.headers,
        text: await res.text(),
      };
    } catch (error) {
      throw new SmokeFailure(describeFetchError(error, this.timeoutMs));
    }
  }
}

/** Retry-After is either delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function describeFetchError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'))
    return `no answer within ${timeoutMs} ms`;
  // undici wraps the socket error (ECONNREFUSED, ENOTFOUND, …) as the cause of "fetch failed".
  const cause = error instanceof Error ? (error.cause as NodeJS.ErrnoException | undefined) : null;
  if (cause?.code) return `cannot reach the server: ${cause.code} (${cause.message})`;
  return `cannot reach the server: ${error instanceof Error ? error.message : String(error)}`;
}

/** The response as JSON, or a failure naming what came back instead. */
export function jsonOf(res: SmokeResponse): unknown {
  try {
    return JSON.parse(res.text) as unknown;
  } catch {
    throw new SmokeFailure(
      `HTTP ${res.status} with a body that is not JSON (${res.contentType || 'no content type'})`,
    );
  }
}

/** Fails unless the status is the expected one, quoting what the server said about it. */
export function expectStatus(res: SmokeResponse, expected: number): void {
  if (res.status === expected) return;
  throw new SmokeFailure(`HTTP ${res.status} (expected ${expected})${explain(res)}`);
}

/** A short reason: where a redirect points, or from a problem+json body or a Terminus health report. */
function explain(res: SmokeResponse): string {
  // http:// answered by a redirect to https://, say: the operator needs the other base URL.
  if (res.status >= 300 && res.status < 400 && res.location)
    return `: redirected to ${res.location}`;
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    return '';
  }
  if (!isRecord(body)) return '';
  // Terminus: { status: 'error', error: { database: { status: 'down', message } } }
  if (isRecord(body.error)) {
    const down = Object.entries(body.error).map(([name, value]) => {
      const message = isRecord(value) && typeof value.message === 'string' ? value.message : '';
      return message ? `${name} down (${message})` : `${name} down`;
    });
    if (down.length > 0) return `: ${down.join(', ')}`;
  }
  // RFC 9457 problem details, as every Groundwork error is written.
  const parts = [body.code, body.detail ?? body.title].filter((p) => typeof p === 'string');
  const requestId = typeof body.requestId === 'string' ? ` [request ${body.requestId}]` : '';
  return parts.length > 0 ? `: ${parts.join(': ')}${requestId}` : '';
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
