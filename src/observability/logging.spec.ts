import pino from 'pino';
import { REDACTED_PATHS } from './logging';

describe('log redaction', () => {
  it('hides secrets at the top level and nested one or two levels down', () => {
    const lines: string[] = [];
    const logger = pino(
      { redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
      { write: (line: string) => lines.push(line) },
    );
    logger.info({
      password: 'hunter2-top',
      token: 'tok-top',
      card: { number: '4242424242424242', cvc: '123' },
      user: { password: 'hunter2-nested', refreshToken: 'rt-nested' },
      a: { b: { password: 'hunter2-deep', apiKey: 'gw_deadbeef_x' } },
      headers: { authorization: 'Bearer abc.def', cookie: 'sid=1' },
      keep: 'visible',
    });
    const out = lines.join('');
    for (const secret of [
      'hunter2',
      'tok-top',
      '4242424242424242',
      '"123"',
      'rt-nested',
      'gw_deadbeef',
      'abc.def',
      'sid=1',
    ]) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('visible');
  });
});
