import { passwordProblem } from '../identity/credentials';
import { parseDemoArgs, UsageError } from './demo-command';
import { buildDemoWorld, DemoOptions } from './demo-world';
import { loadKbContent, parseArticle } from './kb-content';
import { Prng } from './prng';

const options: DemoOptions = {
  seed: 'unit',
  tenants: 12,
  ticketsPerTenant: 10,
  months: 12,
  until: new Date('2026-06-01T12:00:00.000Z'),
};

describe('demo world definition', () => {
  it('is a function of its options', () => {
    expect(buildDemoWorld(options)).toEqual(buildDemoWorld({ ...options }));
    expect(JSON.stringify(buildDemoWorld({ ...options, seed: 'other' }))).not.toBe(
      JSON.stringify(buildDemoWorld(options)),
    );
  });

  it('the PRNG repeats for a seed and differs between seeds', () => {
    const a = new Prng('x');
    const b = new Prng('x');
    const draws = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(draws);
    expect(new Prng('y').next()).not.toBe(draws[0]);
    expect(draws.every((d) => d >= 0 && d < 1)).toBe(true);
  });

  it('has the showcase first, every story, unique slugs and emails, and every action inside the history', () => {
    const world = buildDemoWorld(options);
    expect(world.tenants[0]).toMatchObject({ slug: 'northwind', story: 'showcase' });
    expect(new Set(world.tenants.map((t) => t.story))).toEqual(
      new Set([
        'showcase',
        'recovered',
        'suspended',
        'canceled',
        'pro_yearly',
        'enterprise',
        'free',
        'starter_eur',
        'pro_monthly',
        'starter_yearly',
      ]),
    );
    expect(new Set(world.tenants.map((t) => t.slug)).size).toBe(world.tenants.length);
    const emails = world.tenants.flatMap((t) => t.people.map((p) => p.email));
    expect(new Set(emails).size).toBe(emails.length);
    for (const tenant of world.tenants) {
      expect(tenant.signupAt.getTime()).toBeGreaterThanOrEqual(world.start.getTime());
      for (const when of [
        ...tenant.billing.map((b) => b.at),
        ...tenant.tickets.flatMap((t) => [t.createdAt, t.firstReplyAt, t.statusAt, t.rating?.at]),
      ]) {
        if (!when) continue;
        expect(when.getTime()).toBeGreaterThan(tenant.signupAt.getTime());
        expect(when.getTime()).toBeLessThanOrEqual(world.until.getTime());
      }
      expect(tenant.people[0].role).toBe('owner');
    }
  });

  it('prints logins whose passwords pass the password policy', () => {
    const { logins } = buildDemoWorld(options);
    expect(logins.map((l) => l.email)).toEqual([
      'owner@northwind.demo',
      'admin@northwind.demo',
      'member@northwind.demo',
      'billing@northwind.demo',
      'admin@groundwork.demo',
      'agent@groundwork.demo',
    ]);
    for (const login of logins) {
      expect(passwordProblem(login.password, { email: login.email })).toBeUndefined();
    }
    expect(new Set(logins.map((l) => l.password)).size).toBe(logins.length);
  });
});

describe('demo knowledge base content', () => {
  it('parses front matter and refuses a file without it', () => {
    const parsed = parseArticle(
      '---\ntitle: Inviting a teammate\ncategory: team-and-roles\ncategory_name: Team and roles\ntags: members, invitations\nlocale: en\n---\nBody **here**.\n',
      'team-and-roles/inviting-a-teammate.md',
    );
    expect(parsed).toEqual({
      meta: {
        title: 'Inviting a teammate',
        category: 'team-and-roles',
        category_name: 'Team and roles',
        tags: 'members, invitations',
        locale: 'en',
      },
      body: 'Body **here**.',
    });
    expect(() => parseArticle('no front matter', 'x.md')).toThrow(/x\.md: no front matter/);
    expect(() => parseArticle('---\ntitle: T\n---\nbody', 'y.md')).toThrow(/no "category"/);
  });

  it('loads every article of demo/knowledge-base, at least 40, in a stable order', () => {
    const categories = loadKbContent();
    const articles = categories.flatMap((c) => c.articles);
    expect(articles.length).toBeGreaterThanOrEqual(40);
    expect(categories.map((c) => c.slug)).toEqual([...categories.map((c) => c.slug)].sort());
    for (const article of articles) {
      expect(article.body.length).toBeGreaterThan(200);
      expect(article.slug).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    }
  });
});

describe('demo flags', () => {
  it('reads the sizes and refuses bad ones with a clear message', () => {
    expect(parseDemoArgs(['--seed', 's', '--tenants', '6', '--months', '3']).given).toEqual({
      seed: 's',
      tenants: 6,
      months: 3,
    });
    expect(() => parseDemoArgs(['--tenants', '2'])).toThrow(UsageError);
    expect(() => parseDemoArgs(['--months', 'x'])).toThrow(/--months must be a whole number/);
    expect(() => parseDemoArgs(['--nope'])).toThrow(UsageError);
  });
});
