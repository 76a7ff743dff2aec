/** A backup or restore that cannot go ahead, with the reason an operator can act on (one line). */
export class BackupError extends Error {
  override readonly name = 'BackupError';
}
