import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { CommonException } from '../errors/common.exception';
import { FieldError } from '../errors/domain.exception';

/** Flattens class-validator's tree into `errors[]` entries with dotted field paths. */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({
      field,
      message:
        error.constraints?.whitelistValidation === message
          ? `${field} is not an accepted field`
          : message,
    }));
    return [...own, ...flattenValidationErrors(error.children ?? [], field)];
  });
}

/**
 * A NUL (PostgreSQL text cannot hold one: the driver fails the query) or a
 * lone surrogate (not Unicode; validator.js's isEmail throws URIError on it).
 */
// eslint-disable-next-line no-control-regex -- finding NUL is the point
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const MAX_DEPTH = 32;

/** The dotted path of the first unstorable string (or too deeply nested value) in a parsed input ('' for the input itself). */
export function unstorableString(value: unknown, path = '', depth = 0): string | undefined {
  if (typeof value === 'string') return UNSTORABLE.test(value) ? path : undefined;
  // Plain JSON only: raw bodies (Buffers) and injected objects are not client strings.
  if (value === null || typeof value !== 'object') return undefined;
  // Fastify's parsed query strings are `new Empty()`, whose prototype has a null prototype,
  // like Object.prototype; class instances (Buffers, entities) are one level further.
  const proto = Object.getPrototypeOf(value) as object | null;
  if (!Array.isArray(value) && proto !== null && Object.getPrototypeOf(proto) !== null) {
    return undefined;
  }
  // Deeper than any DTO: refused too, before class-transformer recurses into it (and overflows).
  if (depth >= MAX_DEPTH) return path;
  for (const [key, child] of Object.entries(value)) {
    const found = unstorableString(child, path ? `${path}.${key}` : key, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Refuses unstorable strings in any body, query or path value with 400, before validators see them. */
class InputValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const found = unstorableString(value);
    if (found !== undefined) {
      const field = [metadata.data, found].filter(Boolean).join('.') || metadata.type;
      throw CommonException.validation([
        {
          field,
          message: `${field} contains a NUL character, malformed Unicode or nesting deeper than ${MAX_DEPTH}`,
        },
      ]);
    }
    return super.transform(value, metadata) as Promise<unknown>;
  }
}

/** The one validation pipe: unknown fields are refused, payloads become DTO instances. */
export function createValidationPipe(): ValidationPipe {
  return new InputValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => CommonException.validation(flattenValidationErrors(errors)),
  });
}
