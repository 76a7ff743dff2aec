import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { PASSWORD_MAX } from '../credentials';

const CODE = /^\s*\d{3}\s?\d{3}\s*$/;
const CODE_MESSAGE = 'code must be the 6 digits your authenticator app shows';

export class TwoFactorSetupRequestDto {
  @ApiProperty({ description: 'Your password: setting up a second factor needs it again.' })
  @IsString()
  @MaxLength(PASSWORD_MAX * 4)
  password!: string;
}

export class TwoFactorSetupDto {
  @ApiProperty({
    description:
      'Scan as a QR code or open in an authenticator app. Shown once; pending until confirmed with a code.',
    example:
      'otpauth://totp/Groundwork:ada%40example.com?issuer=Groundwork&secret=JBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&period=30',
  })
  otpauthUri!: string;

  @ApiProperty({
    description: 'The same secret, base32, for typing into an app by hand. Shown once.',
    example: 'JBSWY3DPEHPK3PXP',
  })
  secret!: string;

  @ApiProperty({ example: 'SHA1' })
  algorithm!: string;

  @ApiProperty({ example: 6 })
  digits!: number;

  @ApiProperty({ example: 30, description: 'Seconds each code lasts.' })
  period!: number;
}

export class TwoFactorCodeDto {
  @ApiProperty({ example: '123456', description: 'The current code of your authenticator app.' })
  @IsString()
  @Matches(CODE, { message: CODE_MESSAGE })
  code!: string;
}

export class RecoveryCodesDto {
  @ApiProperty({
    type: [String],
    example: ['7k3m-q9x2-ab4d-8z0p'],
    description:
      'Ten one-time codes for when the authenticator is lost. Shown once: only their hashes are kept.',
  })
  recoveryCodes!: string[];
}

export class TwoFactorStatusDto {
  @ApiProperty()
  enabled!: boolean;

  @ApiProperty({ description: 'A setup waits for its first code.' })
  pending!: boolean;

  @ApiProperty({ nullable: true, type: String, format: 'date-time' })
  enabledAt!: string | null;

  @ApiProperty({ example: 10 })
  recoveryCodesRemaining!: number;
}

/** A code of the authenticator or a recovery code: exactly one of them. */
export class SecondFactorProofDto {
  @ApiPropertyOptional({ example: '123456', description: 'The current authenticator code.' })
  @IsOptional()
  @IsString()
  @Matches(CODE, { message: CODE_MESSAGE })
  code?: string;

  @ApiPropertyOptional({
    example: '7k3m-q9x2-ab4d-8z0p',
    description: 'One of your recovery codes instead (it is spent).',
  })
  @IsOptional()
  @IsString()
  @MinLength(16)
  @MaxLength(40)
  recoveryCode?: string;
}

export class DisableTwoFactorDto extends SecondFactorProofDto {
  @ApiPropertyOptional({ description: 'Your password, instead of a code.' })
  @IsOptional()
  @IsString()
  @MaxLength(PASSWORD_MAX * 4)
  password?: string;
}

export class LoginSecondFactorDto extends SecondFactorProofDto {
  @ApiProperty({ description: 'The `challenge` of the sign-in answer.' })
  @IsString()
  @MinLength(20)
  @MaxLength(200)
  challenge!: string;
}

export class SecondFactorChallengeDto {
  @ApiProperty({
    enum: [true],
    description: 'Present (true) only on this answer: send a code to `POST /v1/auth/login/2fa`.',
  })
  twoFactorRequired!: true;

  @ApiProperty({ description: 'Opaque, single use; exchange it with a code for the tokens.' })
  challenge!: string;

  @ApiProperty({ example: 300, description: 'Seconds the challenge stays valid.' })
  expiresIn!: number;

  @ApiProperty({ type: [String], example: ['totp', 'recovery_code'] })
  methods!: string[];
}

export class TwoFactorPolicyDto {
  @ApiProperty({
    description:
      'Members must use two-factor authentication to act in this organisation. Turning it on needs your own enabled first.',
  })
  @IsBoolean()
  required!: boolean;
}
