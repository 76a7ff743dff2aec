import { PageQuery } from '../../common/http/pagination';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEnum, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { TenantStatus } from '../entities/tenant.entity';
import { TenantDto } from '../dtos/tenant.dto';

export class AdminTenantDto extends TenantDto {
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Last tenant migration applied to its schema.',
  })
  schemaVersion!: string | null;

  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Last tenant-migration failure, if any.',
  })
  migrationError!: string | null;
}

export class AdminTenantPageDto {
  @ApiProperty({ type: [AdminTenantDto] })
  items!: AdminTenantDto[];

  @ApiProperty({ nullable: true, type: String })
  nextCursor!: string | null;
}

export class ListTenantsQuery extends PageQuery {
  @ApiPropertyOptional({ enum: TenantStatus, enumName: 'TenantStatus' })
  @IsOptional()
  @IsEnum(TenantStatus)
  status?: TenantStatus;

  @ApiPropertyOptional({ description: 'Part of the slug or name.' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  q?: string;
}

export class SuspendTenantDto {
  @ApiProperty({ example: 'Chargeback fraud under review' })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @MinLength(3)
  @MaxLength(500)
  reason!: string;
}
