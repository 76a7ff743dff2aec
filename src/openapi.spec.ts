import { stableStringify } from './openapi';

describe('stableStringify', () => {
  it('sorts keys at the top level', () => {
    expect(stableStringify({ b: 1, a: 2, c: 3 })).toBe('{\n  "a": 2,\n  "b": 1,\n  "c": 3\n}\n');
  });

  it('sorts keys at every depth, also inside arrays', () => {
    const value = {
      paths: { '/z': { post: {}, get: { tags: ['b', 'a'] } }, '/a': { get: {} } },
      info: { version: '1', title: 'x' },
      list: [{ z: 1, y: { d: 1, c: 2 } }],
    };

    const parsed = JSON.parse(stableStringify(value)) as typeof value;

    expect(Object.keys(parsed)).toEqual(['info', 'list', 'paths']);
    expect(Object.keys(parsed.paths)).toEqual(['/a', '/z']);
    expect(Object.keys(parsed.paths['/z'])).toEqual(['get', 'post']);
    expect(Object.keys(parsed.info)).toEqual(['title', 'version']);
    expect(Object.keys(parsed.list[0])).toEqual(['y', 'z']);
    expect(Object.keys(parsed.list[0].y)).toEqual(['c', 'd']);
  });

  it('keeps the order of array elements', () => {
    expect(JSON.parse(stableStringify({ tags: ['b', 'a', 'c'], n: [3, 1, 2] }))).toEqual({
      n: [3, 1, 2],
      tags: ['b', 'a', 'c'],
    });
  });

  it('keeps the data unchanged apart from key order', () => {
    const value = {
      s: 'text',
      n: 1.5,
      t: true,
      f: false,
      z: null,
      nested: { arr: [1, { b: null, a: [] }], empty: {} },
    };

    expect(JSON.parse(stableStringify(value))).toEqual(value);
  });

  it('gives the same text whatever order the keys were inserted in', () => {
    const one = { a: 1, b: { c: 2, d: [{ e: 3, f: 4 }] } };
    const two = { b: { d: [{ f: 4, e: 3 }], c: 2 }, a: 1 };

    expect(stableStringify(two)).toBe(stableStringify(one));
  });

  it('indents with two spaces and ends with exactly one newline', () => {
    const text = stableStringify({ a: { b: 1 } });

    expect(text).toBe('{\n  "a": {\n    "b": 1\n  }\n}\n');
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.endsWith('\n\n')).toBe(false);
  });

  it('serialises scalars and arrays at the top level', () => {
    expect(stableStringify('x')).toBe('"x"\n');
    expect(stableStringify(null)).toBe('null\n');
    expect(stableStringify(42)).toBe('42\n');
    expect(stableStringify([{ b: 1, a: 2 }])).toBe('[\n  {\n    "a": 2,\n    "b": 1\n  }\n]\n');
  });

  it('drops undefined members like JSON.stringify does', () => {
    expect(stableStringify({ b: undefined, a: 1 })).toBe('{\n  "a": 1\n}\n');
  });

  it('sorts keys by code unit, so upper case comes before lower case', () => {
    expect(Object.keys(JSON.parse(stableStringify({ b: 1, B: 2, a: 3, _: 4 })) as object)).toEqual([
      'B',
      '_',
      'a',
      'b',
    ]);
  });
});
