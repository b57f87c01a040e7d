import type { LookupAddress } from 'node:dns';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isGlobalAddress } from '../../../shared/domain/webhooks/addresses.js';
import { checkTarget, guardedLookup } from '../../../shared/domain/webhooks/deliver.js';
import { parseWebhookUrl } from '../../../shared/domain/webhooks/rules.js';

const NOT_GLOBAL = [
  '0.0.0.0',
  '10.1.2.3',
  '100.64.0.1',
  '127.0.0.1',
  '127.255.255.254',
  '169.254.169.254', // the instance metadata service
  '172.16.0.1',
  '172.31.255.255',
  '192.0.0.8',
  '192.0.2.1',
  '192.168.1.1',
  '198.18.0.1',
  '198.51.100.7',
  '203.0.113.9',
  '224.0.0.1',
  '255.255.255.255',
  '::',
  '::1',
  '::ffff:127.0.0.1', // IPv4-mapped loopback
  '::ffff:7f00:1', // the same, in hex
  '::ffff:169.254.169.254',
  '::ffff:10.0.0.1',
  '::127.0.0.1', // IPv4-compatible (deprecated)
  '64:ff9b::a9fe:a9fe', // NAT64 of 169.254.169.254
  '64:ff9b:1::1',
  '2002:7f00:1::', // 6to4 of 127.0.0.1
  '2002:a00:1::1', // 6to4 of 10.0.0.1
  '2001:db8::1',
  'fc00::1',
  'fd00:ec2::254', // the instance metadata service over IPv6
  'fe80::1',
  'fe80::1%eth0',
  'fec0::1',
  'ff02::1',
  '100::1',
  'not an address',
  '',
  '1.2.3',
  '1.2.3.256',
];

const GLOBAL = [
  '1.1.1.1',
  '8.8.8.8',
  '93.184.215.14',
  '172.32.0.1', // just past 172.16.0.0/12
  '100.128.0.1', // just past 100.64.0.0/10
  '2606:4700:4700::1111',
  '2a00:1450:4001:80b::200e',
  '::ffff:8.8.8.8',
  '64:ff9b::808:808', // NAT64 of 8.8.8.8
  '2002:808:808::1', // 6to4 of 8.8.8.8
];

describe('isGlobalAddress', () => {
  it.each(NOT_GLOBAL)('refuses %s', (address) => {
    expect(isGlobalAddress(address)).toBe(false);
  });

  it.each(GLOBAL)('accepts %s', (address) => {
    expect(isGlobalAddress(address)).toBe(true);
  });

  const octet = fc.integer({ min: 0, max: 255 });
  const v4 = fc.tuple(octet, octet, octet, octet).map((parts) => parts.join('.'));

  it('judges an IPv4-mapped IPv6 address exactly as its IPv4 address', () => {
    fc.assert(
      fc.property(v4, (address) => {
        const [a, b, c, d] = address.split('.').map(Number) as [number, number, number, number];
        const hex = `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
        expect(isGlobalAddress(`::ffff:${address}`)).toBe(isGlobalAddress(address));
        expect(isGlobalAddress(`::ffff:${hex}`)).toBe(isGlobalAddress(address));
        expect(isGlobalAddress(`64:ff9b::${hex}`)).toBe(isGlobalAddress(address));
      }),
    );
  });

  it('refuses every address of the private, loopback and link-local ranges', () => {
    const inRange = fc.oneof(
      fc.tuple(fc.constant(10), octet, octet, octet),
      fc.tuple(fc.constant(127), octet, octet, octet),
      fc.tuple(fc.constant(169), fc.constant(254), octet, octet),
      fc.tuple(fc.constant(172), fc.integer({ min: 16, max: 31 }), octet, octet),
      fc.tuple(fc.constant(192), fc.constant(168), octet, octet),
      fc.tuple(fc.constant(100), fc.integer({ min: 64, max: 127 }), octet, octet),
    );
    fc.assert(fc.property(inRange, (parts) => !isGlobalAddress(parts.join('.'))));
  });
});

/** A resolver that answers `addresses` for every name, as dns.lookup with `all: true` does. */
function resolver(addresses: string[]) {
  return ((_host: string, _options: unknown, callback: (e: Error | null, a: LookupAddress[]) => void) =>
    callback(
      null,
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    )) as unknown as typeof import('node:dns').lookup;
}

const GUARDED = { allowedSchemes: ['https'], allowPrivateNetworks: false };

describe('the guard at connection time (DNS rebinding)', () => {
  it('refuses a name when any address it resolves to is not global', async () => {
    const lookup = guardedLookup(GUARDED, resolver(['93.184.215.14', '169.254.169.254']));
    const error = await new Promise<Error | null>((resolve) =>
      lookup('rebind.example', {}, (e) => resolve(e)),
    );
    expect(error?.message).toMatch(/non-public IP address.*169\.254\.169\.254/);
  });

  it('hands the socket the address it checked', async () => {
    const lookup = guardedLookup(GUARDED, resolver(['93.184.215.14']));
    const answer = await new Promise<string>((resolve) =>
      lookup('ok.example', {}, (_e, address) => resolve(address as string)),
    );
    expect(answer).toBe('93.184.215.14');
  });

  it('lets private targets through when the deployment allows them', async () => {
    await expect(
      checkTarget('http://localhost:9/x', { allowedSchemes: ['http'], allowPrivateNetworks: true }),
    ).resolves.toBeUndefined();
    await expect(checkTarget('https://internal.example/x', GUARDED, resolver(['10.0.0.5']))).rejects.toThrow(
      /non-public/,
    );
  });
});

describe('parseWebhookUrl', () => {
  it('accepts exactly the allowed schemes, and never credentials', () => {
    fc.assert(
      fc.property(
        fc.webUrl({ validSchemes: ['http', 'https'], withQueryParameters: true, withFragments: true }),
        (url) => {
          const parsed = new URL(url);
          const allowed = parsed.protocol === 'https:' && url.length <= 500 && parsed.username === '';
          let accepted = true;
          try {
            parseWebhookUrl(url, ['https']);
          } catch {
            accepted = false;
          }
          return accepted === allowed;
        },
      ),
    );
  });

  it('never throws anything but a 400 for any string', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 600 }), (text) => {
        try {
          parseWebhookUrl(text, ['https', 'http']);
        } catch (error) {
          expect((error as { errorCode?: string }).errorCode).toBe('INVALID_PARAMETER_VALUE');
        }
      }),
    );
  });
});
