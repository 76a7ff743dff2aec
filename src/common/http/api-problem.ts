import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiResponse } from '@nestjs/swagger';
import { STATUS_CODES } from 'node:http';

export class FieldErrorDto {
  @ApiProperty({ example: 'name', description: 'Dotted path of the offending field.' })
  field!: string;

  @ApiProperty({ example: 'name must be shorter than or equal to 200 characters' })
  message!: string;
}

/** RFC 9457 problem details, the body of every error response. */
export class ProblemDto {
  @ApiProperty({ example: 'urn:groundwork:problem:validation_failed' })
  type!: string;

  @ApiProperty({ example: 'Bad Request' })
  title!: string;

  @ApiProperty({ example: 400 })
  status!: number;

  @ApiProperty({ example: 'Invalid request: name.' })
  detail!: string;

  @ApiProperty({ example: 'validation_failed', description: 'Stable machine-readable code.' })
  code!: string;

  @ApiPropertyOptional({ example: '0193a3c5-8f2e-7b6a-9c1d-2e3f4a5b6c7d' })
  requestId?: string;

  @ApiPropertyOptional({ type: [FieldErrorDto], description: 'Present on validation problems.' })
  errors?: FieldErrorDto[];
}

/** Documents the problem responses a route can give. */
export function ApiProblems(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: STATUS_CODES[status],
        content: {
          'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemDto' } },
        },
      }),
    ),
  );
}
