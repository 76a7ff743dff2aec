import { RESERVED_SLUGS, SLUG_MAX, SLUG_MIN, SLUG_PATTERN, slugProblem } from './slug';

describe('slugProblem', () => {
  it.each(['0193a3c5-8f2e-7b6a-9c1d-2e3f4a5b6c7d', '0193a3c58f2e7b6a9c1d2e3f4a5b6c7d'])(
    'reserves %s: a UUID-shaped slug would always be read as an id',
    (slug) => {
      expect(slugProblem(slug)).toBe('reserved');
    },
  );

  it.each([
    'acme',
    'abc',
    'a1b',
    '123',
    'a-b',
    'acme-corp',
    'acme-2-corp',
    'x9-y8-z7',
    'a'.repeat(40),
    `a${'-b'.repeat(19)}a`,
    'tenant1',
    'tenantacme',
  ])('accepts %s', (slug) => {
    expect(slugProblem(slug)).toBeUndefined();
  });

  it('has the documented length bounds', () => {
    expect(SLUG_MIN).toBe(3);
    expect(SLUG_MAX).toBe(40);
  });

  it.each([
    ['the empty string', ''],
    ['one character', 'a'],
    ['two characters', 'ab'],
    ['41 characters', 'a'.repeat(41)],
    ['upper-case letters', 'Acme'],
    ['all upper case', 'ACME'],
    ['a leading hyphen', '-acme'],
    ['a trailing hyphen', 'acme-'],
    ['a double hyphen', 'ac--me'],
    ['only hyphens', '---'],
    ['an underscore', 'ac_me'],
    ['a dot', 'ac.me'],
    ['a space', 'ac me'],
    ['surrounding whitespace', ' acme '],
    ['a trailing newline', 'acme\n'],
    ['a slash', 'ac/me'],
    ['an accented letter', 'café'],
    ['a non-Latin script', 'компания'],
    ['a full-width letter', 'ａcme'],
    ['an emoji', 'acme🚀'],
  ])('rejects %s as invalid', (_label, slug) => {
    expect(slugProblem(slug)).toBe('invalid');
  });

  it('accepts exactly the lengths from 3 to 40', () => {
    for (let length = 0; length <= 45; length++) {
      const slug = 'z'.repeat(length);
      const expected = length >= SLUG_MIN && length <= SLUG_MAX ? undefined : 'invalid';
      expect({ length, problem: slugProblem(slug) }).toEqual({ length, problem: expected });
    }
  });

  it.each(['admin', 'api', 'www', 'tenant', 'tenants', 'null', 'undefined', 'groundwork'])(
    'rejects the reserved word %s',
    (slug) => {
      expect(slugProblem(slug)).toBe('reserved');
    },
  );

  it('rejects every reserved word that is otherwise a valid slug', () => {
    for (const word of RESERVED_SLUGS) {
      expect({ word, problem: slugProblem(word) }).toEqual({
        word,
        problem: SLUG_PATTERN.test(word) ? 'reserved' : 'invalid',
      });
    }
  });

  it('does not reserve words that merely contain a reserved word', () => {
    expect(slugProblem('admin-tools')).toBeUndefined();
    expect(slugProblem('my-api')).toBeUndefined();
  });

  it.each(['tenant-acme', 'tenant-1', 'tenant-0193a3c58f2e7b6a'])(
    'rejects %s for its tenant- prefix',
    (slug) => {
      expect(slugProblem(slug)).toBe('reserved');
    },
  );

  it.each(['0193a3c58f2e7b6a9c1d2e3f4a5b6c7d', '00000000000000000000000000000000', 'f'.repeat(32)])(
    'rejects the 32-hex string %s as looking like an id',
    (slug) => {
      expect(slugProblem(slug)).toBe('reserved');
    },
  );

  it.each(['f'.repeat(31), 'f'.repeat(33), `${'f'.repeat(31)}g`])(
    'accepts %s, which is not exactly 32 hex digits',
    (slug) => {
      expect(slugProblem(slug)).toBeUndefined();
    },
  );

  it('reports invalid before reserved', () => {
    expect(slugProblem('Admin')).toBe('invalid');
    expect(slugProblem('tenant-')).toBe('invalid');
  });
});
