import {
  checkTotp,
  newRecoveryCode,
  newTotpSecret,
  normalizeRecoveryCode,
  recoveryCodeHash,
  totpCodeAt,
  totpUri,
} from './totp';

describe('totp', () => {
  const secret = newTotpSecret();
  // The start of a 30-second step, so window edges fall on round offsets.
  const t0 = Math.floor(Date.UTC(2026, 11, 2, 12) / 30_000) * 30_000;
  const step0 = t0 / 30_000;

  it('makes 160-bit base32 secrets and an otpauth URI apps read', () => {
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(totpUri(secret, 'ada@example.com'));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.searchParams.get('secret')).toBe(secret);
    expect(uri.searchParams.get('issuer')).toBe('Groundwork');
    expect(uri.searchParams.get('digits')).toBe('6');
    expect(uri.searchParams.get('period')).toBe('30');
  });

  it('accepts the current code and returns its step', () => {
    expect(checkTotp(secret, totpCodeAt(secret, t0), t0 + 29_999, null)).toEqual({
      ok: true,
      step: step0,
    });
  });

  it('accepts the previous and the next step (drift), not two steps away', () => {
    expect(checkTotp(secret, totpCodeAt(secret, t0 - 30_000), t0, null)).toEqual({
      ok: true,
      step: step0 - 1,
    });
    expect(checkTotp(secret, totpCodeAt(secret, t0 + 30_000), t0, null)).toEqual({
      ok: true,
      step: step0 + 1,
    });
    expect(checkTotp(secret, totpCodeAt(secret, t0 - 30_001), t0, null).ok).toBe(false);
    expect(checkTotp(secret, totpCodeAt(secret, t0 + 60_000), t0, null).ok).toBe(false);
  });

  it('refuses a replay: the same step, or an earlier one after a later was used', () => {
    const code = totpCodeAt(secret, t0);
    expect(checkTotp(secret, code, t0, step0)).toEqual({ ok: false, reason: 'used' });
    expect(checkTotp(secret, totpCodeAt(secret, t0 - 30_000), t0, step0)).toEqual({
      ok: false,
      reason: 'used',
    });
    expect(checkTotp(secret, totpCodeAt(secret, t0 + 30_000), t0, step0).ok).toBe(true);
  });

  it('refuses malformed and wrong codes, and another secret’s code', () => {
    for (const code of ['', '12345', '1234567', 'abcdef', '12 34 56 7'])
      expect(checkTotp(secret, code, t0, null)).toEqual({ ok: false, reason: 'invalid' });
    const other = newTotpSecret();
    const theirs = totpCodeAt(other, t0);
    const ours = [-1, 0, 1].map((d) => totpCodeAt(secret, t0 + d * 30_000));
    if (!ours.includes(theirs)) expect(checkTotp(secret, theirs, t0, null).ok).toBe(false);
  });

  it('tolerates spaces inside a code', () => {
    const code = totpCodeAt(secret, t0);
    expect(checkTotp(secret, `${code.slice(0, 3)} ${code.slice(3)}`, t0, null).ok).toBe(true);
  });

  it('makes distinct 80-bit recovery codes, matched whatever their case, hyphens or look-alikes', () => {
    const codes = Array.from({ length: 200 }, newRecoveryCode);
    expect(new Set(codes).size).toBe(200);
    for (const code of codes)
      expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$/);
    const code = codes[0];
    expect(recoveryCodeHash(` ${code.toUpperCase().replace(/-/g, ' ')} `)).toBe(
      recoveryCodeHash(code),
    );
    expect(normalizeRecoveryCode('O0-iL1')).toBe('00111');
    expect(recoveryCodeHash(code)).toMatch(/^[0-9a-f]{64}$/);
    expect(recoveryCodeHash(code)).not.toContain(normalizeRecoveryCode(code));
  });
});
