import autocannon from 'autocannon';

/** What one endpoint is asked, as autocannon sends it. */
export interface Endpoint {
  name: string;
  /** autocannon request list, cycled per connection (vary paths or bodies with `setupRequest`). */
  requests: autocannon.Request[];
  /** Headers on every request (e.g. `authorization`). */
  headers?: Record<string, string>;
  /** Share of a mixed load relative to the others (default 1): sign-ins are rarer than reads. */
  weight?: number;
}

export interface LoadResult {
  name: string;
  requests: number;
  /** Completed requests per second over the run. */
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** Responses outside 2xx/3xx. */
  non2xx: number;
  statuses: Record<string, number>;
}

export interface LoadOptions {
  url: string;
  connections: number;
  durationSeconds: number;
  /** Requests per second across all connections; unset = as fast as the server answers. */
  rate?: number;
  /** Stop after exactly this many requests in all (`durationSeconds` is then ignored). */
  amount?: number;
}

/** Drives one endpoint and measures it with our own latency record (autocannon has no p95). */
export async function drive(endpoint: Endpoint, options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.durationSeconds,
        overallRate: options.rate,
        amount: options.amount,
        headers: endpoint.headers,
        requests: endpoint.requests,
        timeout: 10,
      },
      (error, done) =>
        error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(done),
    );
    instance.on('response', (_client, statusCode: number, _bytes, responseTime: number) => {
      latencies.push(responseTime);
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    });
  });
  latencies.sort((a, b) => a - b);
  const at = (q: number) => quantile(latencies, q);
  const non2xx = Object.entries(statuses)
    .filter(([code]) => Number(code) >= 400)
    .reduce((sum, [, n]) => sum + n, 0);
  return {
    name: endpoint.name,
    requests: latencies.length,
    rps: latencies.length / (result.duration || options.durationSeconds),
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max: latencies.at(-1) ?? NaN,
    errors: result.errors + result.timeouts,
    non2xx,
    statuses,
  };
}

/** The nearest-rank quantile `q` (0..1) of ascending `sorted`; NaN when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  return sorted.length
    ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
    : NaN;
}

/**
 * Mixed load: every endpoint at once, the total rate split by weight, each
 * measured on its own. Returns one result per endpoint.
 */
export async function mixed(
  endpoints: Endpoint[],
  options: LoadOptions & { rate: number },
): Promise<LoadResult[]> {
  const total = endpoints.reduce((sum, e) => sum + (e.weight ?? 1), 0);
  const connections = Math.max(1, Math.round(options.connections / endpoints.length));
  return Promise.all(
    endpoints.map((e) =>
      drive(e, {
        ...options,
        rate: Math.max(1, Math.round((options.rate * (e.weight ?? 1)) / total)),
        connections,
      }),
    ),
  );
}

/** Fails loudly when a load run got errors: a fast error is not a fast endpoint. */
export function assertClean(result: LoadResult): void {
  if (result.errors || result.non2xx) {
    throw new Error(
      `${result.name}: ${result.errors} connection errors, ${result.non2xx} error responses ${JSON.stringify(result.statuses)}`,
    );
  }
}
