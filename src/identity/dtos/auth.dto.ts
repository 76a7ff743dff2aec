import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { PASSWORD_MAX } from '../credentials';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class SignupDto {
  @ApiProperty({ example: 'ada@example.com' })
  @Transform(trim)
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(254)
  email!: string;

  @ApiProperty({
    minLength: 12,
    maxLength: PASSWORD_MAX,
    description: 'At least 12 characters; common passwords are refused.',
  })
  @IsString()
  @MaxLength(PASSWORD_MAX * 4)
  password!: string;

  @ApiProperty({ example: 'Ada Lovelace' })
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name!: string;

  @ApiProperty({ example: 'Analytical Engines Ltd' })
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  organizationName!: string;

  @ApiProperty({
    example: 'analytical',
    description: '3–40 lower-case letters, digits and hyphens.',
  })
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.trim().toLowerCase() : value,
  )
  @IsString()
  @Matches(/^[a-z0-9-]{3,40}$/, {
    message: 'organizationSlug must be 3–40 lower-case letters, digits and hyphens',
  })
  organizationSlug!: string;
}

export class LoginDto {
  @ApiProperty({ example: 'ada@example.com' })
  @IsString()
  @MaxLength(254)
  email!: string;

  @ApiProperty()
  @IsString()
  @MaxLength(PASSWORD_MAX * 4)
  password!: string;
}

export class RefreshDto {
  @ApiProperty()
  @IsString()
  @MinLength(20)
  @MaxLength(200)
  refreshToken!: string;
}

export class LogoutDto {
  @ApiPropertyOptional({
    description: 'Ends the session of this refresh token; default: the access token’s session.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  refreshToken?: string;
}

export class SwitchTenantDto {
  @ApiProperty({
    description: 'Id or slug of an organisation you belong to.',
    example: 'analytical',
  })
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  tenant!: string;
}

export class TokensDto {
  @ApiProperty({
    description: 'JWT, valid for `expiresIn` seconds; send as `Authorization: Bearer …`.',
  })
  accessToken!: string;

  @ApiProperty({ description: 'Opaque; single use: each refresh returns a new one.' })
  refreshToken!: string;

  @ApiProperty({ example: 'Bearer' })
  tokenType!: 'Bearer';

  @ApiProperty({ example: 900 })
  expiresIn!: number;

  @ApiProperty({
    nullable: true,
    type: String,
    format: 'uuid',
    description: 'The organisation the tokens act for.',
  })
  tenantId!: string | null;
}

export class MembershipSummaryDto {
  @ApiProperty({ format: 'uuid' })
  tenantId!: string;

  @ApiProperty()
  role!: string;
}

export class MeDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty()
  email!: string;

  @ApiProperty()
  name!: string;

  @ApiProperty()
  emailVerified!: boolean;

  @ApiProperty({ description: 'Two-factor authentication is on for this account.' })
  twoFactorEnabled!: boolean;

  @ApiProperty({ nullable: true, type: String })
  platformRole!: string | null;

  @ApiProperty({ nullable: true, type: String, format: 'uuid' })
  currentTenantId!: string | null;

  @ApiProperty({ type: [MembershipSummaryDto] })
  memberships!: MembershipSummaryDto[];
}

export class TokenDto {
  @ApiProperty({ description: 'The token from the link in the email.' })
  @IsString()
  @MinLength(20)
  @MaxLength(200)
  token!: string;
}

export class ForgotPasswordDto {
  @ApiProperty({ example: 'ada@example.com' })
  @Transform(trim)
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(254)
  email!: string;
}

export class ResetPasswordDto extends TokenDto {
  @ApiProperty({ minLength: 12, maxLength: PASSWORD_MAX })
  @IsString()
  @MaxLength(PASSWORD_MAX * 4)
  password!: string;
}

export class AcceptInvitationDto extends TokenDto {
  @ApiPropertyOptional({ description: 'For a new account: your name.' })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional({ description: 'For a new account: at least 12 characters.' })
  @IsOptional()
  @IsString()
  @MaxLength(PASSWORD_MAX * 4)
  password?: string;
}
