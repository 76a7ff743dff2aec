import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { Strategy } from 'passport-custom';
import { ApiKeyPrincipal } from '../../common/principal';
import { ApiKeyService } from '../api-key.service';

/** `X-Api-Key: gw_<prefix>_<secret>`. */
@Injectable()
export class ApiKeyStrategy extends PassportStrategy(Strategy, 'api-key') {
  constructor(private readonly apiKeys: ApiKeyService) {
    super();
  }

  async validate(request: FastifyRequest): Promise<ApiKeyPrincipal | false> {
    const header = request.headers['x-api-key'];
    if (typeof header !== 'string') return false;
    return (await this.apiKeys.authenticate(header)) ?? false;
  }
}
