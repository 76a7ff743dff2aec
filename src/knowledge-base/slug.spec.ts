import { SLUG_MAX_LENGTH, SLUG_PATTERN, slugify } from './slug';

describe('slugify', () => {
  it.each([
    ['Reset your password', 'reset-your-password'],
    ['Résumé : mettre à jour', 'resume-mettre-a-jour'],
    ['  How do I pay?  ', 'how-do-i-pay'],
    ['Straße & Œuvre', 'strasse-oeuvre'],
    ['API v2 — rate limits (429)', 'api-v2-rate-limits-429'],
    ['日本語', ''],
  ])('%j → %j', (title, slug) => {
    expect(slugify(title)).toBe(slug);
  });

  it('always yields a valid slug or nothing, within the length limit', () => {
    for (const title of ['a'.repeat(500), `${'word '.repeat(40)}!`, '---', 'Ça va? Oui!']) {
      const slug = slugify(title);
      expect(slug.length).toBeLessThanOrEqual(SLUG_MAX_LENGTH);
      if (slug) expect(slug).toMatch(SLUG_PATTERN);
    }
  });
});
