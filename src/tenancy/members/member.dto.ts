import { ApiProperty } from '@nestjs/swagger';
import { IsEnum } from 'class-validator';
import { TenantRole } from '../../access/roles';

export class MemberDto {
  @ApiProperty({ format: 'uuid' })
  userId!: string;

  @ApiProperty()
  email!: string;

  @ApiProperty()
  name!: string;

  @ApiProperty({ enum: TenantRole, enumName: 'TenantRole' })
  role!: TenantRole;

  @ApiProperty({ format: 'date-time' })
  joinedAt!: string;
}

export class ChangeRoleDto {
  @ApiProperty({ enum: TenantRole, enumName: 'TenantRole' })
  @IsEnum(TenantRole, { message: `role must be one of ${Object.values(TenantRole).join(', ')}` })
  role!: TenantRole;
}
