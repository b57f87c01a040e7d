/** The experiments service's run-stats rules on in-memory repositories: ids parsed, deduplicated, bounded. */
import { describe, expect, it } from 'vitest';
import { RUN_STATS_MAX_EXPERIMENTS } from '../../../shared/domain/experiments/service.js';
import { InvalidParameterValueError } from '../../../shared/errors.js';
import { memoryTracking } from '../../helpers/memory/index.js';

describe('experiment run stats', () => {
  it('answers in the order asked, each experiment once, zeros for one without runs', async () => {
    const { experiments, runs } = memoryTracking();
    const busy = await experiments.create({ name: 'busy', tags: [] });
    const idle = await experiments.create({ name: 'idle', tags: [] });
    const first = await runs.create({ experimentId: busy, startTime: 1_000, tags: [] });
    await runs.create({ experimentId: busy, startTime: 2_000, tags: [] });
    await runs.setLifecycle(first.runId, 'deleted');
    expect(await experiments.runStats([idle, `+${busy}`, busy])).toEqual([
      { experimentId: idle, activeRuns: 0, deletedRuns: 0 },
      { experimentId: busy, activeRuns: 1, deletedRuns: 1, lastActivity: 2_000 },
    ]);
  });

  it.each([
    ['no ids', []],
    ['a non-integer id', ['1', 'x']],
    ['too many ids', Array.from({ length: RUN_STATS_MAX_EXPERIMENTS + 1 }, (_, i) => String(i))],
  ])('refuses %s, naming experiment_ids', async (_, ids) => {
    const { experiments } = memoryTracking();
    const refusal = experiments.runStats(ids);
    await expect(refusal).rejects.toBeInstanceOf(InvalidParameterValueError);
    await expect(refusal).rejects.toThrow(/experiment_ids/);
  });
});
