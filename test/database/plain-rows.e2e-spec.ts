import { plainRows } from '../../src/database/plain-rows';
import { User } from '../../src/identity/entities/user.entity';
import { createUser } from '../support/factories';
import { bootTestApp, TestApp } from '../support/test-app';

/** `plainRows`: read-only pages as plain objects, refused for columns the ORM must convert. */
describe('plainRows', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  it('reads natively mapped columns as the entity holds them, by property name', async () => {
    const { user } = await createUser(t.app);
    const [row] = await plainRows(t.em(), User, ['id', 'email', 'createdAt'], {
      where: { id: user.id },
      orderBy: { id: 'asc' },
    });
    expect(row).toEqual({ id: user.id, email: user.email, createdAt: user.createdAt });
    expect(row.createdAt).toBeInstanceOf(Date);
  });

  it('refuses a column with a conversion of its own (an encrypted one) instead of handing out ciphertext', async () => {
    await expect(
      plainRows(t.em(), User, ['id', 'name'], {
        where: {},
        orderBy: { id: 'asc' },
        limit: 1,
      }),
    ).rejects.toThrow(/User\.name is of type EncryptedString; .*Read it through the ORM/);
  });
});
