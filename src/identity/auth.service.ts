import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { TenantRole } from '../access/roles';
import { Clock } from '../common/clock';
import { Principal, UserPrincipal } from '../common/principal';
import { Tenant } from '../tenancy/entities/tenant.entity';
import { InvitationService } from '../tenancy/invitations/invitation.service';
import { AuditService } from '../tenancy/audit/audit.service';
import { TenantContext } from '../tenancy/tenant-context';
import { TenantStatus } from '../tenancy/entities/tenant.entity';
import { MembershipService } from '../tenancy/members/membership.service';
import { TenantDirectory } from '../tenancy/tenant-directory.service';
import { TenantProvisioningService } from '../tenancy/tenant-provisioning.service';
import { AccountService } from './account.service';
import {
  assertPasswordAcceptable,
  hashPassword,
  normalizeEmail,
  verifyPassword,
} from './credentials';
import { AcceptInvitationDto, LoginDto, MeDto, SignupDto, TokensDto } from './dtos/auth.dto';
import { LoginSecondFactorDto, SecondFactorChallengeDto } from './dtos/two-factor.dto';
import { User } from './entities/user.entity';
import { IdentityErrorCode, IdentityException } from './identity.exception';
import { LoginThrottle } from './login-throttle.service';
import { IssuedTokens, TokenService } from './token.service';
import { LOGIN_CHALLENGE_TTL_SECONDS, TwoFactorService } from './two-factor.service';

const toDto = (tokens: IssuedTokens): TokensDto => ({ ...tokens, tokenType: 'Bearer' });

/** Sign-up, sign-in, token refresh, sign-out and switching organisation. */
@Injectable()
export class AuthService {
  constructor(
    private readonly em: EntityManager,
    private readonly provisioning: TenantProvisioningService,
    private readonly memberships: MembershipService,
    private readonly directory: TenantDirectory,
    private readonly tokens: TokenService,
    private readonly throttle: LoginThrottle,
    private readonly clock: Clock,
    private readonly tenantContext: TenantContext,
    private readonly audit: AuditService,
    private readonly accounts: AccountService,
    private readonly invitations: InvitationService,
    private readonly twoFactor: TwoFactorService,
  ) {}

  /** A new user and a new organisation with that user as its owner, in one transaction. */
  async signup(dto: SignupDto): Promise<TokensDto> {
    const email = normalizeEmail(dto.email);
    assertPasswordAcceptable(dto.password, { email, names: [dto.name, dto.organizationName] });
    if (await this.em.fork().count(User, { email })) throw this.emailTaken();
    const passwordHash = await hashPassword(dto.password);
    let issued: IssuedTokens | undefined;
    await this.provisioning.provision(
      { slug: dto.organizationSlug, name: dto.organizationName },
      async (em, tenant) => {
        const now = this.clock.now();
        const user = em.create(User, {
          email,
          name: dto.name,
          passwordHash,
          createdAt: now,
          updatedAt: now,
        });
        this.memberships.add(em, tenant.id, user.id, TenantRole.Owner);
        this.tenantContext.run(tenant, () =>
          this.audit.record(
            {
              action: 'tenant.created',
              actor: { type: 'user', id: user.id },
              target: { type: 'tenant', id: tenant.id },
              data: { slug: tenant.slug, name: tenant.name },
            },
            em,
          ),
        );
        this.accounts.sendVerification(em, user);
        issued = this.tokens.issue(em, user, tenant.id);
        await em.flush().catch((error: unknown) => {
          // A concurrent sign-up with the same address won the race.
          if (String(error).includes('user_account_email_key')) throw this.emailTaken();
          throw error;
        });
      },
    );
    return toDto(issued!);
  }

  /**
   * One answer for an unknown address and a wrong password, with the same
   * work done for both; failures count towards the per-account and per-address
   * limits. With two-factor authentication on, a right password gets a
   * short-lived challenge instead of tokens (see `completeLogin`).
   */
  async login(dto: LoginDto, ip: string): Promise<TokensDto | SecondFactorChallengeDto> {
    const email = normalizeEmail(dto.email);
    await this.throttle.check(email, ip);
    const em = this.em.fork();
    const user = await em.findOne(User, { email }, { populate: ['passwordHash'] });
    const ok = await verifyPassword(user?.passwordHash, dto.password);
    if (!user || !ok) {
      await this.throttle.failed(email, ip);
      throw new IdentityException(
        IdentityErrorCode.InvalidCredentials,
        'The email address or the password is wrong.',
      );
    }
    await this.throttle.succeeded(email);
    if (await this.twoFactor.enabledNow(user.id)) {
      const challenge = this.twoFactor.startChallenge(em, user.id);
      await em.flush();
      return {
        twoFactorRequired: true,
        challenge,
        expiresIn: LOGIN_CHALLENGE_TTL_SECONDS,
        methods: ['totp', 'recovery_code'],
      };
    }
    const tenantId = await this.defaultTenant(user.id);
    const tokens = this.tokens.issue(em, user, tenantId);
    await em.flush();
    return toDto(tokens);
  }

  /** The second step of a two-factor sign-in: the challenge and a code for the tokens. */
  async completeLogin(dto: LoginSecondFactorDto, ip: string): Promise<TokensDto> {
    const tokens = await this.twoFactor.redeemChallenge(dto.challenge, dto, ip, async (em, user) =>
      this.tokens.issue(em, user, await this.defaultTenant(user.id)),
    );
    return toDto(tokens);
  }

  /**
   * Joins the organisation of an invitation. The address's existing account
   * must be signed in to accept; otherwise a new account is created (its
   * address counts as verified: the link reached that mailbox).
   */
  async acceptInvitation(
    dto: AcceptInvitationDto,
    principal: Principal | undefined,
  ): Promise<TokensDto> {
    return this.em.fork().transactional(async (em) => {
      const invitation = await this.invitations.redeem(em, dto.token);
      let user = await em.findOne(User, { email: invitation.email });
      if (user) {
        if (principal?.kind !== 'user') {
          throw new IdentityException(
            IdentityErrorCode.Unauthenticated,
            `Sign in as ${invitation.email} to accept this invitation.`,
          );
        }
        if (principal.userId !== user.id) {
          throw new IdentityException(
            IdentityErrorCode.InvitationForAnotherUser,
            'This invitation was sent to another address.',
          );
        }
      } else {
        if (!dto.name || !dto.password) {
          throw new IdentityException(
            IdentityErrorCode.WeakPassword,
            'A new account needs a name and a password.',
            {
              errors: [
                ...(dto.name
                  ? []
                  : [{ field: 'name', message: 'name is required for a new account' }]),
                ...(dto.password
                  ? []
                  : [{ field: 'password', message: 'password is required for a new account' }]),
              ],
            },
          );
        }
        assertPasswordAcceptable(dto.password, { email: invitation.email, names: [dto.name] });
        const now = this.clock.now();
        user = em.create(User, {
          email: invitation.email,
          name: dto.name,
          passwordHash: await hashPassword(dto.password),
          emailVerifiedAt: now,
          createdAt: now,
          updatedAt: now,
        });
      }
      this.memberships.add(em, invitation.tenantId, user.id, invitation.role);
      const tenant = await em.findOneOrFail(
        Tenant,
        { id: invitation.tenantId },
        { fields: ['id', 'slug', 'schemaName'] },
      );
      const joined = user;
      this.tenantContext.run(tenant, () =>
        this.audit.record(
          {
            action: 'member.joined',
            actor: { type: 'user', id: joined.id },
            target: { type: 'user', id: joined.id },
            data: { role: invitation.role, invitationId: invitation.id },
          },
          em,
        ),
      );
      return toDto(this.tokens.issue(em, user, invitation.tenantId));
    });
  }

  async refresh(refreshToken: string): Promise<TokensDto> {
    return toDto((await this.tokens.rotate(refreshToken)).tokens);
  }

  /** Ends the session of the given refresh token, or of the calling access token. */
  async logout(principal: UserPrincipal, refreshToken?: string): Promise<void> {
    const familyId = refreshToken ? await this.tokens.familyOf(refreshToken) : principal.sessionId;
    if (familyId) await this.tokens.revokeFamily(familyId, 'logout');
  }

  /**
   * Moves the caller to another organisation: a new session for it, and the
   * current one ended (its refresh token stops working).
   */
  async switchTenant(principal: UserPrincipal, selector: string): Promise<TokensDto> {
    const tenant = await this.directory.find(selector);
    const role = tenant ? await this.memberships.roleOf(tenant.id, principal.userId) : null;
    if (!tenant || tenant.status === TenantStatus.Deleted || (!role && !principal.platformRole)) {
      throw new IdentityException(
        IdentityErrorCode.NotAMember,
        `You are not a member of "${selector}".`,
      );
    }
    const em = this.em.fork();
    const user = await em.findOneOrFail(User, { id: principal.userId });
    const tokens = this.tokens.issue(em, user, tenant.id);
    await em.flush();
    await this.tokens.revokeFamily(principal.sessionId, 'switched_tenant');
    return toDto(tokens);
  }

  async me(principal: UserPrincipal): Promise<MeDto> {
    const user = await this.em.fork().findOne(User, { id: principal.userId });
    if (!user)
      throw new IdentityException(IdentityErrorCode.UserNotFound, 'Your account no longer exists.');
    const memberships = await this.memberships.listForUser(user.id);
    return {
      id: user.id,
      email: user.email,
      name: user.name,
      emailVerified: !!user.emailVerifiedAt,
      twoFactorEnabled: await this.twoFactor.enabledFor(user.id),
      platformRole: user.platformRole ?? null,
      currentTenantId: principal.tokenTenantId,
      memberships: memberships.map((m) => ({ tenantId: m.tenantId, role: m.role })),
    };
  }

  private async defaultTenant(userId: string): Promise<string | null> {
    const [first] = await this.memberships.listForUser(userId);
    return first?.tenantId ?? null;
  }

  private emailTaken(): IdentityException {
    return new IdentityException(
      IdentityErrorCode.EmailTaken,
      'An account with this email address already exists.',
    );
  }
}
