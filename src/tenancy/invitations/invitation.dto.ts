import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsEnum, MaxLength } from 'class-validator';
import { TenantRole } from '../../access/roles';

export class CreateInvitationDto {
  @ApiProperty({ example: 'grace@example.com' })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(254)
  email!: string;

  @ApiProperty({ enum: TenantRole, enumName: 'TenantRole' })
  @IsEnum(TenantRole, { message: `role must be one of ${Object.values(TenantRole).join(', ')}` })
  role!: TenantRole;
}

export class InvitationDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty()
  email!: string;

  @ApiProperty({ enum: TenantRole, enumName: 'TenantRole' })
  role!: TenantRole;

  @ApiProperty({ enum: ['pending', 'accepted', 'revoked', 'expired'] })
  status!: 'pending' | 'accepted' | 'revoked' | 'expired';

  @ApiProperty({ format: 'uuid' })
  invitedBy!: string;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time' })
  expiresAt!: string;
}
