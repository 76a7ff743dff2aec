import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { newId } from '../../common/uuid';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { TenantContext } from '../../tenancy/tenant-context';
import { SupportErrorCode, SupportException } from '../support.exception';
import { TicketService } from '../tickets/ticket.service';
import { sanitiseFileName, verifiedAttachmentType } from './attachment-type';
import { AttachmentDto } from './dtos/attachment.dto';
import { TicketAttachment } from './entities/ticket-attachment.entity';
import { AttachmentStorage } from './storage';

export interface Upload {
  bytes: Buffer;
  /** The request's Content-Type. */
  declaredType: string | undefined;
  fileName: string;
}

/**
 * Files on the current organisation's tickets. Who may read a ticket may list
 * and download its files; who may reply to it may add one. Each upload is
 * checked by size and by its bytes (not only the declared type) before it is
 * stored, under a key of ours.
 */
@Injectable()
export class AttachmentService {
  constructor(
    private readonly tenantContext: TenantContext,
    private readonly tickets: TicketService,
    private readonly storage: AttachmentStorage,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async upload(ticketId: string, upload: Upload, uploaderId: string): Promise<AttachmentDto> {
    const { bytes } = upload;
    const maxBytes = this.config.attachments.maxBytes;
    if (bytes.length > maxBytes) {
      throw new SupportException(
        SupportErrorCode.AttachmentTooLarge,
        `A file may have at most ${maxBytes} bytes.`,
        { maxBytes },
      );
    }
    const contentType = verifiedAttachmentType(upload.declaredType, bytes);
    if (!contentType) {
      throw new SupportException(
        SupportErrorCode.AttachmentTypeNotAllowed,
        'Only PNG, JPEG, GIF, WebP, PDF, plain text, CSV and zip files are accepted, and the ' +
          'content must be of the declared type.',
      );
    }
    const tenant = this.tenantContext.tenant;
    const fileName = sanitiseFileName(upload.fileName);
    const storageKey = `${tenant.id}/${newId()}`;
    let stored = false;
    try {
      return await this.tickets.attach(ticketId, uploaderId, fileName, async (em, now) => {
        await this.storage.put(storageKey, bytes);
        stored = true;
        const row = em.create(
          TicketAttachment,
          {
            ticketId,
            messageId: null,
            fileName,
            contentType,
            size: bytes.length,
            sha256: createHash('sha256').update(bytes).digest('hex'),
            storageKey,
            uploadedBy: uploaderId,
            createdAt: now,
          },
          { schema: tenant.schemaName },
        );
        return AttachmentDto.from(row);
      });
    } catch (error) {
      // The row was not committed: leave no orphaned file behind.
      if (stored) await this.storage.delete(storageKey);
      throw error;
    }
  }

  async list(ticketId: string): Promise<AttachmentDto[]> {
    await this.tickets.assertReadable(ticketId);
    const rows = await this.tenantContext.em.find(
      TicketAttachment,
      { ticketId },
      { orderBy: { createdAt: 'asc', id: 'asc' } },
    );
    return rows.map((row) => AttachmentDto.from(row));
  }

  /** The file's description and its bytes. */
  async download(
    ticketId: string,
    attachmentId: string,
  ): Promise<{ attachment: AttachmentDto; bytes: Buffer }> {
    await this.tickets.assertReadable(ticketId);
    const row = await this.tenantContext.em.findOne(TicketAttachment, {
      id: attachmentId,
      ticketId,
    });
    if (!row) {
      throw new SupportException(
        SupportErrorCode.AttachmentNotFound,
        `No attachment ${attachmentId} on this ticket.`,
      );
    }
    return { attachment: AttachmentDto.from(row), bytes: await this.storage.get(row.storageKey) };
  }
}
