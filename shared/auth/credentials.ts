/**
 * Reads a token's name and secret from an `Authorization` header, in the two forms the stock MLflow client
 * sends: `Bearer <token>` (MLFLOW_TRACKING_TOKEN) and `Basic base64(<username>:<password>)`
 * (MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD), where the username is the token's name and the
 * password is either its bare secret or the whole token. Anything else reads as no credentials.
 */
import { isValidTokenName, isWellFormedSecret, parseToken, type TokenCredentials } from './token.js';

/** Far above any well-formed header (a token is ~120 characters); longer ones are not even decoded. */
const MAX_HEADER_LENGTH = 1024;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function credentialsFromAuthorization(header: string | undefined): TokenCredentials | undefined {
  if (header === undefined || header.length > MAX_HEADER_LENGTH) return undefined;
  const match = /^\s*([A-Za-z]+)\s+(\S+)\s*$/.exec(header);
  if (!match) return undefined;
  const scheme = (match[1] as string).toLowerCase();
  const param = match[2] as string;
  if (scheme === 'bearer') return parseToken(param);
  if (scheme === 'basic') return fromBasic(param);
  return undefined;
}

function fromBasic(encoded: string): TokenCredentials | undefined {
  if (!BASE64.test(encoded) || encoded.length % 4 !== 0) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  const name = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  if (!isValidTokenName(name)) return undefined;
  const token = parseToken(password);
  if (token) return token.name === name ? token : undefined;
  return isWellFormedSecret(password) ? { name, secret: password } : undefined;
}

/** The header value a client sends for these credentials as username and password (tests, docs). */
export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}
