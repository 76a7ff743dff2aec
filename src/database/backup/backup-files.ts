import { basename, dirname, join } from 'node:path';

const BACKUP_NAME = /^groundwork-\d{8}T\d{6}Z\.dump$/;

/** `groundwork-20261126T030000Z.dump`: UTC, and names sort in time order. */
export function backupFileName(at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  return `groundwork-${stamp}.dump`;
}

export const isBackupFileName = (name: string): boolean => BACKUP_NAME.test(name);

/** The checksum manifest written beside a backup by `--verify`. */
export const checksumsFileFor = (backupFile: string): string => `${backupFile}.checksums.json`;

/**
 * Where a file is written before it is complete: hidden, in the same folder
 * (so the final rename is atomic), and never matching the backup pattern, so
 * that retention and restore scripts cannot pick up half a file.
 */
export const partialPathFor = (target: string): string =>
  join(dirname(target), `.${basename(target)}.partial-${process.pid}`);

/** The backups to delete so that the newest `keep` remain; other files are never touched. */
export function backupsToPrune(names: string[], keep: number): string[] {
  if (!Number.isInteger(keep) || keep < 1) throw new RangeError('keep must be a whole number >= 1');
  return names.filter(isBackupFileName).sort().reverse().slice(keep);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}
