import { ValidationError, ValidationPipe } from '@nestjs/common';
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

/** The one validation pipe: unknown fields are refused, payloads become DTO instances. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => CommonException.validation(flattenValidationErrors(errors)),
  });
}
