import { createHash } from 'node:crypto';
import type { OpenAPIObject } from '@nestjs/swagger';
import { CommonErrorCode, CommonException } from '../errors/common.exception';
import {
  canonicalJson,
  documentIdempotencyKey,
  IDEMPOTENCY_UNSUPPORTED_EXTENSION,
  idempotencyRequestHash,
  idempotencyScope,
  parseIdempotencyKey,
} from './idempotency';

/** The CommonException a call throws; fails the test when it does not throw one. */
function thrownBy(call: () => unknown): CommonException {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(CommonException);
    return error as CommonException;
  }
  throw new Error('expected a CommonException');
}

describe('parseIdempotencyKey', () => {
  it.each([
    ['a UUID', '0193a3c5-8f2e-7b6a-9c1d-2e3f4a5b6c7d'],
    ['one character', 'k'],
    ['255 characters', 'k'.repeat(255)],
    [
      'every printable ASCII character',
      String.fromCharCode(...Array.from({ length: 95 }, (_, i) => 0x20 + i)),
    ],
  ])('accepts %s as it is', (_label, key) => {
    expect(parseIdempotencyKey(key)).toBe(key);
  });

  it.each([
    ['empty', '', 'is empty'],
    ['256 characters long', 'k'.repeat(256), 'has 256'],
    ['not ASCII', 'clé-1', 'has others'],
    ['holding a control character', 'key\u0001', 'has others'],
    ['holding a tab', 'a\tb', 'has others'],
    ['holding DEL', 'key\u007f', 'has others'],
  ])('refuses a key that is %s with a 400 saying what a key must be', (_label, key, why) => {
    const error = thrownBy(() => parseIdempotencyKey(key));

    expect(error.code).toBe(CommonErrorCode.IdempotencyKeyInvalid);
    expect(error.status).toBe(400);
    expect(error.detail).toMatch(/^Idempotency-Key must be 1 to 255 printable ASCII characters/);
    expect(error.detail).toContain(`the one sent ${why}`);
  });

  it('never echoes the key it refuses', () => {
    const key = `secret-token-${'x'.repeat(250)}`;

    expect(thrownBy(() => parseIdempotencyKey(key)).detail).not.toContain('secret-token');
  });

  it('refuses the header sent several times', () => {
    const error = thrownBy(() => parseIdempotencyKey(['a', 'b']));

    expect(error.code).toBe(CommonErrorCode.IdempotencyKeyInvalid);
    expect(error.detail).toBe('Send one Idempotency-Key header, not several.');
  });
});

describe('idempotencyScope', () => {
  const user = {
    kind: 'user' as const,
    userId: 'u1',
    platformRole: null,
    tokenTenantId: 't9',
    sessionId: 's1',
  };
  const apiKey = { kind: 'api_key' as const, keyId: 'k1', tenantId: 't1', scopes: [] };

  it('names the user and the tenant acted for (not the token’s tenant)', () => {
    expect(idempotencyScope(user, 't1')).toBe('user:u1:tenant:t1');
  });

  it('names an API key by its id', () => {
    expect(idempotencyScope(apiKey, 't1')).toBe('api_key:k1:tenant:t1');
  });

  it('marks routes without a tenant', () => {
    expect(idempotencyScope(user, undefined)).toBe('user:u1:tenant:-');
  });

  it('gives another user, another tenant and an API key each a scope of their own', () => {
    const scopes = [
      idempotencyScope(user, 't1'),
      idempotencyScope({ ...user, userId: 'u2' }, 't1'),
      idempotencyScope(user, 't2'),
      idempotencyScope(user, undefined),
      idempotencyScope({ ...apiKey, keyId: 'u1' }, 't1'),
    ];

    expect(new Set(scopes).size).toBe(scopes.length);
  });
});

describe('canonicalJson', () => {
  it('sorts object keys at every depth and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { f: 1, e: 2 }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[3,{"e":2,"f":1}]},"b":1}',
    );
  });

  it('gives the same text for the same data in another key order', () => {
    expect(canonicalJson({ email: 'a@example.com', role: 'member' })).toBe(
      canonicalJson(JSON.parse('{ "role": "member",\n  "email": "a@example.com" }')),
    );
  });

  it('keeps the order of arrays', () => {
    expect(canonicalJson([3, 1, 2])).not.toBe(canonicalJson([1, 2, 3]));
  });

  it('tells apart values that only look alike', () => {
    const texts = [
      canonicalJson({ a: 1 }),
      canonicalJson({ a: '1' }),
      canonicalJson({ a: true }),
      canonicalJson({ a: null }),
      canonicalJson({ a: [] }),
      canonicalJson({ a: {} }),
      canonicalJson({}),
      canonicalJson({ A: 1 }),
    ];

    expect(new Set(texts).size).toBe(texts.length);
  });

  it('escapes strings and keys like JSON does', () => {
    const value = { 'k"ey': 'line\nbreak "quoted" \\ ünïcode \u2028' };

    expect(JSON.parse(canonicalJson(value))).toEqual(value);
  });

  it('follows JSON.stringify for undefined, non-finite numbers and toJSON', () => {
    const at = new Date('2026-01-02T03:04:05.000Z');

    expect(canonicalJson({ b: undefined, a: 1 })).toBe('{"a":1}');
    expect(canonicalJson([undefined, 1])).toBe('[null,1]');
    expect(canonicalJson({ n: NaN, i: Infinity })).toBe('{"i":null,"n":null}');
    expect(canonicalJson({ at })).toBe('{"at":"2026-01-02T03:04:05.000Z"}');
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson('x')).toBe('"x"');
    expect(canonicalJson(1.5)).toBe('1.5');
  });

  it('treats a member named toJSON as data', () => {
    expect(canonicalJson({ toJSON: 'x' })).toBe('{"toJSON":"x"}');
  });
});

describe('idempotencyRequestHash', () => {
  const body = { email: 'a@example.com', role: 'member' };

  it('is the SHA-256 of the method, the path and the canonical body', () => {
    const expected = createHash('sha256')
      .update(`POST\n/v1/tenant/invitations\n${canonicalJson(body)}`)
      .digest('hex');

    expect(idempotencyRequestHash('POST', '/v1/tenant/invitations', body)).toBe(expected);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
  });

  it('ignores key order and spacing in the body', () => {
    expect(
      idempotencyRequestHash('POST', '/v1/x', { role: 'member', email: 'a@example.com' }),
    ).toBe(idempotencyRequestHash('POST', '/v1/x', body));
  });

  it('changes with the body, the path (ids, query) or the method', () => {
    const base = idempotencyRequestHash('POST', '/v1/tenant/invitations/1/resend', body);

    for (const other of [
      idempotencyRequestHash('POST', '/v1/tenant/invitations/1/resend', { ...body, role: 'admin' }),
      idempotencyRequestHash('POST', '/v1/tenant/invitations/2/resend', body),
      idempotencyRequestHash('POST', '/v1/tenant/invitations/1/resend?notify=false', body),
      idempotencyRequestHash('PUT', '/v1/tenant/invitations/1/resend', body),
    ]) {
      expect(other).not.toBe(base);
    }
  });

  it('hashes a missing body like an empty one, and unlike an empty object', () => {
    expect(idempotencyRequestHash('POST', '/v1/x', undefined)).toBe(
      createHash('sha256').update('POST\n/v1/x\n').digest('hex'),
    );
    expect(idempotencyRequestHash('POST', '/v1/x', undefined)).not.toBe(
      idempotencyRequestHash('POST', '/v1/x', {}),
    );
  });

  it('does not let a body imitate another path', () => {
    expect(idempotencyRequestHash('POST', '/v1/a', '\n/v1/b')).not.toBe(
      idempotencyRequestHash('POST', '/v1/a\n/v1/b', undefined),
    );
  });
});

describe('documentIdempotencyKey', () => {
  const SECURED: Record<string, string[]>[] = [{ bearer: [] }, { 'api-key': [] }];
  const problem = { content: { 'application/problem+json': { schema: { $ref: 'x' } } } };
  type Operation = NonNullable<OpenAPIObject['paths'][string]['post']>;
  /** An operation as @IdempotencyUnsupported(reason) leaves it in the generated document. */
  const refusing = (operation: Operation, reason: string): Operation =>
    ({ ...operation, [IDEMPOTENCY_UNSUPPORTED_EXTENSION]: reason }) as Operation;
  const documentWith = (paths: OpenAPIObject['paths']): OpenAPIObject => ({
    openapi: '3.0.0',
    info: { title: 't', version: '1' },
    paths,
  });

  it('adds the optional header and the 400/409/422 problems to a secured POST', () => {
    const document = documentIdempotencyKey(
      documentWith({
        '/v1/tenant/invitations': {
          post: {
            security: SECURED,
            parameters: [{ name: 'X-Tenant-Id', in: 'header', required: false }],
            responses: {
              '201': { description: 'Created' },
              '409': { description: 'mine', ...problem },
            },
          },
        },
      }),
    );
    const operation = document.paths['/v1/tenant/invitations'].post!;

    expect(operation.parameters).toEqual([
      { name: 'X-Tenant-Id', in: 'header', required: false },
      expect.objectContaining({
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        schema: expect.objectContaining({ type: 'string', minLength: 1, maxLength: 255 }),
      }),
    ]);
    expect(Object.keys(operation.responses).sort()).toEqual(['201', '400', '409', '422']);
    // A response the route documents itself is kept as it is.
    expect(operation.responses['409']).toEqual({ description: 'mine', ...problem });
    expect(operation.responses['422']).toEqual({
      description: 'Unprocessable Entity',
      content: {
        'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemDto' } },
      },
    });
  });

  it('leaves public POSTs, other methods and refusing operations without the header', () => {
    const document = documentIdempotencyKey(
      documentWith({
        '/v1/auth/signup': { post: { responses: {} } },
        '/v1/tenant': { patch: { security: SECURED, responses: {} } },
        '/v1/tenant/api-keys': {
          get: { security: SECURED, responses: {} },
          post: refusing(
            { security: SECURED, description: 'Creates one.', responses: {} },
            'its response shows a secret only once.',
          ),
        },
      }),
    );

    expect(document.paths['/v1/auth/signup'].post!.parameters).toBeUndefined();
    expect(document.paths['/v1/tenant'].patch!.parameters).toBeUndefined();
    expect(document.paths['/v1/tenant/api-keys'].get!.parameters).toBeUndefined();
    const refused = document.paths['/v1/tenant/api-keys'].post!;
    expect(refused.parameters).toBeUndefined();
    expect(refused.description).toBe(
      'Creates one.\n\nDoes not accept `Idempotency-Key` (400 `idempotency_key_unsupported`): ' +
        'its response shows a secret only once.',
    );
    // The marker is ours, not part of the published document.
    expect(IDEMPOTENCY_UNSUPPORTED_EXTENSION in refused).toBe(false);
  });

  it('leaves the given document untouched, so processing it again gives the same result', () => {
    const source = documentWith({
      '/v1/x': { post: { security: SECURED, responses: {} } },
      '/v1/y': {
        post: refusing({ security: SECURED, responses: {} }, 'no.'),
      },
    });
    const copy = structuredClone(source);

    const once = documentIdempotencyKey(source);

    expect(source).toEqual(copy);
    expect(documentIdempotencyKey(source)).toEqual(once);
    expect(once.paths['/v1/x'].post!.parameters).toHaveLength(1);
    expect(once.paths['/v1/y'].post!.parameters).toBeUndefined();
  });
});
