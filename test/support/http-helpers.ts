import type { Response } from 'supertest';

export const PROBLEM_MEDIA_TYPE = /^application\/problem\+json(;|$)/;

/** Shape of a problem document as the tests read it. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  requestId: string;
  errors?: { field: string; message: string }[];
  [extension: string]: unknown;
}

/**
 * Asserts everything every problem response must carry: the status, the media
 * type, the stable code (also in `type`), the status echoed in the body, a
 * non-empty detail and the request id of the response header.
 */
export function expectProblem(res: Response, status: number, code: string): ProblemBody {
  expect({ status: res.status, code: res.body?.code }).toEqual({ status, code });
  expect(res.headers['content-type']).toMatch(PROBLEM_MEDIA_TYPE);
  const body = res.body as ProblemBody;
  expect(body.status).toBe(status);
  expect(body.type).toBe(`urn:groundwork:problem:${code}`);
  expect(typeof body.title).toBe('string');
  expect(body.title.length).toBeGreaterThan(0);
  expect(typeof body.detail).toBe('string');
  expect(body.detail.trim().length).toBeGreaterThan(0);
  expect(typeof res.headers['x-request-id']).toBe('string');
  expect(body.requestId).toBe(res.headers['x-request-id']);
  return body;
}

/** The fields named by a validation problem's `errors[]`, each once, in order. */
export function erroredFields(body: ProblemBody): string[] {
  expect(Array.isArray(body.errors)).toBe(true);
  for (const error of body.errors ?? []) {
    expect(typeof error.field).toBe('string');
    expect(typeof error.message).toBe('string');
    expect(error.message.length).toBeGreaterThan(0);
  }
  return [...new Set((body.errors ?? []).map((e) => e.field))];
}

/** One parsed pino line. */
export type LogEntry = Record<string, unknown> & { level: number; msg?: string };

/** A pino destination that keeps every line, for `bootTestApp({ logDestination })`. */
export class LogCapture {
  private readonly chunks: string[] = [];

  write(chunk: string): void {
    this.chunks.push(chunk);
  }

  /** Forgets what was captured so far, so the next assertions see one request's lines only. */
  clear(): void {
    this.chunks.length = 0;
  }

  /** Everything written so far, verbatim. */
  get text(): string {
    return this.chunks.join('');
  }

  get entries(): LogEntry[] {
    return this.text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as LogEntry);
  }

  /**
   * The first line matching `predicate`, waiting briefly: pino-http writes the
   * request-completed line on the response's `finish`, which may come after
   * the client has read the response.
   */
  async waitFor(predicate: (entry: LogEntry) => boolean, timeoutMs = 2_000): Promise<LogEntry> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.entries.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Error(`No log line matched within ${timeoutMs} ms. Captured:\n${this.text}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** pino-http's line for the end of one request, found by its URL. */
export const isRequestCompleted =
  (method: string, url: string) =>
  (entry: LogEntry): boolean => {
    const req = entry.req as { method?: string; url?: string } | undefined;
    return entry.msg === 'request completed' && req?.method === method && req?.url === url;
  };
