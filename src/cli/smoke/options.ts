import { parseArgs } from 'node:util';

export const SMOKE_USAGE = `Usage: npm run smoke -- --base-url <url> [--email-domain <domain>] [--timeout <ms>] [--json]

Checks a running deployment through its public HTTP API: health probes, the
API docs, the pricing page, then sign-up, sign-in and an authenticated call on
a throwaway organisation. Exits 0 when every check passes, 1 when one fails,
2 on a usage error.

  --base-url <url>         where the deployment answers (http or https), e.g. https://api.example.com
  --email-domain <domain>  domain of the throwaway account's address (default example.com)
  --timeout <ms>           limit for each request, in milliseconds (default 10000)
  --json                   print a machine-readable report instead of one line per check`;

export interface SmokeOptions {
  baseUrl: URL;
  emailDomain: string;
  timeoutMs: number;
  json: boolean;
}

export type ParsedArgs =
  | { kind: 'run'; options: SmokeOptions }
  | { kind: 'help' }
  | { kind: 'usage-error'; problem: string };

const DEFAULT_TIMEOUT_MS = 10_000;
// A request that needs longer than this is a failure to report, not to wait for.
const MAX_TIMEOUT_MS = 10 * 60_000;
// class-validator's IsEmail, which sign-up applies, wants a dotted domain with a top-level label.
const DOMAIN = /^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** Reads the command line; never throws: a bad argument is a usage error the caller prints. */
export function parseSmokeArgs(argv: string[]): ParsedArgs {
  let values: {
    'base-url'?: string;
    'email-domain'?: string;
    timeout?: string;
    json?: boolean;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'base-url': { type: 'string' },
        'email-domain': { type: 'string' },
        timeout: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return { kind: 'usage-error', problem: (error as Error).message };
  }
  if (values.help) return { kind: 'help' };

  const raw = values['base-url'];
  if (!raw) return { kind: 'usage-error', problem: '--base-url is required' };
  const baseUrl = parseBaseUrl(raw);
  if (!baseUrl)
    return {
      kind: 'usage-error',
      problem: `--base-url must be an http:// or https:// URL without credentials, query or fragment (got "${raw}")`,
    };

  const emailDomain = (values['email-domain'] ?? 'example.com').trim().toLowerCase();
  if (!DOMAIN.test(emailDomain))
    return {
      kind: 'usage-error',
      problem: `--email-domain must be a domain name such as example.com (got "${values['email-domain']}")`,
    };

  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (values.timeout !== undefined) {
    timeoutMs = /^\d+$/.test(values.timeout) ? Number(values.timeout) : NaN;
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS)
      return {
        kind: 'usage-error',
        problem: `--timeout must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS} (got "${values.timeout}")`,
      };
  }
  return { kind: 'run', options: { baseUrl, emailDomain, timeoutMs, json: values.json ?? false } };
}

function parseBaseUrl(raw: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  // Credentials would be sent to every route; a query or fragment cannot prefix a path.
  if (url.username || url.password || url.search || url.hash) return undefined;
  return url;
}
