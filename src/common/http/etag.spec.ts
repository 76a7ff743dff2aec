import { ifNoneMatchHits, strongEtag, weakEtag } from './etag';

describe('strongEtag and weakEtag', () => {
  const body = { tiers: [{ code: 'pro', prices: [1200, 12000] }], currency: null };

  it('is a quoted hash, equal for equal bodies and different for different ones', () => {
    const tag = strongEtag(body);
    expect(tag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    expect(strongEtag(structuredClone(body))).toBe(tag);
    expect(strongEtag({ ...body, currency: 'usd' })).not.toBe(tag);
  });

  it('marks a weak tag W/ over the same hash', () => {
    expect(weakEtag(body)).toBe(`W/${strongEtag(body)}`);
  });
});

describe('ifNoneMatchHits', () => {
  const tag = '"abc"';

  it.each([
    ['"abc"', true],
    ['W/"abc"', true],
    ['"x", "abc"', true],
    ['"x","abc"', true],
    ['*', true],
    [' * ', true],
    ['"abcd"', false],
    ['"x"', false],
    ['abc', false],
    ['', false],
  ])('%j → %s', (header, hits) => {
    expect(ifNoneMatchHits(header, tag)).toBe(hits);
  });

  it('compares weakly: a weak current tag matches its strong spelling', () => {
    expect(ifNoneMatchHits('"abc"', 'W/"abc"')).toBe(true);
  });

  it('is false without the header and reads repeated headers as one list', () => {
    expect(ifNoneMatchHits(undefined, tag)).toBe(false);
    expect(ifNoneMatchHits(['"x"', '"abc"'], tag)).toBe(true);
  });
});
