import { parseArgs, ParseArgsConfig } from 'node:util';
import type { INestApplicationContext } from '@nestjs/common';
import { BackupError } from '../database/backup/backup.error';
import type { ArchivedFiles } from '../database/backup/tenant-archive';
import { AttachmentStorage } from '../support/attachments/storage';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * The backup commands' arguments: `--help` prints the usage (exit 0), an
 * unknown or malformed flag prints the problem and the usage (exit 2).
 */
export function parseCommandArgs<Values>(
  options: Options,
  usage: string,
): { values: Values } | { exit: number } {
  try {
    const { values } = parseArgs({ options: { ...options, help: { type: 'boolean' } } }) as {
      values: Record<string, unknown>;
    };
    if (values.help) {
      process.stdout.write(`${usage}\n`);
      return { exit: 0 };
    }
    return { values: values as Values };
  } catch (error) {
    return { exit: usageError((error as Error).message, usage) };
  }
}

export function usageError(problem: string, usage: string): number {
  process.stderr.write(`${problem}\n\n${usage}\n`);
  return 2;
}

/** A refusal the operator can act on is one line and exit 1; anything else is a crash (the stack). */
export async function refusalsExitOne(what: string, work: () => Promise<number>): Promise<number> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof BackupError) {
      process.stderr.write(`${what} failed: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

/** Ticket attachments: rows of `ticket_attachment` name their bytes in the attachment storage. */
export const attachmentFiles = (app: INestApplicationContext): ArchivedFiles => ({
  table: 'ticket_attachment',
  column: 'storage_key',
  storage: app.get(AttachmentStorage),
});
