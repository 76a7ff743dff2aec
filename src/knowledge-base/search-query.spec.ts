import { anyWordQuery } from './search-query';

describe('anyWordQuery', () => {
  it.each([
    ['Cannot reset my password', 'Cannot or reset or my or password'],
    ['"reset" -password or login', 'reset or password or login'],
    ['Résumé: mise à jour', 'Résumé or mise or à or jour'],
    ['  ', ''],
    ['!!! ---', ''],
  ])('%j → %j', (text, query) => {
    expect(anyWordQuery(text)).toBe(query);
  });
});
