import type { IncomingMessage } from 'node:http';
import { requestIdFor } from './request-id';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

type RequestWithId = IncomingMessage & { id?: string };

const request = (header?: string | string[]): RequestWithId =>
  ({ headers: header === undefined ? {} : { 'x-request-id': header } }) as RequestWithId;

describe('requestIdFor', () => {
  it.each([
    '0193a3c5-8f2e-7b6a-9c1d-2e3f4a5b6c7d',
    'abc',
    'a',
    'trace.span:1@svc/x+y=z_w-v',
    'Root=1-67891233-abcdef012345678912345678',
    'x'.repeat(128),
  ])('echoes the acceptable incoming id %s', (incoming) => {
    const req = request(incoming);

    expect(requestIdFor(req)).toBe(incoming);
    expect(req.id).toBe(incoming);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['129 characters long', 'x'.repeat(129)],
    ['containing a space', 'abc def'],
    ['containing a newline (log or header injection)', 'abc\nX-Admin: true'],
    ['ending with a newline', 'abc\n'],
    ['containing a carriage return', 'abc\r\nSet-Cookie: a=b'],
    ['containing a tab', 'abc\tdef'],
    ['containing quotes', 'abc"def'],
    ['containing angle brackets', '<script>'],
    ['containing a semicolon', 'a;b'],
    ['non-ASCII', 'idé'],
    ['an array of ids', ['abc', 'def']],
    ['an array with one id', ['abc']],
  ])('replaces an incoming id that is %s with a new UUIDv7', (_label, incoming) => {
    const req = request(incoming);
    const id = requestIdFor(req);

    expect(id).toMatch(UUID_V7);
    expect(req.id).toBe(id);
  });

  it('generates a different id for every request without one', () => {
    const ids = new Set(Array.from({ length: 50 }, () => requestIdFor(request())));

    expect(ids.size).toBe(50);
  });

  it('generates ids that sort by creation time', () => {
    const ids = Array.from({ length: 20 }, () => requestIdFor(request()));

    expect([...ids].sort()).toEqual(ids);
  });

  it('overwrites an id already left on the request', () => {
    const req = request('fresh-id');
    req.id = 'stale';

    expect(requestIdFor(req)).toBe('fresh-id');
    expect(req.id).toBe('fresh-id');
  });
});
