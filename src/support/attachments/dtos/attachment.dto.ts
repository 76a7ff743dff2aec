import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';
import { TicketAttachment } from '../entities/ticket-attachment.entity';

export class UploadAttachmentQuery {
  /** The file's name as the user knows it; shown sanitised, never used on disk. */
  @ApiProperty({ example: 'screenshot.png', minLength: 1, maxLength: 1000 })
  @IsString()
  @MinLength(1)
  @MaxLength(1000)
  filename!: string;
}

export class AttachmentDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'uuid' })
  ticketId!: string;

  @ApiPropertyOptional({ nullable: true, type: String, format: 'uuid' })
  messageId!: string | null;

  @ApiProperty({ example: 'screenshot.png' })
  fileName!: string;

  @ApiProperty({ example: 'image/png' })
  contentType!: string;

  @ApiProperty({ description: 'Bytes.' })
  size!: number;

  @ApiProperty({ description: 'Hex SHA-256 of the content.' })
  sha256!: string;

  @ApiProperty({ format: 'uuid' })
  uploadedBy!: string;

  @ApiProperty()
  createdAt!: Date;

  static from(row: TicketAttachment): AttachmentDto {
    return Object.assign(new AttachmentDto(), {
      id: row.id,
      ticketId: row.ticketId,
      messageId: row.messageId ?? null,
      fileName: row.fileName,
      contentType: row.contentType,
      size: Number(row.size),
      sha256: row.sha256,
      uploadedBy: row.uploadedBy,
      createdAt: row.createdAt,
    });
  }
}
