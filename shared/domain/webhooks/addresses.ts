/**
 * Which IP addresses a webhook may be delivered to (SSRF, CVE-2026-2393: MLflow once POSTed to whatever a
 * webhook's URL named, cloud metadata included). Only globally routable unicast addresses pass; loopback,
 * private, link-local (169.254.169.254, the instance metadata service), shared (CGNAT), documentation,
 * benchmarking, multicast and reserved ranges do not. An IPv6 address that carries an IPv4 address
 * (IPv4-mapped `::ffff:a.b.c.d`, the deprecated IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4
 * `2002::/16`) is judged by the IPv4 address it reaches. The lists follow IANA's special-purpose address
 * registries, as Python's `ipaddress.is_global` (which MLflow uses) does, plus multicast.
 *
 * Parsed by hand rather than with `net.BlockList`: that one does not judge an IPv4-mapped IPv6 address
 * by its IPv4 rules, and the embedded-address forms above need the bytes anyway.
 */
import { isIP } from 'node:net';

/** An address as bytes: 4 for IPv4, 16 for IPv6. */
type Bytes = number[];

function parseIpv4(text: string): Bytes | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((part) => (/^\d{1,3}$/.test(part) ? Number(part) : Number.NaN));
  return bytes.every((byte) => byte >= 0 && byte <= 255) ? bytes : undefined;
}

function parseIpv6(text: string): Bytes | undefined {
  // A zone (`fe80::1%eth0`) names an interface: the address before it is what is judged.
  const address = text.split('%')[0] ?? '';
  let head = address;
  let tailBytes: Bytes = [];
  const lastColon = address.lastIndexOf(':');
  if (address.slice(lastColon + 1).includes('.')) {
    const v4 = parseIpv4(address.slice(lastColon + 1));
    if (!v4) return undefined;
    tailBytes = v4;
    head = `${address.slice(0, lastColon + 1)}`;
    // `::1.2.3.4` leaves `::`, `::ffff:1.2.3.4` leaves `::ffff:`: drop the separator before the IPv4 part.
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const groupsWanted = 8 - tailBytes.length / 2;
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const split = (part: string) => (part === '' ? [] : part.split(':'));
  const left = split(halves[0] ?? '');
  const right = halves.length === 2 ? split(halves[1] ?? '') : [];
  const missing = groupsWanted - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...right];
  const bytes: Bytes = [];
  for (const group of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    const value = Number.parseInt(group, 16);
    bytes.push(value >> 8, value & 0xff);
  }
  return [...bytes, ...tailBytes];
}

/** `bytes` begins with the first `bits` bits of `prefix`. */
function inPrefix(bytes: Bytes, prefix: Bytes, bits: number): boolean {
  for (let bit = 0; bit < bits; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if (((bytes[byte] ?? 0) & mask) !== ((prefix[byte] ?? 0) & mask)) return false;
  }
  return true;
}

type Range = [prefix: string, bits: number];

/** IPv4 ranges that are not globally reachable unicast (IANA IPv4 special-purpose registry, + multicast). */
const IPV4_NOT_GLOBAL: readonly Range[] = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // shared address space (carrier-grade NAT)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local: the instance metadata service lives here
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast (deprecated)
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and the broadcast address
];

/** IPv6 ranges that are not globally reachable unicast; the ones that embed IPv4 are handled first. */
const IPV6_NOT_GLOBAL: readonly Range[] = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['::', 96], // IPv4-compatible (deprecated) and everything else below ::ffff:0:0
  ['64:ff9b:1::', 48], // local-use IPv4/IPv6 translation
  ['100::', 64], // discard-only
  ['2001::', 23], // IETF protocol assignments (TEREDO, ORCHID, benchmarking ...)
  ['2001:db8::', 32], // documentation
  ['3fff::', 20], // documentation
  ['5f00::', 16], // segment routing SIDs
  ['fc00::', 7], // unique local: AWS's IPv6 metadata endpoint fd00:ec2::254 is one
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];

const compile = (ranges: readonly Range[], parse: (text: string) => Bytes | undefined) =>
  ranges.map(([prefix, bits]) => ({ bytes: parse(prefix) as Bytes, bits }));
const V4_RANGES = compile(IPV4_NOT_GLOBAL, parseIpv4);
const V6_RANGES = compile(IPV6_NOT_GLOBAL, parseIpv6);
/** IPv6 prefixes whose low bits (or, for 6to4, bits 16–47) carry an IPv4 address. */
const MAPPED = parseIpv6('::ffff:0:0') as Bytes;
const NAT64 = parseIpv6('64:ff9b::') as Bytes;
const SIX_TO_FOUR = parseIpv6('2002::') as Bytes;

function isGlobalV4(bytes: Bytes): boolean {
  return !V4_RANGES.some((range) => inPrefix(bytes, range.bytes, range.bits));
}

function isGlobalV6(bytes: Bytes): boolean {
  if (inPrefix(bytes, MAPPED, 96) || inPrefix(bytes, NAT64, 96)) return isGlobalV4(bytes.slice(12));
  if (inPrefix(bytes, SIX_TO_FOUR, 16)) return isGlobalV4(bytes.slice(2, 6));
  return !V6_RANGES.some((range) => inPrefix(bytes, range.bytes, range.bits));
}

/**
 * Whether `address` (an IPv4 or IPv6 literal, as DNS answers it) is a globally reachable unicast address.
 * Anything that is not an IP address at all is not.
 */
export function isGlobalAddress(address: string): boolean {
  const family = isIP(address.split('%')[0] ?? '');
  if (family === 4) {
    const bytes = parseIpv4(address);
    return bytes !== undefined && isGlobalV4(bytes);
  }
  if (family === 6) {
    const bytes = parseIpv6(address);
    return bytes !== undefined && isGlobalV6(bytes);
  }
  return false;
}
