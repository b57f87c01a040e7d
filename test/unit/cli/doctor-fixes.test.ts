/** `cairn doctor`'s pure parts: clock skew from a Date header, and the fix named for each kind of failure. */
import { describe, expect, it } from 'vitest';
import { apiFix, clockSkewMs, renderResults, s3Fix } from '../../../bin/commands/doctor.js';

describe('clockSkewMs', () => {
  const sent = Date.parse('2026-12-07T04:00:00.500Z');
  const received = sent + 200;

  it('is 0 within the round trip and the header’s one-second resolution', () => {
    expect(clockSkewMs('Mon, 07 Dec 2026 04:00:00 GMT', sent, received)).toBe(0);
  });

  it('measures a server clock ahead or behind, beyond the round trip', () => {
    expect(clockSkewMs('Mon, 07 Dec 2026 04:10:00 GMT', sent, received)).toBe(600_000 - 700);
    expect(clockSkewMs('Mon, 07 Dec 2026 03:50:00 GMT', sent, received)).toBe(-(600_000 - 500));
  });

  it('is undefined without a usable header', () => {
    expect(clockSkewMs(null, sent, received)).toBeUndefined();
    expect(clockSkewMs('yesterday', sent, received)).toBeUndefined();
  });
});

describe('apiFix', () => {
  const stack = { tokenTarget: '--stack CairnApi' };

  it('tells apart no token, a refused token and a token whose scope is too small', () => {
    expect(apiFix(401, '{"message":"Unauthorized"}', stack)).toContain('MLFLOW_TRACKING_TOKEN');
    const refused = apiFix(403, '{"message":"Forbidden"}', { ...stack, authorization: 'Bearer x' });
    expect(refused).toContain('expired or revoked');
    expect(refused).toContain('npx cairn token list --stack CairnApi');
    const scope = apiFix(403, '{"error_code":"PERMISSION_DENIED"}', { ...stack, authorization: 'Bearer x' });
    expect(scope).toContain('scope is too small');
    expect(scope).toContain('npx cairn token create --name NAME --scope write --stack CairnApi');
  });

  it('names multipart for a 413 and the logs for a 5xx', () => {
    expect(apiFix(413, '', stack)).toContain('MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD');
    expect(apiFix(502, '', stack)).toContain('log group');
  });
});

describe('s3Fix', () => {
  it('names clock skew, the Region and the signature', () => {
    expect(s3Fix(403, '<Code>RequestTimeTooSkewed</Code>')).toContain('clock');
    expect(s3Fix(403, '<Code>AccessDenied</Code><Message>Request has expired</Message>')).toContain('clock');
    expect(s3Fix(400, '<Code>AuthorizationHeaderMalformed</Code> the region is wrong')).toContain('Region');
    expect(s3Fix(301, '<Code>PermanentRedirect</Code>')).toContain('Region');
    expect(s3Fix(403, '<Code>SignatureDoesNotMatch</Code>')).toContain('signature');
  });
});

describe('renderResults', () => {
  it('prints one line per step, the fix under a failure, and a verdict', () => {
    const text = renderResults([
      { name: 'health', status: 'ok', ms: 12, detail: '200 OK' },
      { name: 'create experiment', status: 'failed', ms: 30, detail: '403', fix: 'use a write token' },
      { name: 'create run', status: 'skipped', ms: 0, detail: 'skipped: needs the experiment' },
    ]);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^✓ health\s+12 ms {2}200 OK$/);
    expect(lines[1]).toMatch(/^✗ create experiment\s+30 ms {2}403$/);
    expect(lines[2]).toMatch(/^\s+fix: use a write token$/);
    expect(lines[3]).toMatch(/^- create run\s+skipped: needs the experiment$/);
    expect(lines.at(-1)).toBe('1 check failed.');
  });
});
