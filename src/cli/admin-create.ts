import { parseArgs } from 'node:util';
import { EntityManager } from '@mikro-orm/postgresql';
import { PlatformRole } from '../access/roles';
import { hashPassword, normalizeEmail, passwordProblem } from '../identity/credentials';
import { User } from '../identity/entities/user.entity';
import { randomToken } from '../identity/secret-token';
import { runCli } from './cli-app';

const USAGE = `Usage: npm run admin:create -- --email <email> [--name "<name>"] [--password <password>] [--support]

Creates a platform admin (or, with --support, platform support) account, or
gives an existing account that role. Without --password a strong one is
generated and printed once.`;

void runCli(async ({ app }) => {
  const { values } = parseArgs({
    options: {
      email: { type: 'string' },
      name: { type: 'string' },
      password: { type: 'string' },
      support: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || !values.email || !/^[^@\s]+@[^@\s]+$/.test(values.email)) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const email = normalizeEmail(values.email);
  const role = values.support ? PlatformRole.Support : PlatformRole.Admin;
  const em = app.get<EntityManager>(EntityManager).fork();
  const existing = await em.findOne(User, { email });
  if (existing) {
    existing.platformRole = role;
    existing.updatedAt = new Date();
    await em.flush();
    process.stdout.write(`${email} is now ${role} (takes effect at their next sign-in).\n`);
    return 0;
  }
  const password = values.password ?? randomToken();
  const problem = passwordProblem(password, { email });
  if (problem) {
    process.stderr.write(`The password ${problem}.\n`);
    return 2;
  }
  const now = new Date();
  em.create(User, {
    email,
    name: values.name ?? email.split('@')[0],
    passwordHash: await hashPassword(password),
    platformRole: role,
    emailVerifiedAt: now,
    createdAt: now,
    updatedAt: now,
  });
  await em.flush();
  process.stdout.write(
    `Created ${role} ${email}.${values.password ? '' : `\nPassword (shown once): ${password}`}\n`,
  );
  return 0;
});
