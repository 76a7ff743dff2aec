import { Injectable } from '@nestjs/common';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Clock } from '../../common/clock';
import { AuditService } from '../../tenancy/audit/audit.service';
import { SupportErrorCode, SupportException } from '../support.exception';
import {
  CreateSupportMacroDto,
  SupportMacroDto,
  UpdateSupportMacroDto,
} from './dtos/support-macro.dto';
import { unknownPlaceholders } from './macro-template';
import { SupportMacro } from './support-macro.entity';

/** The operator's canned responses (platform schema); changes go to the platform audit log. */
@Injectable()
export class SupportMacroService {
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  async list(): Promise<SupportMacroDto[]> {
    const rows = await this.em.fork().find(SupportMacro, {}, { orderBy: { name: 'asc' } });
    return rows.map((row) => SupportMacroDto.from(row));
  }

  async get(id: string): Promise<SupportMacroDto> {
    return SupportMacroDto.from(await this.load(this.em.fork(), id));
  }

  /** One macro for applying to a ticket, read through the caller's manager (any schema). */
  async find(em: EntityManager, id: string): Promise<SupportMacro> {
    return this.load(em, id);
  }

  async create(dto: CreateSupportMacroDto): Promise<SupportMacroDto> {
    assertTemplate(dto.body);
    return this.write(async (em) => {
      const now = this.clock.now();
      const row = em.create(SupportMacro, {
        name: dto.name,
        body: dto.body,
        setStatus: dto.setStatus ?? null,
        setPriority: dto.setPriority ?? null,
        addTags: dto.addTags ?? [],
        createdAt: now,
        updatedAt: now,
      });
      this.record(em, 'support.macro.created', row);
      await em.flush();
      return SupportMacroDto.from(row);
    });
  }

  async update(id: string, dto: UpdateSupportMacroDto): Promise<SupportMacroDto> {
    if (dto.body !== undefined) assertTemplate(dto.body);
    return this.write(async (em) => {
      const row = await this.load(em, id);
      if (dto.name !== undefined) row.name = dto.name;
      if (dto.body !== undefined) row.body = dto.body;
      if (dto.setStatus !== undefined) row.setStatus = dto.setStatus;
      if (dto.setPriority !== undefined) row.setPriority = dto.setPriority;
      if (dto.addTags !== undefined) row.addTags = dto.addTags;
      row.updatedAt = this.clock.now();
      this.record(em, 'support.macro.updated', row);
      await em.flush();
      return SupportMacroDto.from(row);
    });
  }

  async remove(id: string): Promise<void> {
    await this.write(async (em) => {
      const row = await this.load(em, id);
      this.record(em, 'support.macro.deleted', row);
      em.remove(row);
      await em.flush();
    });
  }

  private async write<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await this.em.fork().transactional(work);
    } catch (error) {
      if (
        error instanceof UniqueConstraintViolationException &&
        /support_macro_name_key/.test(error.message)
      ) {
        throw new SupportException(
          SupportErrorCode.MacroNameTaken,
          'Another macro already has this name.',
        );
      }
      throw error;
    }
  }

  private record(em: EntityManager, action: string, row: SupportMacro): void {
    // Macros belong to the operator, not to a tenant.
    this.audit.recordPlatform(
      { action, tenantId: null, data: { macroId: row.id, name: row.name } },
      em,
    );
  }

  private async load(em: EntityManager, id: string): Promise<SupportMacro> {
    const row = await em.findOne(SupportMacro, { id });
    if (!row) throw new SupportException(SupportErrorCode.MacroNotFound, `No macro ${id}.`);
    return row;
  }
}

function assertTemplate(body: string): void {
  const unknown = unknownPlaceholders(body);
  if (unknown.length > 0) {
    throw new SupportException(
      SupportErrorCode.MacroTemplateInvalid,
      `Unknown placeholders: ${unknown.map((p) => `{{${p}}}`).join(', ')}.`,
      { unknown },
    );
  }
}
