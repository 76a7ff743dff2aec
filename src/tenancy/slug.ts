/**
 * Slugs name an organisation in URLs and headers (`X-Tenant-Id: acme`), so they
 * must be URL-safe, unambiguous next to ids, and never shadow a route or a
 * well-known name that could be used for phishing.
 */
export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){1,38}[a-z0-9]$/;
export const SLUG_MIN = 3;
export const SLUG_MAX = 40;

export const RESERVED_SLUGS: ReadonlySet<string> = new Set([
  'about',
  'account',
  'accounts',
  'admin',
  'administrator',
  'api',
  'app',
  'apps',
  'assets',
  'auth',
  'billing',
  'blog',
  'cdn',
  'checkout',
  'dashboard',
  'default',
  'demo',
  'dev',
  'docs',
  'email',
  'groundwork',
  'health',
  'help',
  'internal',
  'invoice',
  'invoices',
  'login',
  'logout',
  'mail',
  'metrics',
  'new',
  'null',
  'oauth',
  'operator',
  'owner',
  'platform',
  'portal',
  'pricing',
  'public',
  'root',
  'security',
  'settings',
  'signup',
  'staff',
  'staging',
  'static',
  'status',
  'support',
  'system',
  'team',
  'tenant',
  'tenants',
  'test',
  'undefined',
  'v1',
  'v2',
  'webhooks',
  'www',
]);

/** A UUID, dashed or not: `X-Tenant-Id` would read it as an id, never as this slug. */
const looksLikeAnId = (slug: string): boolean =>
  /^[0-9a-f]{32}$/.test(slug) ||
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(slug);

export type SlugProblem = 'invalid' | 'reserved';

/** Why a slug cannot be used, or undefined when it can. */
export function slugProblem(slug: string): SlugProblem | undefined {
  if (!SLUG_PATTERN.test(slug)) return 'invalid';
  // Names that look like a tenant schema or a UUID would be ambiguous with ids.
  if (RESERVED_SLUGS.has(slug) || slug.startsWith('tenant-') || looksLikeAnId(slug))
    return 'reserved';
  return undefined;
}

export const SLUG_RULE =
  '3 to 40 characters: lower-case letters, digits and single hyphens, starting and ending with a letter or digit';
