import fc from 'fast-check';

/** The parts of an OpenAPI 3 document the fuzzer reads. */
export interface JsonSchema {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  nullable?: boolean;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  allOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
}
export interface FuzzParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: JsonSchema;
}
export interface FuzzOperation {
  operationId: string;
  method: string;
  path: string;
  parameters: FuzzParameter[];
  /** Media types of the request body, and the JSON one's schema. */
  bodyTypes: string[];
  bodySchema?: JsonSchema;
  security: boolean;
}
export interface FuzzDocument {
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/** Every operation of the document, in a stable order. */
export function operationsOf(doc: FuzzDocument): FuzzOperation[] {
  const found: FuzzOperation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method] as
        | {
            operationId?: string;
            parameters?: FuzzParameter[];
            requestBody?: { content: Record<string, { schema?: JsonSchema }> };
            security?: unknown[];
          }
        | undefined;
      if (!op) continue;
      const content = op.requestBody?.content ?? {};
      found.push({
        operationId: op.operationId ?? `${method} ${path}`,
        method,
        path,
        parameters: op.parameters ?? [],
        bodyTypes: Object.keys(content),
        bodySchema: content['application/json']?.schema,
        security: (op.security ?? []).length > 0,
      });
    }
  }
  return found.sort((x, y) => x.operationId.localeCompare(y.operationId));
}

// ------------------------------------------------------------ strings

/** Strings that have broken parsers, drivers and databases before. */
export const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\uffff',
  '💩🏳️‍🌈',
  'Ω≈ç√∫˜µ≤≥÷',
  '\u202e\u202d',
  "' OR 1=1 --",
  '"; DROP TABLE platform.users; --',
  '%',
  '%00',
  '%25%32%65',
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '{{7*7}}',
  '${jndi:ldap://x}',
  '<script>alert(1)</script>',
  '__proto__',
  'constructor',
  'null',
  'undefined',
  'NaN',
  '-1',
  '1e309',
  '9'.repeat(40),
  '0193a000-0000-7000-8001-00000000003',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  'FFFFFFFF-FFFF-7FFF-BFFF-FFFFFFFFFFFF',
  '2026-13-45T99:99:99Z',
  '0000-00-00',
  'x@',
  '@x',
  'a'.repeat(256),
];

const unicodeString = fc.string({ unit: 'binary', maxLength: 40 });
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 2, arbitrary: unicodeString },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom('a', 'é', '💩', '\u0000', ' '),
        fc.integer({ min: 1_000, max: 70_000 }),
      )
      .map(([c, n]) => c.repeat(n)),
  },
);

/** Anything JSON can carry, biased towards the values that trip type checks. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 53, -(2 ** 31), 1e308, '', [], {}),
  nastyString,
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string(), fc.integer()), { maxKeys: 3 }),
);

// ------------------------------------------------------------ schema → values

export class SchemaArbitraries {
  /** `ids`: real ids that uuid fields take now and then, to get past "not found". */
  constructor(
    private readonly doc: FuzzDocument,
    private readonly ids: string[] = [],
  ) {}

  resolve(schema: JsonSchema): JsonSchema {
    let s = schema;
    for (let depth = 0; s.$ref && depth < 10; depth += 1) {
      const name = s.$ref.replace('#/components/schemas/', '');
      s = this.doc.components?.schemas?.[name] ?? {};
    }
    if (s.allOf && s.allOf.length === 1) return { ...this.resolve(s.allOf[0]), ...s, allOf: [] };
    return s;
  }

  /** A value the schema accepts, or nearly (the server is the judge of "valid"). */
  valid(schema: JsonSchema | undefined, depth = 0): fc.Arbitrary<unknown> {
    if (!schema || depth > 4) return anyJson;
    const s = this.resolve(schema);
    const alternatives = s.oneOf ?? s.anyOf;
    if (alternatives && alternatives.length > 0) {
      return fc.oneof(...alternatives.map((a) => this.valid(a, depth + 1)));
    }
    let arb: fc.Arbitrary<unknown>;
    if (s.enum && s.enum.length > 0) arb = fc.constantFrom(...s.enum);
    else if (s.type === 'string') arb = this.validString(s);
    else if (s.type === 'integer' || s.type === 'number') {
      const min = s.minimum ?? -1_000_000;
      const max = s.maximum ?? 1_000_000;
      arb =
        s.type === 'integer' || Number.isInteger(min)
          ? fc.integer({ min: Math.ceil(min), max: Math.floor(max) })
          : fc.double({ min, max, noNaN: true });
    } else if (s.type === 'boolean') arb = fc.boolean();
    else if (s.type === 'array') {
      arb = fc.array(this.valid(s.items, depth + 1), {
        minLength: s.minItems ?? 0,
        maxLength: Math.min(s.maxItems ?? 5, 5),
      });
    } else if (s.type === 'object' || s.properties) arb = this.validObject(s, depth);
    else arb = anyJson;
    return s.nullable ? fc.option(arb, { nil: null, freq: 8 }) : arb;
  }

  private validString(s: JsonSchema): fc.Arbitrary<string> {
    switch (s.format) {
      case 'uuid':
        return this.ids.length > 0 ? fc.oneof(fc.uuid(), fc.constantFrom(...this.ids)) : fc.uuid();
      case 'email':
        return fc.emailAddress();
      case 'date-time':
        return fc
          .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
          .map((d) => d.toISOString());
      case 'uri':
      case 'url':
        return fc.webUrl();
      default: {
        const minLength = s.minLength ?? 0;
        const maxLength = Math.max(minLength, Math.min(s.maxLength ?? 60, 200));
        return fc.oneof(
          fc.string({ minLength, maxLength }),
          fc.stringMatching(/^[a-z][a-z0-9-]{2,20}$/),
          fc.string({ unit: 'grapheme', minLength, maxLength }),
        );
      }
    }
  }

  private validObject(s: JsonSchema, depth: number): fc.Arbitrary<Record<string, unknown>> {
    const props = s.properties ?? {};
    const shape: Record<string, fc.Arbitrary<unknown>> = {};
    for (const [key, value] of Object.entries(props)) shape[key] = this.valid(value, depth + 1);
    return fc.record(shape, { requiredKeys: (s.required ?? []).filter((k) => k in props) });
  }

  /**
   * A body built from the schema and then broken in one of the ways clients
   * and attackers break bodies.
   */
  body(schema: JsonSchema | undefined): fc.Arbitrary<{ kind: string; value: unknown }> {
    const s = schema ? this.resolve(schema) : undefined;
    const valid = this.valid(s);
    const props = Object.keys(s?.properties ?? {});
    const asObject = (v: unknown) =>
      v !== null && typeof v === 'object' && !Array.isArray(v)
        ? (v as Record<string, unknown>)
        : {};
    const withProp = (mutate: (o: Record<string, unknown>, key: string) => void, kind: string) =>
      fc
        .tuple(valid, props.length > 0 ? fc.constantFrom(...props) : fc.constant('x'))
        .map(([v, key]) => {
          const o = { ...asObject(v) };
          mutate(o, key);
          return { kind, value: o };
        });
    return fc.oneof(
      { weight: 6, arbitrary: valid.map((value) => ({ kind: 'valid-ish', value })) },
      {
        weight: 2,
        arbitrary: fc
          .tuple(valid, props.length > 0 ? fc.constantFrom(...props) : fc.constant('x'), anyJson)
          .map(([v, key, wrong]) => ({
            kind: 'wrong type',
            value: { ...asObject(v), [key]: wrong },
          })),
      },
      { weight: 1, arbitrary: withProp((o, k) => delete o[k], 'missing property') },
      { weight: 1, arbitrary: withProp((o, k) => (o[k] = null), 'null property') },
      {
        weight: 2,
        arbitrary: fc
          .tuple(
            valid,
            props.length > 0 ? fc.constantFrom(...props) : fc.constant('x'),
            nastyString,
          )
          .map(([v, key, str]) => ({
            kind: 'nasty string',
            value: { ...asObject(v), [key]: str },
          })),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(
            valid,
            fc.constantFrom(
              'role',
              'tenantId',
              'platformRole',
              'status',
              'id',
              'userId',
              'passwordHash',
              'isAdmin',
              'constructor',
            ),
            anyJson,
          )
          .map(([v, key, extra]) => ({
            kind: 'extra property',
            value: { ...asObject(v), [key]: extra },
          })),
      },
      {
        weight: 1,
        arbitrary: valid.map((v) => ({
          kind: 'prototype pollution',
          value: JSON.parse(
            `{"__proto__":{"polluted":true},${JSON.stringify(asObject(v)).slice(1)}`.replace(
              ',}',
              '}',
            ),
          ) as unknown,
        })),
      },
      { weight: 1, arbitrary: anyJson.map((value) => ({ kind: 'not an object', value })) },
      {
        weight: 1,
        arbitrary: valid.map((v) => ({ kind: 'deep nesting', value: nest(asObject(v), 60) })),
      },
    );
  }
}

function nest(base: Record<string, unknown>, depth: number): Record<string, unknown> {
  let inner: unknown = 'bottom';
  // One child per level: two would double the serialised size with each level.
  for (let i = 0; i < depth; i += 1) inner = i % 2 === 0 ? { a: inner } : [inner];
  const keys = Object.keys(base);
  return keys.length > 0 ? { ...base, [keys[0]]: inner } : { a: inner };
}

// ------------------------------------------------------------ params and headers

/** Path parameter values: real ids sometimes, made-up ones, and the malformed. */
export function pathValue(realIds: string[]): fc.Arbitrary<{ raw: boolean; value: string }> {
  const encoded = fc.oneof(
    { weight: 3, arbitrary: fc.uuid() },
    ...(realIds.length > 0 ? [{ weight: 2, arbitrary: fc.constantFrom(...realIds) }] : []),
    { weight: 1, arbitrary: fc.integer({ min: -5, max: 2 ** 31 }).map(String) },
    { weight: 3, arbitrary: nastyString.filter((s) => s.length > 0 && s.length < 3_000) },
  );
  return fc.oneof(
    { weight: 6, arbitrary: encoded.map((value) => ({ raw: false, value })) },
    {
      weight: 1,
      // Sent as is: traversal and double encoding the router must not resolve.
      arbitrary: fc
        .constantFrom('..', '..%2f..%2fadmin', '%2e%2e', '.%00.', '%ff', '%', 'a%2Fb', ';x=1')
        .map((value) => ({ raw: true, value })),
    },
  );
}

/** A query value for a declared parameter: valid, out of range, malformed. */
export function queryValue(
  arbs: SchemaArbitraries,
  schema: JsonSchema | undefined,
): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: arbs.valid(schema).map((v) => String(v as string)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('100000', '0', '-1', '1.5', '1e3', 'NaN', 'true', '[]', ''),
    },
    { weight: 2, arbitrary: nastyString.filter((s) => s.length < 3_000) },
  );
}

/** Header values HTTP can carry (latin-1, no control characters): odd, long, empty. */
export const headerValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', ' ', 'null', '../../', "' OR 1=1 --", 'a'.repeat(300), 'x'.repeat(8_000)),
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) }),
  fc.string({ unit: fc.integer({ min: 0xa0, max: 0xff }).map((c) => String.fromCharCode(c)) }),
  fc.uuid(),
);

export const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/JSON',
  'application/json; charset=latin1',
  'application/json;;',
  'application/merge-patch+json',
  'text/plain',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'image/png',
  'application/pdf',
  '*/*',
  'garbage',
];
