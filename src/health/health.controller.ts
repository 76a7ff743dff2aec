import { Controller, Get, Logger, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorService,
  MikroOrmHealthIndicator,
} from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { Public } from '../access/policies';
import { InjectConfig } from '../config/config.module';
import { AppConfig } from '../config/app-config';
import { PlatformMigrator } from '../database/platform-migrator';
import { ShutdownState } from './shutdown.state';

/**
 * Kubernetes probes. Liveness never looks at dependencies (a database outage
 * must not restart every pod); readiness does, and fails at once on shutdown.
 * Hidden from the public API spec.
 */
@ApiExcludeController()
@Public()
@Controller('health')
export class HealthController {
  private readonly logger = new Logger(HealthController.name);
  private platformCurrent = false;

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly orm: MikroOrmHealthIndicator,
    private readonly migrator: PlatformMigrator,
    private readonly shutdown: ShutdownState,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  @Get('live')
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.run(reply, false);
  }

  @Get()
  all(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.run(reply, true);
  }

  private async run(reply: FastifyReply, withProcess: boolean): Promise<HealthCheckResult> {
    try {
      return await this.health.check([
        () => this.shutdownCheck(),
        () => this.orm.pingCheck('database', { timeout: this.config.database.healthTimeoutMs }),
        () => this.migrationsCheck(),
        ...(withProcess ? [() => this.processCheck()] : []),
      ]);
    } catch (error) {
      // Terminus reports failure as an exception carrying the result: answer 503 with it.
      if (error instanceof ServiceUnavailableException) {
        void reply.status(503);
        return error.getResponse() as HealthCheckResult;
      }
      throw error;
    }
  }

  private shutdownCheck() {
    const indicator = this.indicators.check('shutdown');
    return this.shutdown.shuttingDown
      ? indicator.down({ message: 'shutting down' })
      : indicator.up();
  }

  private async migrationsCheck() {
    const indicator = this.indicators.check('migrations');
    if (this.platformCurrent) return indicator.up();
    try {
      const pending = await this.migrator.pending();
      // Once current, it stays current for the life of this process.
      this.platformCurrent = pending.length === 0;
      return this.platformCurrent ? indicator.up() : indicator.down({ pending });
    } catch (error) {
      // Details go to the log, not to an unauthenticated endpoint.
      this.logger.warn({ err: error }, 'Migration check failed');
      return indicator.down({ message: 'cannot read the migration table' });
    }
  }

  private processCheck() {
    return this.indicators.check('process').up({ uptimeSeconds: Math.round(process.uptime()) });
  }
}
