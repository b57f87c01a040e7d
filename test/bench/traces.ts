/**
 * Trace costs (issue 14's budget): DynamoDB calls per traced call (the OTLP export of its root span, then the
 * client's trace info), and what searching the newest 100 traces of an experiment with N traces reads. Drives
 * the trace service directly over one metered client on dynalite; span payloads go to an in-memory store
 * (one object write per trace and batch, not DynamoDB). `BENCH_TRACES` sets N (default 100,000).
 *
 *   npx tsx test/bench/traces.ts
 */
import { startDynalite } from '../../local/stand-ins.js';
import type { OtelSpan } from '../../shared/domain/traces/otlp.js';
import { type SpanStore, TraceService } from '../../shared/domain/traces/service.js';
import { putBatch } from '../../shared/store/doc-commands.js';
import { keys, TIME_TO_LIVE_ATTRIBUTE } from '../../shared/store/keys.js';
import { DynamoTraceRepository } from '../../shared/store/traces/repository.js';
import { newSpanHex, newTraceHex, otlpProtobuf } from '../helpers/otlp.js';
import { services } from './stores.js';

const N = Number(process.env.BENCH_TRACES ?? 100_000);

class MemorySpans implements SpanStore {
  puts = 0;
  private readonly byTrace = new Map<string, OtelSpan[]>();
  async put(_experimentId: string, traceId: string, spans: readonly OtelSpan[]) {
    this.puts++;
    this.byTrace.set(traceId, [...(this.byTrace.get(traceId) ?? []), ...spans]);
  }
  async list(_experimentId: string, traceId: string) {
    return this.byTrace.get(traceId) ?? [];
  }
  async deleteTrace(traceId: string) {
    this.byTrace.delete(traceId);
  }
  async putTraceData() {}
  async getTraceData() {
    return undefined;
  }
}

async function main() {
  const lite = await startDynalite(undefined);
  try {
    const { doc, meter, experiments, tableName } = await services(lite.endpoint, 'bench-traces');
    const cache = new Map<string, string>();
    const spans = new MemorySpans();
    const traces = new TraceService({
      traces: new DynamoTraceRepository(doc, tableName),
      spans,
      experimentArtifactLocation: async (id) => {
        const hit = cache.get(id);
        if (hit !== undefined) return hit;
        const location = (await experiments.get(id)).artifactLocation;
        cache.set(id, location);
        return location;
      },
      // As functions/traces/handler.ts: writes read the experiment now (is it still active?).
      activeExperimentArtifactLocation: async (id) => {
        const location = (await experiments.get(id)).artifactLocation;
        cache.set(id, location);
        return location;
      },
      runExperiment: async () => '0',
      retentionDays: 30,
    });
    const experimentId = await experiments.create({ name: 'bench-traces', tags: [] });

    const tracedCall = async (startMs: number) => {
      const traceHex = newTraceHex();
      const body = otlpProtobuf([
        { traceHex, spanHex: newSpanHex(), name: 'f', startMs, endMs: startMs + 5 },
      ]);
      await traces.exportSpans(experimentId, body, 'application/x-protobuf', undefined);
      await traces.startTrace({
        trace: {
          trace_info: {
            trace_id: `tr-${traceHex}`,
            trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } },
            request_time: new Date(startMs).toISOString(),
            execution_duration: '0.005s',
            state: 'OK',
            trace_metadata: {},
            tags: { 'mlflow.traceName': 'f' },
          },
        },
      });
    };
    cache.clear();
    meter.reset();
    await tracedCall(Date.now());
    const cold = meter.snapshot();
    const coldOperations = [...meter.byOperation].map(([name, count]) => `${count} ${name}`).join(', ');
    meter.reset();
    await tracedCall(Date.now());
    const warm = meter.snapshot();
    console.log('One @mlflow.trace call (OTLP export of its span, then start_trace):');
    console.log(`  first in a container: ${cold.calls} DynamoDB calls (${coldOperations})`);
    console.log(
      `  afterwards:           ${warm.calls} DynamoDB calls (${[...meter.byOperation].map(([name, count]) => `${count} ${name}`).join(', ')}); 1 span object write`,
    );

    console.log(`\nSeeding ${N} traces (1% ERROR) ...`);
    const base = Date.UTC(2026, 0, 1);
    const expiresAt = Math.floor(Date.now() / 1000) + 86_400;
    for (let start = 0; start < N; start += 25 * 40) {
      const calls: Promise<void>[] = [];
      for (let chunk = start; chunk < Math.min(N, start + 25 * 40); chunk += 25) {
        const items = [];
        for (let i = chunk; i < Math.min(N, chunk + 25); i++) {
          const traceId = `tr-${newTraceHex()}`;
          items.push({
            ...keys.trace(traceId),
            ...keys.traceListing(experimentId, base + i * 1000, traceId),
            trace_id: traceId,
            experiment_id: experimentId,
            request_time: base + i * 1000,
            duration_ms: 5,
            state: i % 100 === 0 ? 'ERROR' : 'OK',
            tags: { 't:mlflow.traceName': 'f' },
            metadata: {},
            assessments: {},
            info: true,
            [TIME_TO_LIVE_ATTRIBUTE]: expiresAt,
          });
        }
        calls.push(putBatch(doc, tableName, items));
      }
      await Promise.all(calls);
    }
    for (const [label, filter] of [
      ['newest 100', undefined],
      ['newest 100 with trace.status = ERROR (1% match)', "trace.status = 'ERROR'"],
    ] as const) {
      meter.reset();
      const started = performance.now();
      const page = (await traces.search({
        locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } }],
        max_results: 100,
        ...(filter ? { filter } : {}),
      })) as { traces: unknown[]; next_page_token?: string };
      const ms = performance.now() - started;
      const { calls, itemsRead } = meter.snapshot();
      console.log(
        `Search ${label} of ${N + 2}: ${page.traces.length} traces, ${calls} DynamoDB calls, ${itemsRead} items read, ${ms.toFixed(0)} ms (dynalite)`,
      );
    }
  } finally {
    await lite.close();
  }
}

await main();
