/**
 * The local front's defence against DNS rebinding and cross-site requests (issue 11, item 3). A page on
 * attacker.example whose name is rebound to 127.0.0.1 talks to this server with its own Host header; a
 * page on any origin can send a simple POST. Neither needs a token when the server runs without --auth.
 * So the front answers only Host names it was given, and refuses state-changing requests whose Origin is
 * another site. Clients that are not browsers send no Origin and are unaffected.
 */
import { networkInterfaces, hostname as osHostname } from 'node:os';
import { PermissionDeniedError } from '../shared/errors.js';

export const LOOPBACK_HOSTNAMES = ['localhost', '127.0.0.1', '[::1]'] as const;

const WILDCARD_HOSTS = new Set(['', '0.0.0.0', '::', '[::]']);

/** How a name appears in a Host header or an origin: lower case, IPv6 in brackets, no trailing dot. */
export function normalizeHostname(name: string): string {
  const lower = name.trim().toLowerCase().replace(/\.$/, '');
  return lower.includes(':') && !lower.startsWith('[') ? `[${lower}]` : lower;
}

/**
 * The names the server answers to: loopback, the address it listens on and `--allowed-hosts`. Listening
 * on every interface (`--host 0.0.0.0`, which needs --auth) adds the machine's own addresses and name,
 * so remote clients that use them work without listing them; DNS names go in --allowed-hosts.
 */
export function allowedHostnames(listenHost: string, extra: readonly string[] = []): Set<string> {
  const names = new Set<string>(LOOPBACK_HOSTNAMES);
  // `name` or `name:port`: the port is the server's own either way.
  for (const name of extra) {
    if (name.trim() !== '') names.add(splitAuthority(name)?.hostname ?? normalizeHostname(name));
  }
  if (!WILDCARD_HOSTS.has(listenHost)) {
    names.add(normalizeHostname(listenHost));
    return names;
  }
  names.add(normalizeHostname(osHostname()));
  for (const addresses of Object.values(networkInterfaces())) {
    for (const { address } of addresses ?? []) names.add(normalizeHostname(address.replace(/%.*$/, '')));
  }
  return names;
}

/** A DNS name (letters, digits, hyphens; dot-separated) or a bracketed IPv6 / dotted IPv4 literal. */
const HOSTNAME = /^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?)$/i;

/**
 * The entries of an --allowed-hosts list that are not a host name (`*`, `*.example.com`, a URL): the
 * allowlist matches names exactly, so a pattern would match only a Host header spelled as that pattern.
 */
export function invalidAllowedHosts(names: readonly string[]): string[] {
  return names.filter((name) => {
    if (name.trim() === '') return false;
    const hostname = splitAuthority(name)?.hostname;
    return hostname === undefined || !HOSTNAME.test(hostname);
  });
}

/** `host[:port]` of a Host header or an origin's authority; undefined when it does not parse as one. */
export function splitAuthority(authority: string): { hostname: string; port?: number } | undefined {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s/@]+)(?::(\d{1,5}))?$/.exec(authority.trim());
  if (!match?.[1]) return undefined;
  return {
    hostname: normalizeHostname(match[1]),
    ...(match[2] === undefined ? {} : { port: Number(match[2]) }),
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The refusal for a request the server must not answer, or undefined. `port` is the one the front
 * listens on: an allowed origin is this server's own, by name and port.
 */
export function checkHostAndOrigin(
  request: { method: string; host: string | undefined; origin: string | undefined },
  allowed: ReadonlySet<string>,
  port: number,
): PermissionDeniedError | undefined {
  const host = request.host === undefined ? undefined : splitAuthority(request.host);
  if (!host || !allowed.has(host.hostname)) {
    return new PermissionDeniedError(
      `Host '${request.host ?? ''}' is not one this server answers to (a DNS rebinding guard). Use localhost, or start the server with --allowed-hosts naming it.`,
    );
  }
  if (SAFE_METHODS.has(request.method) || request.origin === undefined) return undefined;
  const match = /^http:\/\/(.+)$/i.exec(request.origin.trim());
  const origin = match?.[1] === undefined ? undefined : splitAuthority(match[1]);
  if (!origin || !allowed.has(origin.hostname) || (origin.port ?? 80) !== port) {
    return new PermissionDeniedError(
      `Origin '${request.origin}' may not make ${request.method} requests to this server: only pages it serves itself may.`,
    );
  }
  return undefined;
}
