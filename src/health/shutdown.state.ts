import { Injectable } from '@nestjs/common';

/** Flipped at the first shutdown signal so readiness fails before the server stops. */
@Injectable()
export class ShutdownState {
  private since?: Date;

  begin(): void {
    this.since ??= new Date();
  }

  get shuttingDown(): boolean {
    return this.since !== undefined;
  }
}
