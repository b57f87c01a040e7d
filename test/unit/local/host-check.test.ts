import { describe, expect, it } from 'vitest';
import {
  allowedHostnames,
  checkHostAndOrigin,
  invalidAllowedHosts,
  splitAuthority,
} from '../../../local/host-check.js';

const allowed = allowedHostnames('127.0.0.1', ['cairn.internal']);
const check = (method: string, host: string | undefined, origin?: string) =>
  checkHostAndOrigin({ method, host, origin }, allowed, 5000)?.errorCode;

describe('splitAuthority', () => {
  it('splits names, IPv4 and bracketed IPv6 from their port, and refuses what is not an authority', () => {
    expect(splitAuthority('LocalHost:5000')).toEqual({ hostname: 'localhost', port: 5000 });
    expect(splitAuthority('[::1]:80')).toEqual({ hostname: '[::1]', port: 80 });
    expect(splitAuthority('127.0.0.1')).toEqual({ hostname: '127.0.0.1' });
    for (const bad of [
      '',
      'user@localhost',
      'localhost:abc',
      'a b',
      'localhost/x',
      '[::1',
      'localhost:123456',
    ]) {
      expect(splitAuthority(bad), bad).toBeUndefined();
    }
  });
});

describe('allowedHostnames', () => {
  it('holds loopback, the listen address and --allowed-hosts names without their port', () => {
    expect([...allowedHostnames('127.0.0.1', ['Box.Example:8080', ' '])].sort()).toEqual(
      ['127.0.0.1', '[::1]', 'box.example', 'localhost'].sort(),
    );
    expect(allowedHostnames('::1').has('[::1]')).toBe(true);
  });

  it('adds the machine’s own addresses when listening on every interface', () => {
    const names = allowedHostnames('0.0.0.0');
    expect(names.has('0.0.0.0')).toBe(false);
    expect(names.size).toBeGreaterThan(3);
  });
});

describe('invalidAllowedHosts', () => {
  it('accepts names and address literals, with or without a port, and returns what is none', () => {
    const good = ['ml.example.com', 'box', 'box.', '10.0.0.5', '[::1]', 'box:5000', '[fe80::1]:80', ''];
    expect(invalidAllowedHosts(good)).toEqual([]);
    const bad = ['*', '*.example.com', 'http://box', 'box/x', 'a b', '-box', 'box..example', 'user@box'];
    expect(invalidAllowedHosts(bad)).toEqual(bad);
  });
});

describe('checkHostAndOrigin', () => {
  it('refuses a Host not in the list, for every method', () => {
    for (const method of ['GET', 'POST', 'HEAD']) {
      expect(check(method, 'attacker.rebind.example:5000')).toBe('PERMISSION_DENIED');
      expect(check(method, undefined)).toBe('PERMISSION_DENIED');
      expect(check(method, 'cairn.internal:5000')).toBeUndefined();
    }
  });

  it('checks Origin on state-changing methods only, against allowed names on this port over http', () => {
    expect(check('GET', 'localhost:5000', 'http://evil.example')).toBeUndefined();
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      expect(check(method, 'localhost:5000')).toBeUndefined();
      expect(check(method, 'localhost:5000', 'http://localhost:5000')).toBeUndefined();
      expect(check(method, 'localhost:5000', 'http://cairn.internal:5000')).toBeUndefined();
      for (const origin of [
        'http://evil.example',
        'http://localhost:5001',
        'https://localhost:5000',
        'null',
        '',
      ]) {
        expect(check(method, 'localhost:5000', origin), `${method} ${origin}`).toBe('PERMISSION_DENIED');
      }
    }
  });
});
