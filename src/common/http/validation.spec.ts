import { ArgumentMetadata, ValidationError } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsInt, IsString, Min, MinLength, ValidateNested } from 'class-validator';
import { ListAuditEventsQuery } from '../../tenancy/dtos/audit-event.dto';
import { UpdateTenantDto } from '../../tenancy/dtos/tenant.dto';
import { CommonErrorCode, CommonException } from '../errors/common.exception';
import { FieldError } from '../errors/domain.exception';
import { createValidationPipe, flattenValidationErrors, unstorableString } from './validation';

const CURSOR = '0193a3c5-8f2e-7b6a-9c1d-2e3f4a5b6c7d';

describe('flattenValidationErrors', () => {
  it('returns nothing for no errors', () => {
    expect(flattenValidationErrors([])).toEqual([]);
  });

  it('lists every constraint message of a top-level field', () => {
    const errors: ValidationError[] = [
      {
        property: 'name',
        constraints: {
          isString: 'name must be a string',
          maxLength: 'name must be shorter than or equal to 200 characters',
        },
        children: [],
      },
      { property: 'slug', constraints: { isNotEmpty: 'slug should not be empty' } },
    ];

    expect(flattenValidationErrors(errors)).toEqual([
      { field: 'name', message: 'name must be a string' },
      { field: 'name', message: 'name must be shorter than or equal to 200 characters' },
      { field: 'slug', message: 'slug should not be empty' },
    ]);
  });

  it('gives nested children dotted paths, including array indexes, at every depth', () => {
    const errors: ValidationError[] = [
      {
        property: 'address',
        children: [{ property: 'city', constraints: { isString: 'city must be a string' } }],
      },
      {
        property: 'items',
        children: [
          {
            property: '0',
            children: [
              {
                property: 'price',
                children: [
                  { property: 'amount', constraints: { min: 'amount must not be less than 0' } },
                ],
              },
            ],
          },
          {
            property: '2',
            children: [{ property: 'sku', constraints: { isString: 'sku must be a string' } }],
          },
        ],
      },
    ];

    expect(flattenValidationErrors(errors)).toEqual([
      { field: 'address.city', message: 'city must be a string' },
      { field: 'items.0.price.amount', message: 'amount must not be less than 0' },
      { field: 'items.2.sku', message: 'sku must be a string' },
    ]);
  });

  it('lists a parent constraint before those of its children', () => {
    const errors: ValidationError[] = [
      {
        property: 'items',
        constraints: { arrayMaxSize: 'items must contain no more than 2 elements' },
        children: [
          { property: '0', children: [{ property: 'qty', constraints: { isInt: 'bad qty' } }] },
        ],
      },
    ];

    expect(flattenValidationErrors(errors)).toEqual([
      { field: 'items', message: 'items must contain no more than 2 elements' },
      { field: 'items.0.qty', message: 'bad qty' },
    ]);
  });

  it('prefixes paths with the given parent', () => {
    expect(
      flattenValidationErrors(
        [{ property: 'x', constraints: { isInt: 'x must be an integer' } }],
        'a.b',
      ),
    ).toEqual([{ field: 'a.b.x', message: 'x must be an integer' }]);
  });

  it('turns a whitelist violation into "<field> is not an accepted field"', () => {
    const errors: ValidationError[] = [
      {
        property: 'isAdmin',
        constraints: { whitelistValidation: 'property isAdmin should not exist' },
      },
    ];

    expect(flattenValidationErrors(errors)).toEqual([
      { field: 'isAdmin', message: 'isAdmin is not an accepted field' },
    ]);
  });

  it('names the full dotted path of a nested whitelist violation', () => {
    const errors: ValidationError[] = [
      {
        property: 'address',
        children: [
          {
            property: 'role',
            constraints: { whitelistValidation: 'property role should not exist' },
          },
        ],
      },
    ];

    expect(flattenValidationErrors(errors)).toEqual([
      { field: 'address.role', message: 'address.role is not an accepted field' },
    ]);
  });

  it('keeps other messages of a field that also has a whitelist violation', () => {
    const errors: ValidationError[] = [
      {
        property: 'x',
        constraints: {
          isInt: 'x must be an integer',
          whitelistValidation: 'property x should not exist',
        },
      },
    ];

    expect(flattenValidationErrors(errors)).toEqual([
      { field: 'x', message: 'x must be an integer' },
      { field: 'x', message: 'x is not an accepted field' },
    ]);
  });

  it('skips entries without constraints or children', () => {
    expect(flattenValidationErrors([{ property: 'quiet' }])).toEqual([]);
  });
});

class LineDto {
  @IsString()
  @MinLength(1)
  sku!: string;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  qty!: number;
}

class OrderDto {
  @IsString()
  reference!: string;

  @ValidateNested({ each: true })
  @Type(() => LineDto)
  lines!: LineDto[];
}

const body = (metatype: ArgumentMetadata['metatype']): ArgumentMetadata => ({
  type: 'body',
  metatype,
});
const query = (metatype: ArgumentMetadata['metatype']): ArgumentMetadata => ({
  type: 'query',
  metatype,
});

/** The validation exception the pipe rejects with; fails the test when it accepts. */
async function rejection(value: unknown, metadata: ArgumentMetadata): Promise<CommonException> {
  const pipe = createValidationPipe();
  try {
    await pipe.transform(value, metadata);
  } catch (error) {
    expect(error).toBeInstanceOf(CommonException);
    return error as CommonException;
  }
  throw new Error('expected the validation pipe to reject');
}

const errorsOf = (error: CommonException): FieldError[] => error.extensions.errors as FieldError[];

describe('createValidationPipe with UpdateTenantDto', () => {
  it('turns a valid body into a DTO instance, trimming the name', async () => {
    const result: unknown = await createValidationPipe().transform(
      { name: '  Acme Corporation  ' },
      body(UpdateTenantDto),
    );

    expect(result).toBeInstanceOf(UpdateTenantDto);
    expect(result).toEqual({ name: 'Acme Corporation' });
  });

  it('refuses a null name: absent means unchanged, null is not a name', async () => {
    await expect(
      createValidationPipe().transform({ name: null }, body(UpdateTenantDto)),
    ).rejects.toMatchObject({
      code: 'validation_failed',
      extensions: { errors: expect.arrayContaining([expect.objectContaining({ field: 'name' })]) },
    });
  });

  it('accepts an empty body, as every field is optional', async () => {
    const result: unknown = await createValidationPipe().transform({}, body(UpdateTenantDto));

    expect(result).toBeInstanceOf(UpdateTenantDto);
    expect((result as UpdateTenantDto).name).toBeUndefined();
  });

  it('accepts a name of exactly 200 characters', async () => {
    const name = 'n'.repeat(200);

    await expect(
      createValidationPipe().transform({ name }, body(UpdateTenantDto)),
    ).resolves.toEqual({ name });
  });

  it('refuses a name of 201 characters with validation_failed', async () => {
    const error = await rejection({ name: 'n'.repeat(201) }, body(UpdateTenantDto));

    expect(error.code).toBe(CommonErrorCode.ValidationFailed);
    expect(error.status).toBe(400);
    expect(error.detail).toBe('Invalid request: name.');
    expect(errorsOf(error)).toEqual([
      { field: 'name', message: 'name must be shorter than or equal to 200 characters' },
    ]);
  });

  it('refuses a name that is only whitespace, as it is trimmed to nothing', async () => {
    const error = await rejection({ name: '    ' }, body(UpdateTenantDto));

    expect(errorsOf(error)).toEqual([
      { field: 'name', message: 'name must be longer than or equal to 1 characters' },
    ]);
  });

  it('refuses a name that is not a string', async () => {
    const error = await rejection({ name: 12 }, body(UpdateTenantDto));

    expect(error.code).toBe(CommonErrorCode.ValidationFailed);
    expect(errorsOf(error)).toContainEqual({ field: 'name', message: 'name must be a string' });
    expect(errorsOf(error).every((e) => e.field === 'name')).toBe(true);
  });

  it('refuses unknown fields, naming each one', async () => {
    const error = await rejection(
      { name: 'Acme', slug: 'acme', status: 'active' },
      body(UpdateTenantDto),
    );

    expect(error.detail).toBe('Invalid request: slug, status.');
    expect(errorsOf(error)).toEqual([
      { field: 'slug', message: 'slug is not an accepted field' },
      { field: 'status', message: 'status is not an accepted field' },
    ]);
  });

  it.each([
    ['an array', []],
    ['a string', 'name=Acme'],
  ])('refuses %s as the body', async (_label, value) => {
    const error = await rejection(value, body(UpdateTenantDto));

    expect(error.code).toBe(CommonErrorCode.ValidationFailed);
    expect(errorsOf(error)).toHaveLength(1);
  });

  it('does not echo rejected values in the errors', async () => {
    const error = await rejection(
      { name: 'x'.repeat(300), secret: 'hunter2' },
      body(UpdateTenantDto),
    );

    expect(JSON.stringify(error.extensions)).not.toContain('hunter2');
    expect(JSON.stringify(error.extensions)).not.toContain('x'.repeat(300));
  });
});

describe('createValidationPipe with ListAuditEventsQuery', () => {
  it('defaults limit to 50 when the query is empty', async () => {
    const result: unknown = await createValidationPipe().transform({}, query(ListAuditEventsQuery));

    expect(result).toBeInstanceOf(ListAuditEventsQuery);
    expect(result).toEqual({ limit: 50 });
  });

  it('converts query strings to numbers and keeps valid values', async () => {
    const result = (await createValidationPipe().transform(
      { limit: '100', cursor: CURSOR, action: 'tenant.updated' },
      query(ListAuditEventsQuery),
    )) as ListAuditEventsQuery;

    expect(result).toBeInstanceOf(ListAuditEventsQuery);
    expect(result).toEqual({ limit: 100, cursor: CURSOR, action: 'tenant.updated' });
    expect(typeof result.limit).toBe('number');
  });

  it.each([
    ['0', 'limit must not be less than 1'],
    ['101', 'limit must not be greater than 100'],
    ['2.5', 'limit must be an integer number'],
  ])('refuses limit=%s', async (limit, message) => {
    const error = await rejection({ limit }, query(ListAuditEventsQuery));

    expect(error.code).toBe(CommonErrorCode.ValidationFailed);
    expect(errorsOf(error)).toEqual([{ field: 'limit', message }]);
  });

  it('refuses a non-numeric limit', async () => {
    const error = await rejection({ limit: 'abc' }, query(ListAuditEventsQuery));

    expect(error.detail).toBe('Invalid request: limit.');
    expect(errorsOf(error)).toContainEqual({
      field: 'limit',
      message: 'limit must be an integer number',
    });
  });

  it('reports every bad parameter at once, including unknown ones', async () => {
    const error = await rejection(
      { limit: '0', cursor: 'nope', action: 'Tenant Updated', sort: 'asc' },
      query(ListAuditEventsQuery),
    );

    expect(error.code).toBe(CommonErrorCode.ValidationFailed);
    expect(errorsOf(error)).toHaveLength(4);
    expect(errorsOf(error)).toEqual(
      expect.arrayContaining([
        { field: 'limit', message: 'limit must not be less than 1' },
        { field: 'cursor', message: 'cursor must be a UUID' },
        { field: 'action', message: 'action must be a dotted verb such as tenant.updated' },
        { field: 'sort', message: 'sort is not an accepted field' },
      ]),
    );
    expect(error.detail).toMatch(/^Invalid request: /);
    for (const field of ['limit', 'cursor', 'action', 'sort']) {
      expect(error.detail).toContain(field);
    }
  });

  it.each(['tenant', 'tenant.updated', 'billing.invoice.paid', 'a_b.c_d'])(
    'accepts the action %s',
    async (action) => {
      await expect(
        createValidationPipe().transform({ action }, query(ListAuditEventsQuery)),
      ).resolves.toMatchObject({ action });
    },
  );

  it.each([
    'Tenant.updated',
    'tenant.',
    '.tenant',
    'tenant..updated',
    'tenant updated',
    'tenant-updated',
  ])('refuses the action %j', async (action) => {
    const error = await rejection({ action }, query(ListAuditEventsQuery));

    expect(errorsOf(error)).toEqual([
      { field: 'action', message: 'action must be a dotted verb such as tenant.updated' },
    ]);
  });
});

describe('createValidationPipe with nested DTOs', () => {
  it('transforms nested objects into their DTO classes', async () => {
    const result = (await createValidationPipe().transform(
      { reference: 'PO-1', lines: [{ sku: 'a', qty: '2' }] },
      body(OrderDto),
    )) as OrderDto;

    expect(result).toBeInstanceOf(OrderDto);
    expect(result.lines[0]).toBeInstanceOf(LineDto);
    expect(result.lines[0].qty).toBe(2);
  });

  it('reports nested errors with dotted paths, including unknown nested fields', async () => {
    const error = await rejection(
      {
        reference: 'PO-1',
        lines: [
          { sku: 'a', qty: 1 },
          { sku: '', qty: 0, discount: 5 },
        ],
      },
      body(OrderDto),
    );

    expect(error.detail).toBe('Invalid request: lines.1.discount, lines.1.sku, lines.1.qty.');
    expect(errorsOf(error)).toEqual([
      { field: 'lines.1.discount', message: 'lines.1.discount is not an accepted field' },
      { field: 'lines.1.sku', message: 'sku must be longer than or equal to 1 characters' },
      { field: 'lines.1.qty', message: 'qty must not be less than 1' },
    ]);
  });
});

describe('createValidationPipe and unstorable strings', () => {
  const body: ArgumentMetadata = { type: 'body', metatype: UpdateTenantDto };
  const param: ArgumentMetadata = { type: 'param', metatype: String, data: 'paymentId' };

  it.each([
    ['a NUL in a path parameter', 'pi_\u0000x', param, 'paymentId'],
    ['a lone high surrogate in a body field', { name: 'a\ud800' }, body, 'name'],
    ['a lone low surrogate deep in a body', { name: 'ok', x: [{ y: '\udc00' }] }, body, 'x.0.y'],
  ])(
    'refuses %s with validation_failed naming the field',
    async (_what, value, metadata, field) => {
      const error = await createValidationPipe()
        .transform(value, metadata)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(CommonException);
      expect((error as CommonException).code).toBe(CommonErrorCode.ValidationFailed);
      expect(JSON.stringify(error)).toContain(field);
    },
  );

  it('lets a well-formed surrogate pair (an emoji) through', async () => {
    await expect(
      createValidationPipe().transform({ name: 'Acme 💩' }, body),
    ).resolves.toBeInstanceOf(UpdateTenantDto);
  });

  it('finds the path of the first unstorable string, and ignores Buffers', () => {
    expect(unstorableString({ a: ['ok', { b: 'x\u0000' }] })).toBe('a.1.b');
    expect(unstorableString(Buffer.from([0, 0xd8]))).toBeUndefined();
    expect(unstorableString('fine')).toBeUndefined();
    const query = Object.assign(Object.create(null) as object, { to: 'x\u0000' });
    expect(unstorableString(query)).toBe('to');
    function Empty() {}
    Empty.prototype = Object.create(null) as object;
    const parsed = Object.assign(new (Empty as unknown as new () => object)(), { q: 'a\u0000' });
    expect(unstorableString(parsed)).toBe('q');
    let deep: unknown = 'bottom';
    for (let i = 0; i < 40; i += 1) deep = [deep];
    expect(unstorableString({ a: deep })).toMatch(/^a(\.0)+$/);
  });
});
