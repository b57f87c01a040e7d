/**
 * link-to-run over HTTP on the local server, as MLflow's `test_link_traces_to_run_and_search_traces`
 * drives it: the stock client links a trace to its run before its asynchronous export has arrived, and the
 * link must still hold once the trace lands. A link-only item is no trace to any reader; a trace already
 * here is linked as before. With `--auth`: traces-link-auth.test.ts (a process serves one local server).
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../shared/store/keys.js';
import { Api } from '../helpers/http.js';
import { newTraceHex } from '../helpers/otlp.js';
import { serverTable, startTestServer, type TestServer } from '../helpers/server.js';
import { Caller, sourceRunOf, V2, V3 } from '../helpers/trace-caller.js';

describe('auth off', () => {
  let server: TestServer;
  let client: Caller;

  beforeAll(async () => {
    server = await startTestServer();
    client = new Caller(new Api(server.url));
  });
  afterAll(async () => {
    await server?.close();
  });

  it('keeps a link made before the trace arrives: search by run_id finds it, get shows the run', async () => {
    const experimentId = await client.experiment('link-early');
    const runId = await client.run(experimentId);
    const [spansFirst, infoOnly] = [newTraceHex(), newTraceHex()];
    const linked = await client.link([`tr-${spansFirst}`, `tr-${infoOnly}`], runId);
    expect(linked.status, linked.text).toBe(200);
    expect(linked.body).toEqual({});

    // As the client exports: spans over OTLP, then the info (which sets metadata whole); or the info alone.
    await client.exportSpans(experimentId, spansFirst, 1_800_100_000_000);
    const stored = await client.startTrace(experimentId, spansFirst, 1_800_100_000_000, { user: 'me' });
    expect(stored.trace_metadata).toMatchObject({ 'mlflow.sourceRun': runId, user: 'me' });
    await client.startTrace(experimentId, infoOnly, 1_800_100_001_000);

    const found = await client.search(experimentId, `trace.run_id = '${runId}'`);
    expect(found.map((trace) => trace.trace_id).sort()).toEqual(
      [`tr-${spansFirst}`, `tr-${infoOnly}`].sort(),
    );
    expect(await sourceRunOf(client, `tr-${spansFirst}`)).toBe(runId);
    expect(await sourceRunOf(client, `tr-${infoOnly}`)).toBe(runId);
    expect(await client.search(experimentId, `trace.run_id = '${'0'.repeat(32)}'`)).toEqual([]);
  });

  it('a link-only item is no trace: get, batch get, tags and search do not see it; it expires', async () => {
    const experimentId = await client.experiment('link-only');
    const runId = await client.run(experimentId);
    const traceId = `tr-${newTraceHex()}`;
    expect((await client.link([traceId], runId)).status).toBe(200);

    expect((await client.info(traceId)).status).toBe(404);
    expect((await client.request('GET', `${V3}/traces/get?trace_id=${traceId}`)).status).toBe(404);
    const batch = await client.request<{ traces: unknown[] }>(
      'GET',
      `${V3}/traces/batchGet?trace_ids=${traceId}`,
    );
    expect(batch.status).toBe(200);
    expect(batch.body.traces).toEqual([]);
    const tagged = await client.request('PATCH', `${V2}/traces/${traceId}/tags`, { key: 'k', value: 'v' });
    expect(tagged.status).toBe(404);
    expect(await client.search(experimentId, `trace.run_id = '${runId}'`)).toEqual([]);
    // Deleting by id finds nothing to delete in the experiment.
    const deleted = await client.request('POST', `${V2}/traces/delete-traces`, {
      experiment_id: experimentId,
      request_ids: [traceId],
    });
    expect(deleted.body).toEqual({ traces_deleted: 0 });

    // The item carries the table's TTL, so a trace that never comes does not leave it behind for good.
    const table = serverTable(server);
    try {
      const { Item } = await table.doc.send(
        new GetCommand({ TableName: table.tableName, Key: keys.trace(traceId) }),
      );
      expect(Item).toMatchObject({ linked_run: runId });
      expect(Item?.experiment_id).toBeUndefined();
      expect(Item?.expires_at).toBeGreaterThan(Date.now() / 1000);
    } finally {
      table.destroy();
    }
  });

  it('a linked trace may arrive in any experiment, and a later link replaces the earlier', async () => {
    const first = await client.experiment('link-any-a');
    const other = await client.experiment('link-any-b');
    const runA = await client.run(first);
    const runB = await client.run(first);
    const traceHex = newTraceHex();
    expect((await client.link([`tr-${traceHex}`], runA)).status).toBe(200);
    await client.exportSpans(other, traceHex, 1_800_100_002_000);
    expect((await client.search(other, `trace.run_id = '${runA}'`)).map((t) => t.trace_id)).toEqual([
      `tr-${traceHex}`,
    ]);
    expect((await client.link([`tr-${traceHex}`], runB)).status).toBe(200);
    expect(await client.search(other, `trace.run_id = '${runA}'`)).toEqual([]);
    expect(await sourceRunOf(client, `tr-${traceHex}`)).toBe(runB);
  });

  it('links a trace already here as before, and refuses bad input without writing', async () => {
    const experimentId = await client.experiment('link-present');
    const runId = await client.run(experimentId);
    const traceHex = newTraceHex();
    await client.exportSpans(experimentId, traceHex, 1_800_100_003_000);
    await client.startTrace(experimentId, traceHex, 1_800_100_003_000);
    const traceId = `tr-${traceHex}`;
    expect(await sourceRunOf(client, traceId)).toBeUndefined();
    expect((await client.link([traceId], runId)).status).toBe(200);
    expect((await client.search(experimentId, `trace.run_id = '${runId}'`)).map((t) => t.trace_id)).toEqual([
      traceId,
    ]);
    expect(await sourceRunOf(client, traceId)).toBe(runId);

    const later = `tr-${newTraceHex()}`;
    const unknownRun = await client.link([later], 'f'.repeat(32));
    expect(unknownRun.status).toBe(404);
    expect(unknownRun.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    for (const [traceIds, run, field] of [
      [['not a trace id'], runId, 'trace_ids'],
      [[], runId, 'trace_ids'],
      [Array.from({ length: 101 }, () => `tr-${newTraceHex()}`), runId, 'trace_ids'],
      [[later], undefined, 'run_id'],
    ] as const) {
      const refused = await client.link(traceIds, run);
      expect(refused.status, refused.text).toBe(400);
      expect(refused.body.error_code).toBe('INVALID_PARAMETER_VALUE');
      expect(refused.body.message).toContain(field);
    }
    // None of those left a link for `later` to find when it arrives.
    await client.startTrace(experimentId, later.slice(3), 1_800_100_004_000);
    expect(await sourceRunOf(client, later)).toBeUndefined();
  });
});
