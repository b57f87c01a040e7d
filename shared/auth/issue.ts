/** Creating a token: the secret is generated here, returned once, and only its hash is stored. */
import type { TokenRecord, TokenRepository } from '../store/tokens/repository.js';
import type { Scope } from './scopes.js';
import { formatToken, generateSecret, hashSecret, isValidTokenName, TOKEN_NAME_RULE } from './token.js';

const DAY_MS = 86_400_000;
/** Ten years: a bound that catches a typo (days taken for seconds) without getting in anyone's way. */
export const MAX_EXPIRY_DAYS = 3650;

export class InvalidTokenRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidTokenRequestError';
  }
}

export interface IssueRequest {
  name: string;
  scope: Scope;
  /** Whole days from now; none = never expires. */
  expiresInDays?: number;
}

export interface IssuedToken {
  record: Omit<TokenRecord, 'secretHash'>;
  /** `cairn_<name>_<secret>`: what MLFLOW_TRACKING_TOKEN takes. */
  token: string;
  /** The bare secret: what MLFLOW_TRACKING_PASSWORD takes (with the name as MLFLOW_TRACKING_USERNAME). */
  secret: string;
}

export function validateIssueRequest(request: IssueRequest): void {
  if (!isValidTokenName(request.name)) {
    throw new InvalidTokenRequestError(`Invalid token name '${request.name}': use ${TOKEN_NAME_RULE}.`);
  }
  const days = request.expiresInDays;
  if (days !== undefined && (!Number.isInteger(days) || days < 1 || days > MAX_EXPIRY_DAYS)) {
    throw new InvalidTokenRequestError(
      `Expiry must be a whole number of days from 1 to ${MAX_EXPIRY_DAYS}, not '${days}'.`,
    );
  }
}

export async function issueToken(
  tokens: Pick<TokenRepository, 'create'>,
  request: IssueRequest,
  now: number = Date.now(),
): Promise<IssuedToken> {
  validateIssueRequest(request);
  const secret = generateSecret();
  const record: TokenRecord = {
    name: request.name,
    scope: request.scope,
    created: now,
    secretHash: hashSecret(secret),
    ...(request.expiresInDays === undefined ? {} : { expires: now + request.expiresInDays * DAY_MS }),
  };
  await tokens.create(record);
  const { secretHash: _hash, ...shown } = record;
  return { record: shown, token: formatToken({ name: request.name, secret }), secret };
}
