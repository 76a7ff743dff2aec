import { format, inspect } from 'node:util';
import { Secret } from './secret';

const VALUE = 'sk_live_do-not-log-me';

describe('Secret', () => {
  const secret = new Secret(VALUE);

  it('returns the value from reveal()', () => {
    expect(secret.reveal()).toBe(VALUE);
  });

  it('hides the value from String(), toString() and array joins', () => {
    expect(String(secret)).toBe('[secret]');
    expect(secret.toString()).toBe('[secret]');
    expect([secret, secret].join(',')).toBe('[secret],[secret]');
  });

  it('hides the value from template literals', () => {
    expect(`token=${String(secret)}`).toBe('token=[secret]');
    expect(`${secret as unknown as string}`).toBe('[secret]');
  });

  it('hides the value from JSON.stringify, also when nested', () => {
    expect(JSON.stringify(secret)).toBe('"[secret]"');
    const nested = JSON.stringify({ db: { password: secret }, list: [secret] });
    expect(nested).toBe('{"db":{"password":"[secret]"},"list":["[secret]"]}');
    expect(nested).not.toContain(VALUE);
  });

  it('hides the value from util.inspect, console formatting and nested objects', () => {
    expect(inspect(secret)).toBe('[secret]');
    expect(inspect({ config: { key: secret } }, { depth: 10, showHidden: true })).not.toContain(
      VALUE,
    );
    expect(format('%s %o %O %j', secret, secret, secret, secret)).not.toContain(VALUE);
  });

  it('exposes no enumerable or own property holding the value', () => {
    expect(Object.keys(secret)).toEqual([]);
    expect(Object.getOwnPropertyNames(secret)).toEqual([]);
    expect(Object.values(secret)).not.toContain(VALUE);
    expect({ ...secret }).toEqual({});
  });

  it('keeps distinct values in distinct instances', () => {
    expect(new Secret('a').reveal()).toBe('a');
    expect(new Secret('b').reveal()).toBe('b');
    expect(new Secret('').reveal()).toBe('');
  });
});
