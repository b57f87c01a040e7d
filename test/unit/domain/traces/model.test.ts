import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatDuration,
  parseDuration,
  type TraceInfo,
  traceInfoJson,
  validateTraceId,
} from '../../../../shared/domain/traces/model.js';
import {
  compareTraces,
  compileTraceFilter,
  isTimeOrder,
  parseTraceOrder,
  TRACE_FILTER_HINT,
} from '../../../../shared/domain/traces/search.js';

describe('trace ids', () => {
  it("takes MLflow 3's, MLflow 2's and client-chosen 'tr-' ids up to MLflow's 50 characters", () => {
    for (const id of ['tr-0123456789abcdef0123456789abcdef', '0123456789abcdef0123456789abcdef', 'tr-1234']) {
      expect(validateTraceId('trace_id', id)).toBe(id);
    }
    expect(validateTraceId('trace_id', `tr-${'A'.repeat(47)}`)).toHaveLength(50);
    for (const id of ['1234', 'tr-', `tr-${'a'.repeat(48)}`, 'tr-a/b', 'tr-..', 'tr-a#b', 'tr-a b', 'TR-1']) {
      expect(() => validateTraceId('trace_id', id), id).toThrow(/Invalid value .* for parameter 'trace_id'/);
    }
    expect(() => validateTraceId('trace_id', '')).toThrow(/Missing value for required parameter 'trace_id'/);
  });

  it('never lets through what could change a key or an S3 path (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((rest) => `tr-${rest}`),
        ),
        (id) => {
          let accepted = true;
          try {
            validateTraceId('trace_id', id);
          } catch {
            accepted = false;
          }
          if (accepted) {
            expect(id.length).toBeLessThanOrEqual(50);
            expect(id).toMatch(/^[0-9A-Za-z_-]+$/);
          }
        },
      ),
    );
  });
});

describe('trace info on the wire', () => {
  it('writes and reads durations as protobuf Duration strings', () => {
    expect(formatDuration(26)).toBe('0.026s');
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(1500)).toBe('1.500s');
    expect(parseDuration('d', '0.026s')).toBe(26);
    expect(parseDuration('d', '12s')).toBe(12_000);
    expect(parseDuration('d', '0.000001s')).toBe(0);
    expect(() => parseDuration('d', '5 minutes')).toThrow(/duration/);
  });

  it('adds the server-side tags and names a trace by its root span until the client names it', () => {
    const json = traceInfoJson(
      {
        traceId: 'tr-0123456789abcdef0123456789abcdef',
        experimentId: '3',
        requestTime: 0,
        state: 'OK',
        metadata: {},
        tags: {},
        assessments: {},
        rootSpanName: 'agent',
        infoStored: false,
      },
      { artifactLocation: 's3://bucket/3/' },
    );
    expect(json.tags).toEqual({
      'mlflow.artifactLocation': 's3://bucket/3/traces/tr-0123456789abcdef0123456789abcdef/artifacts',
      'mlflow.trace.spansLocation': 'TRACKING_STORE',
      'mlflow.traceName': 'agent',
    });
    expect(json.request_time).toBe('1970-01-01T00:00:00.000Z');
  });
});

describe('trace search grammar', () => {
  const info = {
    traceId: 'tr-0123456789abcdef0123456789abcdef',
    experimentId: '1',
    requestTime: 1000,
    durationMs: 20,
    state: 'ERROR' as const,
    metadata: { 'mlflow.sourceRun': 'r1' },
    tags: { 'mlflow.traceName': 'outer', team: 'ml' },
    assessments: {},
    infoStored: true,
  };

  it('matches attributes, tags and metadata under MLflow’s prefixes', () => {
    for (const filter of [
      "trace.status = 'ERROR'",
      "attribute.name = 'outer'",
      "tags.team LIKE 'm%'",
      "request_metadata.`mlflow.sourceRun` = 'r1'",
      "run_id = 'r1'",
      'timestamp_ms = 1000 AND trace.end_time_ms = 1020',
      "state IN ('ERROR')",
    ]) {
      expect(compileTraceFilter(filter)(info), filter).toBe(true);
    }
    expect(compileTraceFilter("tag.missing != 'x'")(info)).toBe(false);
  });

  it('refuses span, assessment and unknown clauses', () => {
    for (const filter of [
      "span.name = 'x'",
      "feedback.good = 'true'",
      "trace.prompt = 'x'",
      "tag.team > 'a'",
    ]) {
      expect(() => compileTraceFilter(filter), filter).toThrow(/Invalid filter/);
    }
  });

  it("ends filter errors with a trace filter's example, not a run filter's", () => {
    for (const filter of ["trace.status = 'OK' AND", "span.name = 'x'", "name = 'unterminated"]) {
      let message = '';
      try {
        compileTraceFilter(filter);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message, filter).toContain(TRACE_FILTER_HINT);
      expect(message, filter).not.toContain('metrics.loss');
    }
  });

  it('knows which orders the time index serves', () => {
    expect(isTimeOrder(parseTraceOrder([]))).toBe(true);
    expect(isTimeOrder(parseTraceOrder(['timestamp_ms ASC']))).toBe(true);
    expect(isTimeOrder(parseTraceOrder(['name']))).toBe(false);
    expect(isTimeOrder(parseTraceOrder(['tag.team']))).toBe(false);
  });

  it("orders by tags and metadata, refuses a field named twice, and breaks ties as MLflow's store", () => {
    expect(parseTraceOrder(['tag.team DESC', 'request_metadata.`mlflow.user`'])).toEqual([
      { kind: 'tag', key: 'team', ascending: false },
      { kind: 'metadata', key: 'mlflow.user', ascending: true },
      { kind: 'attribute', attribute: 'timestamp', ascending: false },
      { kind: 'attribute', attribute: 'request_id', ascending: true },
    ]);
    expect(() => parseTraceOrder(['name', 'trace.name DESC'])).toThrow(/duplicate fields/);
    expect(() => parseTraceOrder(['span.name'])).toThrow(/order_by/);
    const info = (traceId: string, requestTime: number, tags: Record<string, string>): TraceInfo => ({
      traceId,
      experimentId: '1',
      requestTime,
      state: 'OK',
      metadata: {},
      tags,
      assessments: {},
      infoStored: true,
      spansRecorded: true,
    });
    const traces = [
      info('a', 1, { team: 'ml' }),
      info('b', 2, {}),
      info('c', 3, { team: 'ml' }),
      info('d', 4, { team: 'data' }),
    ];
    // Nulls last in either direction; equal values newest first.
    const ids = (order: string[]) =>
      [...traces].sort(compareTraces(parseTraceOrder(order))).map((t) => t.traceId);
    expect(ids(['tag.team ASC'])).toEqual(['d', 'c', 'a', 'b']);
    expect(ids(['tag.team DESC'])).toEqual(['c', 'a', 'd', 'b']);
  });
});

describe("a trace's assessments", () => {
  it('are answered in creation order whatever order the stored map holds them in (property)', () => {
    const assessment = fc.record({
      id: fc.string({ minLength: 1, maxLength: 8 }),
      at: fc.integer({ min: 0, max: 10_000 }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(assessment, { selector: (a) => a.id, maxLength: 8 }), (all) => {
        const stored = Object.fromEntries(
          all.map(({ id, at }) => [
            `a-${id}`,
            { assessment_id: `a-${id}`, create_time: new Date(1_700_000_000_000 + at).toISOString() },
          ]),
        );
        const info: TraceInfo = {
          traceId: 'tr-0123456789abcdef0123456789abcdef',
          experimentId: '1',
          requestTime: 1000,
          state: 'OK',
          metadata: {},
          tags: {},
          assessments: stored,
          infoStored: true,
        };
        // None at all leaves the field out, as MLflow's JSON does.
        const answered = (traceInfoJson(info).assessments ?? []) as { assessment_id: string }[];
        const expected = [...all]
          .sort((a, b) => a.at - b.at || (`a-${a.id}` < `a-${b.id}` ? -1 : `a-${a.id}` > `a-${b.id}` ? 1 : 0))
          .map(({ id }) => `a-${id}`);
        expect(answered.map((a) => a.assessment_id)).toEqual(expected);
      }),
    );
  });
});
