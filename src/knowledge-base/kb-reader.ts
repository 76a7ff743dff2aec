import { Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import { RequestStore } from '../common/request-store';
import { KbVisibility } from './entities/kb-article.entity';

/** Who is reading, as far as the knowledge base cares. */
export interface KbReaderContext {
  /** The visibilities this caller may read (published articles only, always). */
  visibilities: KbVisibility[];
  userId: string | null;
  tenantId: string | null;
}

/** Which articles a caller may read: anonymous, signed in, or platform staff. */
export function visibilitiesFor(kind: 'anonymous' | 'signed_in' | 'staff'): KbVisibility[] {
  switch (kind) {
    case 'anonymous':
      return [KbVisibility.Public];
    case 'signed_in':
      return [KbVisibility.Public, KbVisibility.SignedIn];
    case 'staff':
      return [KbVisibility.Public, KbVisibility.SignedIn, KbVisibility.Internal];
  }
}

/**
 * Reads the caller from the request context. KB read routes are public, but
 * credentials sent with them have been checked by the authentication guard,
 * so a principal here is genuine.
 */
@Injectable()
export class KbReader {
  constructor(private readonly cls: ClsService<RequestStore>) {}

  current(): KbReaderContext {
    const principal = this.cls.isActive() ? this.cls.get('principal') : undefined;
    const tenant = this.cls.isActive() ? this.cls.get('tenant') : undefined;
    if (!principal)
      return { visibilities: visibilitiesFor('anonymous'), userId: null, tenantId: null };
    if (principal.kind === 'api_key') {
      return {
        visibilities: visibilitiesFor('signed_in'),
        userId: null,
        tenantId: tenant?.id ?? principal.tenantId,
      };
    }
    return {
      visibilities: visibilitiesFor(principal.platformRole ? 'staff' : 'signed_in'),
      userId: principal.userId,
      tenantId: tenant?.id ?? principal.tokenTenantId,
    };
  }
}
