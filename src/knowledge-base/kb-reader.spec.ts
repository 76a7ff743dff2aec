import { KbVisibility } from './entities/kb-article.entity';
import { visibilitiesFor } from './kb-reader';
import { textArray } from './sql';

describe('visibilitiesFor', () => {
  it('anonymous callers read public articles only', () => {
    expect(visibilitiesFor('anonymous')).toEqual([KbVisibility.Public]);
  });

  it('signed-in callers add signed_in, never internal', () => {
    expect(visibilitiesFor('signed_in')).toEqual([KbVisibility.Public, KbVisibility.SignedIn]);
  });

  it('platform staff read everything', () => {
    expect(visibilitiesFor('staff').sort()).toEqual(Object.values(KbVisibility).sort());
  });
});

describe('textArray', () => {
  it('writes a PostgreSQL array literal', () => {
    expect(textArray(['public', 'signed_in'])).toBe('{public,signed_in}');
    expect(textArray([])).toBe('{}');
  });

  it('refuses anything that would need quoting', () => {
    expect(() => textArray(['a,b'])).toThrow();
    expect(() => textArray(['x}'])).toThrow();
    expect(() => textArray(['"q"'])).toThrow();
  });
});
