/**
 * Seeds traces through the real API as MLflow's client sends them: spans over OTLP/HTTP (JSON encoding,
 * with the experiment header), then the client's trace info (`POST /api/3.0/mlflow/traces`), tags and an
 * assessment. One agent trace with nested spans, one that raised, one with a 2 MB input, one still in
 * progress (spans only), one with many spans, and enough plain ones to need a second page.
 */
import { randomBytes } from 'node:crypto';
import { Client } from './seed.js';

export interface SeedSpan {
  spanHex: string;
  parentHex?: string;
  name: string;
  startMs: number;
  endMs?: number;
  attributes?: Record<string, string>;
  error?: { type: string; message: string };
}

export interface SeededTraces {
  experimentId: string;
  runId: string;
  runName: string;
  /** Agent trace: root → retrieve → embed (inputs carry `embedInput`), root → generate. */
  agent: { traceId: string; embedSpanHex: string; embedInput: string };
  failing: { traceId: string; errorType: string; errorMessage: string };
  big: { traceId: string; inputBytes: number };
  running: { traceId: string };
  /** A root with `options.wide` children. */
  wide: { traceId: string; spans: number };
  /** How many traces the experiment holds in all. */
  total: number;
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const nanos = (ms: number) => String(BigInt(Math.round(ms * 1000)) * 1000n);
const json = (value: unknown) => JSON.stringify(value);

function otlpBody(traceHex: string, spans: readonly SeedSpan[]): string {
  return json({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'agent' } }] },
        scopeSpans: [
          {
            scope: { name: 'mlflow.tracing' },
            spans: spans.map((span) => ({
              traceId: traceHex,
              spanId: span.spanHex,
              ...(span.parentHex ? { parentSpanId: span.parentHex } : {}),
              name: span.name,
              kind: 1,
              startTimeUnixNano: nanos(span.startMs),
              ...(span.endMs === undefined ? {} : { endTimeUnixNano: nanos(span.endMs) }),
              attributes: Object.entries({
                'mlflow.traceRequestId': json(`tr-${traceHex}`),
                ...span.attributes,
              }).map(([key, value]) => ({ key, value: { stringValue: value } })),
              ...(span.error
                ? {
                    events: [
                      {
                        name: 'exception',
                        timeUnixNano: nanos(span.endMs ?? span.startMs),
                        attributes: [
                          { key: 'exception.type', value: { stringValue: span.error.type } },
                          { key: 'exception.message', value: { stringValue: span.error.message } },
                          {
                            key: 'exception.stacktrace',
                            value: {
                              stringValue: `Traceback (most recent call last):\n  ${span.error.type}`,
                            },
                          },
                        ],
                      },
                    ],
                    status: { code: 2, message: `${span.error.type}: ${span.error.message}` },
                  }
                : span.endMs === undefined
                  ? {}
                  : { status: { code: 1 } }),
            })),
          },
        ],
      },
    ],
  });
}

async function exportSpans(client: Client, experimentId: string, traceHex: string, spans: SeedSpan[]) {
  const response = await fetch(`${client.baseUrl}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mlflow-experiment-id': experimentId },
    body: otlpBody(traceHex, spans),
  });
  if (!response.ok) throw new Error(`POST /v1/traces: ${response.status} ${await response.text()}`);
}

async function traced(
  client: Client,
  experimentId: string,
  spans: SeedSpan[],
  info: {
    traceHex: string;
    state: 'OK' | 'ERROR';
    tags?: Record<string, string>;
    metadata?: Record<string, string>;
    request?: string;
    response?: string;
  },
): Promise<string> {
  await exportSpans(client, experimentId, info.traceHex, spans);
  const root = spans[0] as SeedSpan;
  const traceId = `tr-${info.traceHex}`;
  await client.call('POST', '/api/3.0/mlflow/traces', {
    trace: {
      trace_info: {
        trace_id: traceId,
        trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } },
        request_time: new Date(root.startMs).toISOString(),
        execution_duration: `${((root.endMs ?? root.startMs) - root.startMs) / 1000}s`,
        state: info.state,
        trace_metadata: { 'mlflow.trace_schema.version': '3', ...info.metadata },
        tags: { 'mlflow.traceName': root.name, ...info.tags },
        ...(info.request ? { request_preview: info.request } : {}),
        ...(info.response ? { response_preview: info.response } : {}),
      },
    },
  });
  return traceId;
}

export async function seedTraces(
  baseUrl: string,
  options: { plain?: number; wide?: number } = {},
): Promise<SeededTraces> {
  const client = new Client(baseUrl);
  const { experiment_id: experimentId } = await client.mlflow<{ experiment_id: string }>(
    'experiments/create',
    { name: 'support-agent' },
  );
  const runName = 'eval-run';
  const runId = (
    await client.mlflow<{ run: { info: { run_id: string } } }>('runs/create', {
      experiment_id: experimentId,
      run_name: runName,
      start_time: Date.now() - 600_000,
    })
  ).run.info.run_id;

  // Plain traces, oldest first, all older than the named ones below so those lead the list.
  const base = Date.now() - 3_600_000;
  const plain = options.plain ?? 0;
  for (let i = 0; i < plain; i++) {
    const traceHex = hex(16);
    await traced(
      client,
      experimentId,
      [
        {
          spanHex: hex(8),
          name: `lookup_${i}`,
          startMs: base + i * 1000,
          endMs: base + i * 1000 + 5 + i,
          attributes: { 'mlflow.spanInputs': json({ i }), 'mlflow.spanOutputs': json(i * 2) },
        },
      ],
      { traceHex, state: 'OK', tags: { batch: 'nightly' } },
    );
  }

  const t0 = Date.now() - 60_000;
  // The agent trace: four spans in three levels, inside the run, tagged, with an assessment.
  const agentHex = hex(16);
  const rootHex = hex(8);
  const retrieveHex = hex(8);
  const embedHex = hex(8);
  const embedInput = 'how do I reset my password';
  const agentTraceId = await traced(
    client,
    experimentId,
    [
      {
        spanHex: rootHex,
        name: 'answer_question',
        startMs: t0,
        endMs: t0 + 1200,
        attributes: {
          'mlflow.spanType': json('AGENT'),
          'mlflow.spanInputs': json({ question: 'Password reset?' }),
          'mlflow.spanOutputs': json({ answer: 'Use the reset link.' }),
        },
      },
      {
        spanHex: retrieveHex,
        parentHex: rootHex,
        name: 'retrieve_docs',
        startMs: t0 + 10,
        endMs: t0 + 300,
        attributes: { 'mlflow.spanType': json('RETRIEVER'), 'mlflow.spanInputs': json({ k: 3 }) },
      },
      {
        spanHex: embedHex,
        parentHex: retrieveHex,
        name: 'embed_query',
        startMs: t0 + 20,
        endMs: t0 + 80,
        attributes: {
          'mlflow.spanType': json('EMBEDDING'),
          'mlflow.spanInputs': json({ text: embedInput, model: 'text-embed-3' }),
          'mlflow.spanOutputs': json([0.12, -0.4, 0.33]),
          'embedding.dimensions': '3',
        },
      },
      {
        spanHex: hex(8),
        parentHex: rootHex,
        name: 'generate_answer',
        startMs: t0 + 310,
        endMs: t0 + 1190,
        attributes: {
          'mlflow.spanType': json('LLM'),
          'mlflow.spanInputs': json({ messages: [{ role: 'user', content: 'Password reset?' }] }),
        },
      },
    ],
    {
      traceHex: agentHex,
      state: 'OK',
      tags: { env: 'prod', customer: 'acme' },
      metadata: { 'mlflow.sourceRun': runId },
      request: json({ question: 'Password reset?' }),
      response: json({ answer: 'Use the reset link.' }),
    },
  );
  await client.call('POST', `/api/3.0/mlflow/traces/${agentTraceId}/assessments`, {
    assessment: {
      assessment_name: 'helpful',
      trace_id: agentTraceId,
      source: { source_type: 'HUMAN', source_id: 'reviewer@example.com' },
      feedback: { value: true },
      rationale: 'Answered with the right link.',
    },
  });

  // A traced function that raised: root and child both ERROR, the child with the exception event.
  const failingHex = hex(16);
  const failingRoot = hex(8);
  const errorType = 'ConnectionError';
  const errorMessage = 'billing service unreachable after 3 retries';
  const failingTraceId = await traced(
    client,
    experimentId,
    [
      {
        spanHex: failingRoot,
        name: 'refund_order',
        startMs: t0 + 5000,
        endMs: t0 + 5400,
        error: { type: errorType, message: errorMessage },
        attributes: { 'mlflow.spanInputs': json({ order: 'A-17' }) },
      },
      {
        spanHex: hex(8),
        parentHex: failingRoot,
        name: 'call_billing',
        startMs: t0 + 5010,
        endMs: t0 + 5390,
        error: { type: errorType, message: errorMessage },
        attributes: { 'mlflow.spanType': json('TOOL') },
      },
    ],
    { traceHex: failingHex, state: 'ERROR', tags: { env: 'dev' } },
  );

  // A 2 MB input on one span, as issue 14 asks to round-trip.
  const bigHex = hex(16);
  const bigInput = json({ document: 'lorem ipsum '.repeat(180_000) });
  const bigTraceId = await traced(
    client,
    experimentId,
    [
      {
        spanHex: hex(8),
        name: 'summarize_document',
        startMs: t0 + 8000,
        endMs: t0 + 9500,
        attributes: { 'mlflow.spanType': json('LLM'), 'mlflow.spanInputs': bigInput },
      },
    ],
    { traceHex: bigHex, state: 'OK', tags: { env: 'prod' } },
  );

  // A wide trace: a root over many child spans (a batch job, an agent's many tool calls).
  const wideHex = hex(16);
  const wideRoot = hex(8);
  const wideCount = options.wide ?? 0;
  const wideSpans: SeedSpan[] = [
    { spanHex: wideRoot, name: 'batch_pipeline', startMs: t0 - 30_000, endMs: t0 - 30_000 + wideCount + 10 },
  ];
  for (let i = 0; i < wideCount; i++) {
    wideSpans.push({
      spanHex: hex(8),
      parentHex: wideRoot,
      name: `step_${String(i).padStart(4, '0')}`,
      startMs: t0 - 30_000 + 5 + i,
      endMs: t0 - 30_000 + 5 + i + 1,
      attributes: { 'mlflow.spanInputs': json({ i }) },
    });
  }
  const wideTraceId = await traced(client, experimentId, wideSpans, { traceHex: wideHex, state: 'OK' });

  // Spans exported, no end and no client info yet: the trace is still in progress.
  const runningHex = hex(16);
  await exportSpans(client, experimentId, runningHex, [
    { spanHex: hex(8), name: 'long_job', startMs: t0 + 10_000 },
  ]);

  return {
    experimentId,
    runId,
    runName,
    agent: { traceId: agentTraceId, embedSpanHex: embedHex, embedInput },
    failing: { traceId: failingTraceId, errorType, errorMessage },
    big: { traceId: bigTraceId, inputBytes: bigInput.length },
    running: { traceId: `tr-${runningHex}` },
    wide: { traceId: wideTraceId, spans: wideCount + 1 },
    total: plain + 5,
  };
}
