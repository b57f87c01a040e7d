/**
 * link-to-run's checks when a trace arrives between the check and the link (a race the HTTP tests cannot
 * time), over an in-memory repository holding what the table would; and how an item's link reads.
 */
import { describe, expect, it } from 'vitest';
import type { TraceInfo } from '../../../../shared/domain/traces/model.js';
import { type TraceRepository, TraceService } from '../../../../shared/domain/traces/service.js';
import { PermissionDeniedError } from '../../../../shared/errors.js';
import { toStoredMap } from '../../../../shared/store/items.js';
import { type TraceItem, toTraceInfo } from '../../../../shared/store/traces/repository.js';

const TRACE = `tr-${'ab'.repeat(16)}`;

function info(experimentId: string): TraceInfo {
  return {
    traceId: TRACE,
    experimentId,
    requestTime: 1,
    state: 'OK',
    metadata: {},
    tags: {},
    assessments: {},
    infoStored: true,
    spansRecorded: true,
  };
}

/** The trace, absent when first read, arrives in `arrivesIn` just before the first link is written. */
function racingRepository(arrivesIn: string) {
  let present: string | undefined;
  const links: { runId: string; expected?: { experimentId: string | undefined } }[] = [];
  const repository = {
    batchGet: async () => [],
    get: async () => (present === undefined ? undefined : info(present)),
    linkRun: async (
      _traceId: string,
      runId: string,
      _expiresAt: number,
      expected?: { experimentId: string | undefined },
    ) => {
      present ??= arrivesIn;
      if (expected && expected.experimentId !== present) return false;
      links.push({ runId, ...(expected ? { expected } : {}) });
      return true;
    },
  } as unknown as TraceRepository;
  return { repository, links };
}

function service(traces: TraceRepository): TraceService {
  return new TraceService({
    traces,
    spans: {} as never,
    experimentArtifactLocation: async () => '',
    activeExperimentArtifactLocation: async () => '',
    runExperiment: async () => 'run-experiment',
    retentionDays: 1,
  });
}

function mayEditOnly(allowed: readonly string[]) {
  const checked: string[] = [];
  const mayEdit = (_kind: 'experiment', experimentId: string) => {
    checked.push(experimentId);
    if (!allowed.includes(experimentId)) throw new PermissionDeniedError(`no EDIT on ${experimentId}`);
  };
  return { mayEdit, checked };
}

describe('linkToRun when the trace arrives meanwhile', () => {
  it('checks the experiment it arrived in before linking it', async () => {
    const { repository, links } = racingRepository('hidden');
    const { mayEdit, checked } = mayEditOnly(['run-experiment']);
    await expect(
      service(repository).linkToRun({ run_id: 'r1', trace_ids: [TRACE] }, mayEdit),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
    expect(checked).toEqual(['run-experiment', 'hidden']);
    expect(links).toEqual([]);
  });

  it('links it where the caller may edit, on the experiment it saw', async () => {
    const { repository, links } = racingRepository('mine');
    const { mayEdit } = mayEditOnly(['run-experiment', 'mine']);
    await service(repository).linkToRun({ run_id: 'r1', trace_ids: [TRACE, TRACE] }, mayEdit);
    expect(links).toEqual([{ runId: 'r1', expected: { experimentId: 'mine' } }]);
  });

  it('with nothing to check (auth off), links without a condition or a read', async () => {
    const { repository, links } = racingRepository('any');
    await service(repository).linkToRun({ run_id: 'r1', trace_ids: [TRACE] });
    expect(links).toEqual([{ runId: 'r1' }]);
  });
});

describe('toTraceInfo', () => {
  const item: TraceItem = {
    pk: `TRACE#${TRACE}`,
    sk: 'TRACE',
    trace_id: TRACE,
    experiment_id: '1',
    metadata: toStoredMap({ 'mlflow.sourceRun': 'from-info', user: 'me' }),
  };

  it('reads a link as mlflow.sourceRun, over what the info said', () => {
    expect(toTraceInfo({ ...item, linked_run: 'linked' }).metadata).toEqual({
      'mlflow.sourceRun': 'linked',
      user: 'me',
    });
  });

  it('leaves the info’s metadata as it is without a link', () => {
    expect(toTraceInfo(item).metadata).toEqual({ 'mlflow.sourceRun': 'from-info', user: 'me' });
  });
});
