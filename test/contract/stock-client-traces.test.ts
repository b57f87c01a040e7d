/**
 * Replays the stock MLflow 3.11 client's tracing traffic (test/contract/tools/stock-client-traces.py, recorded
 * against MLflow's own server by tools/recording-proxy.py into test/fixtures/stock-client-traces.json):
 * `@mlflow.trace` outside and inside a run, nested `start_span` with events and trace tags, an exception,
 * a manual span, a 2 MB input, `search_traces` by status, name, tag, time and run with paging,
 * `get_trace`, tag set/delete, `log_feedback`/`log_expectation`, and `delete_traces` by ids and by age.
 *
 * Requests go out as the client sent them (OTLP protobuf included), in order; each answer must have MLflow's
 * status and, for trace endpoints, MLflow's answer: the same traces, spans, tags, metadata and assessments.
 * Only what a server mints differs: run ids and page tokens (substituted from this server's answers) and
 * assessment ids; protobuf JSON allows int64 as numbers or strings and omits empty lists.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STOCK_CLIENT_HEADERS } from '../fixtures/stock-client-experiments.js';
import { Api } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface Exchange {
  step: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  status: number;
  body?: string;
  body_gzip_base64?: string;
  response?: unknown;
  response_text?: string;
}

const BIG_MARKER = '{{2MB x}}';
const BIG = 'x'.repeat(2 * 1024 * 1024);
const EXCHANGES = JSON.parse(
  readFileSync(new URL('../fixtures/stock-client-traces.json', import.meta.url), 'utf8'),
) as Exchange[];

let server: TestServer;
let api: Api;

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
});
afterAll(async () => {
  await server?.close();
});

/** Where `got` differs from MLflow's `reference` answer, as paths; empty when equivalent. */
function differences(reference: unknown, got: unknown, path = ''): string[] {
  if (typeof reference === 'number' && typeof got === 'string' && /^-?\d+$/.test(got)) {
    // int64 as a JSON string (protobuf JSON); the reference's number was parsed as a double, so is this.
    return Number(got) === reference ? [] : [`${path}: ${reference} ≠ ${got}`];
  }
  if (typeof got === 'string' && got === BIG) got = BIG_MARKER;
  if (reference === null || typeof reference !== 'object' || got === null || typeof got !== 'object') {
    return Object.is(reference, got)
      ? []
      : [`${path}: ${JSON.stringify(reference)} ≠ ${JSON.stringify(got)?.slice(0, 200)}`];
  }
  if (Array.isArray(reference) !== Array.isArray(got)) return [`${path}: list vs object`];
  if (Array.isArray(reference)) {
    const list = got as unknown[];
    if (reference.length !== list.length) return [`${path}: ${reference.length} items ≠ ${list.length}`];
    return reference.flatMap((item, index) => differences(item, list[index], `${path}[${index}]`));
  }
  const want = reference as Record<string, unknown>;
  const have = got as Record<string, unknown>;
  const out: string[] = [];
  for (const key of new Set([...Object.keys(want), ...Object.keys(have)])) {
    const at = `${path}.${key}`;
    if (key === 'assessment_id') {
      expect(have[key]).toMatch(/^a-[0-9a-f]{32}$/);
    } else if (key === 'next_page_token') {
      if ((want[key] === undefined) !== (have[key] === undefined)) out.push(`${at}: presence differs`);
    } else if (!(key in have)) {
      out.push(`${at}: missing`);
    } else if (!(key in want)) {
      // Empty repeated fields (omitted by MLflow's JSON) and start_trace's metadata (MLflow answers the
      // info without it) are the only extras the client's parser meets.
      const emptyList = Array.isArray(have[key]) && (have[key] as unknown[]).length === 0;
      if (!emptyList && key !== 'trace_metadata') out.push(`${at}: unexpected`);
    } else {
      out.push(...differences(want[key], have[key], at));
    }
  }
  return out;
}

describe('the stock client tracing script, replayed', () => {
  it('gets the answers MLflow’s server gave, request by request', async () => {
    const substitutions = new Map<string, string>();
    let recordedToken: string | undefined;
    const substitute = (text: string) => {
      let out = text;
      for (const [from, to] of substitutions) out = out.split(from).join(to);
      return out;
    };
    for (const exchange of EXCHANGES) {
      const what = `${exchange.step}: ${exchange.method} ${exchange.path.slice(0, 100)}`;
      const body =
        exchange.body_gzip_base64 !== undefined
          ? gunzipSync(Buffer.from(exchange.body_gzip_base64, 'base64'))
          : exchange.body !== undefined
            ? substitute(exchange.body)
            : undefined;
      const response = await api.request(exchange.method, substitute(exchange.path), {
        headers: { ...STOCK_CLIENT_HEADERS, ...exchange.headers },
        ...(body !== undefined ? { body } : {}),
      });
      expect(response.status, what).toBe(exchange.status);

      const reference = exchange.response as Record<string, unknown> | undefined;
      // Server-minted values this replay must carry forward: the run's id and the search's page token.
      if (exchange.path === '/api/2.0/mlflow/runs/create' && reference) {
        const recorded = (reference.run as { info: { run_id: string } }).info.run_id;
        substitutions.set(recorded, (response.body.run as { info: { run_id: string } }).info.run_id);
      }
      if (typeof reference?.next_page_token === 'string') {
        recordedToken = reference.next_page_token;
        substitutions.set(recordedToken, response.body.next_page_token as string);
      }
      if (!exchange.path.includes('/traces')) continue;
      if (exchange.response_text !== undefined || reference === undefined) {
        expect(response.text, what).toBe(exchange.response_text ?? '');
        continue;
      }
      const expected = JSON.parse(substitute(JSON.stringify(reference)));
      expect(differences(expected, response.body), what).toEqual([]);
    }
    expect(recordedToken).toBeDefined();
  });
});
