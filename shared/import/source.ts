/**
 * The source of `cairn import`: any MLflow tracking server (MLflow's own, a managed one, another Cairn),
 * read through its REST API and artifact endpoints only, with the credentials its own clients use.
 * Transient failures (no connection, 408, 429, 5xx) are retried with backoff; what still fails is thrown
 * as a SourceError for the importer to report and skip.
 */
import { retryDelayMs } from './convert.js';

export interface SourceAuth {
  token?: string;
  username?: string;
  password?: string;
}

export interface SourceOptions {
  url: string;
  auth: SourceAuth;
  /** Attempts per request, the first included. */
  attempts?: number;
  /** Base of the exponential backoff between attempts; tests shrink it. */
  backoffMs?: number;
}

/** A request the source kept failing or refused: the importer reports it and skips what needed it. */
export class SourceError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly errorCode?: string,
  ) {
    super(message);
    this.name = 'SourceError';
  }
}

function retryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export class MlflowSource {
  private readonly base: string;
  private readonly headers: Record<string, string>;
  private readonly attempts: number;
  private readonly backoffMs: number;

  constructor(options: SourceOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.attempts = options.attempts ?? 5;
    this.backoffMs = options.backoffMs ?? 500;
    const { token, username, password } = options.auth;
    this.headers = token
      ? { authorization: `Bearer ${token}` }
      : username !== undefined && password !== undefined
        ? { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` }
        : {};
  }

  /** A response with an OK status, after retries; the body is the caller's to read. */
  async request(path: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
    const url = `${this.base}${path}`;
    let last = '';
    let lastStatus: number | undefined;
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      if (attempt > 0) await sleep(retryDelayMs(attempt, this.backoffMs));
      let response: Response;
      try {
        response = await fetch(url, {
          method: init.method ?? 'GET',
          headers: {
            ...this.headers,
            ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
        });
      } catch (error) {
        last = `cannot reach ${this.base}: ${(error as Error).cause ?? (error as Error).message}`;
        lastStatus = undefined;
        continue;
      }
      if (response.ok) return response;
      const text = await response.text().catch(() => '');
      let errorCode: string | undefined;
      try {
        errorCode = (JSON.parse(text) as { error_code?: string }).error_code;
      } catch {
        errorCode = undefined;
      }
      last = `${init.method ?? 'GET'} ${path} answered ${response.status}${errorCode ? ` ${errorCode}` : ''}`;
      if (response.status === 401 || response.status === 403) {
        last +=
          ': the source wants credentials it accepts: --token (or MLFLOW_TRACKING_TOKEN), or --username and --password (MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD)';
      }
      lastStatus = response.status;
      if (!retryable(response.status)) throw new SourceError(last, response.status, errorCode);
    }
    throw new SourceError(`${last} (after ${this.attempts} attempts)`, lastStatus);
  }

  async json<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
    const response = await this.request(path, init);
    const text = await response.text();
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** Every page of a paged listing: `fetchPage` gets the page token (undefined first). */
  async paged<T>(
    fetchPage: (token: string | undefined) => Promise<{ items: T[] | undefined; next?: string }>,
  ): Promise<T[]> {
    const all: T[] = [];
    let token: string | undefined;
    do {
      const page = await fetchPage(token);
      all.push(...(page.items ?? []));
      token = page.next || undefined;
    } while (token);
    return all;
  }
}

export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) search.set(key, String(value));
  return search.toString();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
