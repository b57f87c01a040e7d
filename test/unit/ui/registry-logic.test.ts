import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateAlias } from '../../../shared/domain/registry/rules.js';
import { parseFilter, stringMatcher } from '../../../shared/domain/search/filter.js';
import {
  nameFilter as modelNameFilter,
  searchLiteral as quoteFilterValue,
} from '../../../ui/src/lib/format.js';
import {
  aliasesByVersion,
  aliasProblem,
  appendEntries,
  auditRow,
  latestPerStage,
  loggedModelIdOf,
  type PromotionJson,
  registrationsByModelId,
  sortPolicies,
  stageOf,
  targetLabel,
  validatePolicyForm,
  versionsFromLoggedModelsFilter,
  versionsOfModelFilter,
} from '../../../ui/src/registry/logic.js';

describe('registry filters', () => {
  it("doubles a quote inside a name, as the server's grammar reads it", () => {
    expect(quoteFilterValue("it's")).toBe("'it''s'");
    expect(versionsOfModelFilter("it's")).toBe("name = 'it''s'");
    expect(parseFilter(versionsOfModelFilter("it's"))).toEqual([
      expect.objectContaining({ key: 'name', comparator: '=', value: "it's" }),
    ]);
  });

  it('gives back any name exactly through the server parser', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (name) => {
        const [clause] = parseFilter(versionsOfModelFilter(name));
        expect(clause?.value).toBe(name);
      }),
    );
  });

  it('searches names by case-insensitive substring, and not at all for an empty box', () => {
    expect(modelNameFilter('   ')).toBeUndefined();
    const filter = modelNameFilter(" Fraud's ") as string;
    expect(filter).toBe("name ILIKE '%Fraud''s%'");
    const [clause] = parseFilter(filter);
    const matches = stringMatcher(clause?.comparator as string, clause?.value as string);
    expect(matches("the fraud's detector")).toBe(true);
    expect(matches('fraud detector')).toBe(false);
  });

  it('finds the versions made from logged models by their models:/ sources', () => {
    expect(versionsFromLoggedModelsFilter([])).toBeUndefined();
    const filter = versionsFromLoggedModelsFilter(['m-1', 'm-2']) as string;
    expect(parseFilter(filter)).toEqual([
      expect.objectContaining({ key: 'source', comparator: 'IN', value: ['models:/m-1', 'models:/m-2'] }),
    ]);
  });
});

describe('stages and aliases', () => {
  it('reads a missing or differently cased stage as MLflow does', () => {
    expect(stageOf({})).toBe('None');
    expect(stageOf({ current_stage: 'production' })).toBe('Production');
    expect(stageOf({ current_stage: 'bogus' })).toBe('None');
  });

  it('keeps the newest version per stage, in stage order', () => {
    const versions = [
      { version: '1', current_stage: 'Production' },
      { version: '3', current_stage: 'Staging' },
      { version: '10', current_stage: 'Production' },
      { version: '2' },
    ];
    expect(latestPerStage(versions).map(({ stage, version }) => [stage, version.version])).toEqual([
      ['None', '2'],
      ['Staging', '3'],
      ['Production', '10'],
    ]);
  });

  it('groups aliases by their version, sorted', () => {
    const grouped = aliasesByVersion([
      { alias: 'prod', version: '2' },
      { alias: 'champion', version: '2' },
      { alias: 'canary', version: '3' },
    ]);
    expect(Object.fromEntries(grouped)).toEqual({ '2': ['champion', 'prod'], '3': ['canary'] });
    expect(aliasesByVersion(undefined).size).toBe(0);
  });

  it("agrees with the server's alias rules", () => {
    expect(aliasProblem('champion')).toBeUndefined();
    expect(aliasProblem('latest')).toMatch(/reserved/);
    expect(aliasProblem('V12')).toMatch(/reserved/);
    expect(aliasProblem('a b')).toMatch(/letters/);
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (alias) => {
        fc.pre(alias !== '');
        let serverAccepts = true;
        try {
          validateAlias(alias);
        } catch {
          serverAccepts = false;
        }
        expect(aliasProblem(alias) === undefined).toBe(serverAccepts);
      }),
    );
  });
});

describe('policy form', () => {
  it('accepts a stage in any case and gives its canonical spelling', () => {
    expect(
      validatePolicyForm({ kind: 'stage', target: ' production ', condition: 'metrics.f1 > 0.8' }),
    ).toEqual({
      ok: true,
      target: { kind: 'stage', name: 'Production' },
      condition: 'metrics.f1 > 0.8',
    });
  });

  it('reports a bad target and a missing condition together', () => {
    expect(validatePolicyForm({ kind: 'alias', target: 'latest', condition: '  ' })).toEqual({
      ok: false,
      errors: {
        target: expect.stringMatching(/reserved/),
        condition: expect.stringMatching(/Give a condition/),
      },
    });
    expect(validatePolicyForm({ kind: 'stage', target: 'Live', condition: 'x' })).toMatchObject({
      ok: false,
      errors: { target: expect.stringMatching(/Choose a stage/) },
    });
    expect(
      validatePolicyForm({ kind: 'alias', target: 'champion', condition: 'x'.repeat(4001) }),
    ).toMatchObject({ ok: false, errors: { condition: expect.stringMatching(/4000/) } });
  });

  it('leaves the grammar to the server: any non-empty condition within the limit passes', () => {
    expect(
      validatePolicyForm({ kind: 'alias', target: 'champion', condition: 'metrics.a >== 1' }),
    ).toMatchObject({
      ok: true,
      target: { kind: 'alias', name: 'champion' },
    });
  });

  it('orders policies aliases first, then stages in MLflow order', () => {
    const sorted = sortPolicies([
      { name: 'm', stage: 'Production', condition: 'a' },
      { name: 'm', alias: 'zeta', condition: 'b' },
      { name: 'm', stage: 'Staging', condition: 'c' },
      { name: 'm', alias: 'alpha', condition: 'd' },
    ]);
    expect(sorted.map((policy) => policy.alias ?? policy.stage)).toEqual([
      'alpha',
      'zeta',
      'Staging',
      'Production',
    ]);
  });
});

describe('audit entries', () => {
  const refused: PromotionJson = {
    id: 'a',
    name: 'fraud',
    version: '3',
    run_id: 'r1',
    stage: 'Production',
    principal: 'ci',
    timestamp: '1700000000000',
    outcome: 'REFUSED',
    condition: 'metrics.accuracy >= 0.9 AND metrics.f1 > 0.8',
    failing_clauses: ['metrics.accuracy >= 0.9 (run has 0.85)', 'metrics.f1 > 0.8 (run has no such metric)'],
  };

  it('reads a refusal as its failing clauses, with who, when and what', () => {
    expect(auditRow(refused)).toEqual({
      id: 'a',
      timestamp: 1_700_000_000_000,
      who: 'ci',
      version: '3',
      runId: 'r1',
      target: 'Production',
      allowed: false,
      reason: 'metrics.accuracy >= 0.9 (run has 0.85); metrics.f1 > 0.8 (run has no such metric)',
    });
  });

  it('says why an allowed promotion went ahead', () => {
    const guarded = auditRow({ ...refused, alias: 'champion', outcome: 'ALLOWED', failing_clauses: [] });
    expect(guarded).toMatchObject({
      allowed: true,
      target: '@champion',
      reason: `Meets ${refused.condition}`,
    });
    const { condition: _condition, principal: _principal, ...unguarded } = refused;
    expect(auditRow({ ...unguarded, outcome: 'ALLOWED', failing_clauses: [] })).toMatchObject({
      allowed: true,
      who: '',
      reason: 'No policy guards this target',
    });
  });

  it('labels targets as MLflow does', () => {
    expect(targetLabel({ kind: 'alias', name: 'champion' })).toBe('@champion');
    expect(targetLabel({ kind: 'stage', name: 'Staging' })).toBe('Staging');
  });

  it('appends a further page without repeating entries', () => {
    const shown = [{ id: '1' }, { id: '2' }];
    expect(appendEntries(shown, [{ id: '2' }, { id: '3' }]).map((e) => e.id)).toEqual(['1', '2', '3']);
  });
});

describe('logged models and registrations', () => {
  it("names a version's logged model by model_id or a models:/ source", () => {
    expect(loggedModelIdOf({ model_id: 'm-1', source: 'runs:/r/model' })).toBe('m-1');
    expect(loggedModelIdOf({ source: 'models:/m-abc' })).toBe('m-abc');
    expect(loggedModelIdOf({ source: 'models:/fraud/3' })).toBeUndefined();
    expect(loggedModelIdOf({ source: 's3://bucket/model' })).toBeUndefined();
  });

  it('collects the versions registered from each logged model, once each', () => {
    const byModel = registrationsByModelId([
      { name: 'fraud', version: '1', model_id: 'm-1', source: 'models:/m-1' },
      { name: 'fraud', version: '1', source: 'models:/m-1' },
      { name: 'other', version: '4', source: 'models:/m-1' },
      { name: 'fraud', version: '2', source: 'runs:/r/model' },
    ]);
    expect(Object.fromEntries(byModel)).toEqual({
      'm-1': [
        { name: 'fraud', version: '1' },
        { name: 'other', version: '4' },
      ],
    });
  });
});
