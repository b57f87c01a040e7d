/** A tiny MLflow REST client for tests: real HTTP, JSON in and out, status kept for assertions. */

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export class Api {
  constructor(readonly baseUrl: string) {}

  async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    options: { json?: unknown; body?: string | Uint8Array; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    let body = options.body;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${this.baseUrl}${path}`, { method, headers, body, redirect: 'manual' });
    const text = await response.text();
    let parsed: unknown = {};
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = { raw: text };
    }
    return { status: response.status, headers: response.headers, body: parsed as T, text };
  }

  /** POST to an MLflow 2.0 endpoint, e.g. `post('experiments/create', {...})`. */
  post<T = Record<string, unknown>>(endpoint: string, json: unknown): Promise<ApiResponse<T>> {
    return this.request<T>('POST', `/api/2.0/mlflow/${endpoint}`, { json });
  }

  /** GET an MLflow 2.0 endpoint with query fields (arrays become repeated parameters). */
  get<T = Record<string, unknown>>(
    endpoint: string,
    query: Record<string, string | number | string[]> = {},
  ): Promise<ApiResponse<T>> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      for (const item of Array.isArray(value) ? value : [value]) params.append(key, String(item));
    }
    const qs = params.toString();
    return this.request<T>('GET', `/api/2.0/mlflow/${endpoint}${qs ? `?${qs}` : ''}`);
  }
}

/**
 * A request whose path goes out exactly as written: fetch (WHATWG URL) would resolve `.` and `..`
 * segments before sending, hiding the very paths a traversal test must send.
 */
export async function rawRequest(
  baseUrl: string,
  method: string,
  path: string,
  options: { json?: unknown; body?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const { request } = await import('node:http');
  const url = new URL(baseUrl);
  const body = options.json !== undefined ? JSON.stringify(options.json) : options.body;
  const headers: Record<string, string> = {
    ...(options.json !== undefined ? { 'content-type': 'application/json' } : {}),
    ...options.headers,
    ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = {};
        try {
          parsed = text ? JSON.parse(text) : {};
        } catch {
          parsed = { raw: text };
        }
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (typeof value === 'string') responseHeaders.set(name, value);
        }
        resolve({
          status: res.statusCode ?? 0,
          headers: responseHeaders,
          body: parsed as Record<string, unknown>,
          text,
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
