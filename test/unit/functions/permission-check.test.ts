/**
 * The per-resource check without a server: what each locator reads from a request, how ids become
 * experiments, what is decided without a lookup, the refusals' words, and the handler's wiring (a function
 * without lookups for its routes does not load; one without the check refuses guarded routes).
 */
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHttpHandler, jsonResponse } from '../../../functions/middleware/http-handler.js';
import {
  assertLookupsCover,
  checkAccess,
  grantCache,
  requireLevel,
} from '../../../functions/middleware/permission-check.js';
import {
  cachedLookups,
  cachedOwnerLookup,
  MAX_LOOKUP_IDS,
  namedIds,
  type OwnerLookup,
  type ResourceLookups,
  resolveResources,
} from '../../../functions/middleware/resource-resolution.js';
import type { ApiRequest } from '../../../shared/api/request.js';
import type { ResourceLocator } from '../../../shared/api/route-kit.js';
import { type Route, routeByKey, routesForFunction } from '../../../shared/api/routes.js';
import { ARTIFACTS_ROUTE_SPECS } from '../../../shared/api/routes-artifacts.js';
import { CallerPermissions, type Grant } from '../../../shared/auth/permissions.js';
import type { Scope } from '../../../shared/auth/scopes.js';
import {
  InvalidParameterValueError,
  PermissionDeniedError,
  ResourceDoesNotExistError,
} from '../../../shared/errors.js';

function request(parts: Partial<ApiRequest> = {}): ApiRequest {
  return {
    method: 'POST',
    path: '/',
    routeKey: 'POST /api/2.0/mlflow/runs/log-metric',
    headers: {},
    pathParameters: {},
    fields: {},
    bodyBytes: 0,
    ...parts,
  };
}

const RUNS: Record<string, string> = { 'run-x': 'X', 'run-y': 'Y' };
const TRACE_X = `tr-${'a'.repeat(32)}`;
const TRACE_Y = `tr-${'b'.repeat(32)}`;
const TRACES: Record<string, string> = { [TRACE_X]: 'X', [TRACE_Y]: 'Y' };

/** In-memory lookups that count their calls. */
function lookups(): ResourceLookups & { calls: string[][] } {
  const calls: string[][] = [];
  const from =
    (table: Record<string, string>): OwnerLookup =>
    async (ids) => {
      calls.push([...ids]);
      return new Map(ids.flatMap((id) => (table[id] ? [[id, table[id]] as [string, string]] : [])));
    };
  return {
    calls,
    runExperiments: from(RUNS),
    loggedModelExperiments: from({ 'm-x': 'X' }),
    traceExperiments: from(TRACES),
    experimentIdByName: async (name) => ({ 'named-x': 'X' })[name],
  };
}

const caller = (scope: Scope, grants: Omit<Grant, 'principal'>[] = []) =>
  new CallerPermissions(
    'alice',
    scope,
    grants.map((grant) => ({ principal: 'alice', ...grant })),
  );

const route = (key: string) => {
  const found = routeByKey(key);
  if (!found) throw new Error(`no route ${key}`);
  return found;
};
const LOG_METRIC = route('POST /api/2.0/mlflow/runs/log-metric');
const GET_RUN = route('GET /api/2.0/mlflow/runs/get');

describe('namedIds: every place an operation reads an id from', () => {
  const cases: [ResourceLocator, Partial<ApiRequest>, string[]][] = [
    ['experiment_id', { fields: { experiment_id: '1' }, pathParameters: { experiment_id: '2' } }, ['2', '1']],
    ['experiment_ids', { fields: { experiment_ids: ['1', '2', '1'] } }, ['1', '2']],
    ['run_id', { fields: { run_id: 'a', run_uuid: 'b' } }, ['a', 'b']],
    ['run_id', { fields: { run_uuid: 'b' } }, ['b']],
    ['run_ids', { fields: { run_ids: ['a'], run_id: ['b', 'c'] } }, ['a', 'b', 'c']],
    ['model_id', { pathParameters: { model_id: 'm1' }, fields: { model_id: 'm2' } }, ['m1', 'm2']],
    ['trace_id', { pathParameters: { trace_id: 't1' }, fields: { request_id: 't2' } }, ['t1', 't2']],
    ['trace_ids', { fields: { trace_ids: ['t1', 't2'] } }, ['t1', 't2']],
    [
      'trace_location',
      {
        fields: { trace: { trace_info: { trace_location: { mlflow_experiment: { experiment_id: '7' } } } } },
      },
      ['7'],
    ],
    ['otlp_experiment', { headers: { 'x-mlflow-experiment-id': ' 7 ' } }, ['7']],
    ['artifact_path', { greedyPath: '12/abc/artifacts/a.txt', fields: { path: '13/x' } }, ['12']],
    ['artifact_path', { fields: { path: '13/abc/artifacts/' } }, ['13']],
    ['artifact_path', { greedyPath: '%31%32/abc/artifacts/a.txt' }, ['12']],
    ['name', { fields: { name: 'model' } }, ['model']],
    ['name', { fields: { name: 'cafe\u0301' } }, ['cafe\u0301', 'caf\u00e9']],
    // Not strings, empty or absent: nothing named (the operation answers its own 400).
    ['experiment_id', { fields: { experiment_id: 7 } }, ['7']],
    ['experiment_id', { fields: { experiment_id: 7.5 } }, []],
    ['run_id', { fields: { run_id: '' } }, []],
    ['name', {}, []],
    ['artifact_path', { fields: {} }, []],
  ];
  it.each(cases)('%s in %j → %j', (locator, parts, ids) => {
    expect(namedIds(locator, request(parts)).ids).toEqual(ids);
  });

  it('refuses an artifact path the artifact service would refuse, with the same 400', () => {
    expect(() => namedIds('artifact_path', request({ greedyPath: '../1/abc/artifacts/a' }))).toThrow(
      InvalidParameterValueError,
    );
  });

  it('never lets a list field hide an id: every string in it is named (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1 }), { maxLength: 20 }), (ids) => {
        const named = namedIds('run_ids', request({ fields: { run_ids: ids } })).ids;
        expect(new Set(named)).toEqual(new Set(ids));
      }),
    );
  });
});

describe('resolveResources', () => {
  it('looks up runs, logged models and traces in one call, and leaves out ids that name nothing', async () => {
    const found = lookups();
    const resolved = await resolveResources(
      'run_ids',
      request({ fields: { run_ids: ['run-x', 'nope', 'run-y'] } }),
      found,
    );
    expect(resolved).toEqual([
      { resource: 'X', via: "that of run 'run-x'" },
      { resource: 'Y', via: "that of run 'run-y'" },
    ]);
    expect(found.calls).toEqual([['run-x', 'nope', 'run-y']]);
    expect(
      await resolveResources('trace_id', request({ pathParameters: { trace_id: TRACE_Y } }), found),
    ).toEqual([{ resource: 'Y', via: `that of trace '${TRACE_Y}'` }]);
    expect(
      await resolveResources('experiment_name', request({ fields: { experiment_name: 'named-x' } }), found),
    ).toEqual([{ resource: 'X', via: "named 'named-x'" }]);
  });

  it('reads nothing for a resource the request names itself', async () => {
    const found = lookups();
    expect(
      await resolveResources('experiment_id', request({ fields: { experiment_id: '5' } }), found),
    ).toEqual([{ resource: '5' }]);
    expect(found.calls).toEqual([]);
  });

  it('refuses more ids than it will look up for one request', async () => {
    const ids = Array.from({ length: MAX_LOOKUP_IDS + 1 }, (_, index) => `r${index}`);
    await expect(
      resolveResources('run_ids', request({ fields: { run_ids: ids } }), lookups()),
    ).rejects.toThrow(InvalidParameterValueError);
  });

  it('keeps an owner lookup answer (an owner never moves) but not a miss', async () => {
    const found = lookups();
    const cached = cachedOwnerLookup(found.runExperiments as OwnerLookup, 2);
    await cached(['run-x', 'nope']);
    await cached(['run-x', 'nope']);
    expect(found.calls).toEqual([['run-x', 'nope'], ['nope']]);
    // Bounded: the oldest answer goes first.
    await cached(['run-y']);
    await cached(['a', 'b']);
    expect((await cached(['run-x'])).get('run-x')).toBe('X');
  });

  it('does not cache trace owners: a client-chosen trace id may come back in another experiment', async () => {
    const owner = new Map([['tr-1', 'X']]);
    let reads = 0;
    const cached = cachedLookups({
      traceExperiments: async (ids) => {
        reads += 1;
        return new Map(ids.flatMap((id) => (owner.has(id) ? [[id, owner.get(id) as string]] : [])));
      },
    });
    const traces = cached.traceExperiments as OwnerLookup;
    expect((await traces(['tr-1'])).get('tr-1')).toBe('X');
    // The trace expired and a client logged a new one under the same id, in experiment Y.
    owner.set('tr-1', 'Y');
    expect((await traces(['tr-1'])).get('tr-1')).toBe('Y');
    expect(reads).toBe(2);
  });
});

describe('checkAccess', () => {
  it('decides without a lookup when no grant of the kind changes the answer', async () => {
    const found = lookups();
    await checkAccess(LOG_METRIC, request({ caller: caller('write'), fields: { run_id: 'run-x' } }), found);
    await expect(
      checkAccess(LOG_METRIC, request({ caller: caller('read'), fields: { run_id: 'run-x' } }), found),
    ).rejects.toThrow(PermissionDeniedError);
    // A grant on the other kind changes nothing for experiments.
    const modelGrant = caller('read', [{ kind: 'registered_model', resource: 'm', permission: 'EDIT' }]);
    await expect(
      checkAccess(LOG_METRIC, request({ caller: modelGrant, fields: { run_id: 'run-x' } }), found),
    ).rejects.toThrow(PermissionDeniedError);
    expect(found.calls).toEqual([]);
  });

  it("looks the run's experiment up when a grant makes the answer depend on it", async () => {
    const found = lookups();
    const editX = caller('read', [{ kind: 'experiment', resource: 'X', permission: 'EDIT' }]);
    await checkAccess(LOG_METRIC, request({ caller: editX, fields: { run_id: 'run-x' } }), found);
    const refused = checkAccess(LOG_METRIC, request({ caller: editX, fields: { run_id: 'run-y' } }), found);
    await expect(refused).rejects.toThrow(
      "Permission denied: token 'alice' holds READ on experiment 'Y' (that of run 'run-y'); POST /api/2.0/mlflow/runs/log-metric needs EDIT.",
    );
    expect(found.calls).toEqual([['run-x'], ['run-y']]);
  });

  it('names what the request named when it refuses without a lookup', async () => {
    await expect(
      checkAccess(LOG_METRIC, request({ caller: caller('read'), fields: { run_id: 'run-x' } }), lookups()),
    ).rejects.toThrow(
      "holds at most READ (scope 'read', no grant above it) on the experiment of run 'run-x'",
    );
    const deleteExperiment = route('POST /api/2.0/mlflow/experiments/delete');
    await expect(
      checkAccess(
        deleteExperiment,
        request({ caller: caller('read'), fields: { experiment_id: '4' } }),
        lookups(),
      ),
    ).rejects.toThrow("holds READ on experiment '4'");
  });

  it("leaves a missing or malformed id to the operation's 400, and answers a well-formed unknown one 404", async () => {
    const writerHideX = caller('write', [
      { kind: 'experiment', resource: 'X', permission: 'NO_PERMISSIONS' },
    ]);
    const found = lookups();
    await expect(
      checkAccess(LOG_METRIC, request({ caller: writerHideX, fields: {} }), found),
    ).rejects.toThrow("Missing value for required parameter 'run_id'");
    await checkAccess(
      LOG_METRIC,
      request({ caller: writerHideX, fields: { run_id: 'not a run id!' } }),
      found,
    );
    expect(found.calls).toEqual([]);
    // Naming nothing never lets a request through: an EDIT grant on X does not let a read token write.
    const editX = caller('read', [{ kind: 'experiment', resource: 'X', permission: 'EDIT' }]);
    await expect(checkAccess(LOG_METRIC, request({ caller: editX, fields: {} }), found)).rejects.toThrow(
      InvalidParameterValueError,
    );
    // A malformed id is the operation's to refuse (400), whoever asks.
    await checkAccess(LOG_METRIC, request({ caller: editX, fields: { run_id: 'not a run id!' } }), found);
    await expect(
      checkAccess(LOG_METRIC, request({ caller: editX, fields: { run_id: 'nope' } }), found),
    ).rejects.toThrow(new ResourceDoesNotExistError('Run with id=nope not found'));
    const byName = route('GET /api/2.0/mlflow/experiments/get-by-name');
    const hideX = caller('read', [{ kind: 'experiment', resource: 'X', permission: 'NO_PERMISSIONS' }]);
    await expect(
      checkAccess(byName, request({ caller: hideX, fields: { experiment_name: 'gone' } }), found),
    ).rejects.toThrow(ResourceDoesNotExistError);
    await expect(
      checkAccess(byName, request({ caller: hideX, fields: { experiment_name: 'named-x' } }), found),
    ).rejects.toThrow("experiment 'X' (named 'named-x')");
  });

  it("answers a request that names no resource with the operation's 400 when the answer depends on it", async () => {
    // The fields in the query instead of the JSON body: a caller holding MANAGE somewhere got a 403 about
    // "every experiment" where an admin got the operation's 400. A caller that holds MANAGE nowhere could
    // never pass, and keeps the scope's 403.
    const deleteGrant = route('DELETE /api/2.0/mlflow/experiments/permissions/delete');
    for (const who of [caller('write'), caller('read')]) {
      await expect(
        checkAccess(deleteGrant, request({ caller: who, fields: { username: 'bob' } }), lookups()),
      ).rejects.toThrow(PermissionDeniedError);
    }
    for (const who of [
      caller('write', [{ kind: 'experiment', resource: '4', permission: 'MANAGE' }]),
      caller('read', [{ kind: 'experiment', resource: '4', permission: 'MANAGE' }]),
    ]) {
      await expect(
        checkAccess(deleteGrant, request({ caller: who, fields: { username: 'bob' } }), lookups()),
      ).rejects.toThrow(
        new InvalidParameterValueError(
          "Missing value for required parameter 'experiment_id'. See the API docs for more information about request parameters.",
        ),
      );
    }
    // An admin is let through to the operation, which answers the same 400 itself.
    await checkAccess(deleteGrant, request({ caller: caller('admin'), fields: {} }), lookups());
    // Registered models, by name; an empty value is none.
    const deleteModel = route('DELETE /api/2.0/mlflow/registered-models/delete');
    const modelManager = caller('write', [{ kind: 'registered_model', resource: 'm', permission: 'MANAGE' }]);
    await expect(
      checkAccess(deleteModel, request({ caller: modelManager, fields: { name: '' } }), lookups()),
    ).rejects.toThrow("Missing value for required parameter 'name'");
    // run_uuid names a run as well as run_id does.
    const found = lookups();
    await expect(
      checkAccess(LOG_METRIC, request({ caller: caller('read'), fields: { run_uuid: 'run-x' } }), found),
    ).rejects.toThrow(PermissionDeniedError);
    // runs/create keeps its default experiment: naming none is checked on Default (0).
    const createRun = route('POST /api/2.0/mlflow/runs/create');
    await checkAccess(createRun, request({ caller: caller('write'), fields: {} }), lookups());
    await expect(
      checkAccess(
        createRun,
        request({
          caller: caller('write', [{ kind: 'experiment', resource: '0', permission: 'READ' }]),
          fields: {},
        }),
        lookups(),
      ),
    ).rejects.toThrow("experiment '0'");
    // A list may name none (the operation decides what that means): the scope still decides it.
    const runStats = route('GET /api/2.0/cairn/experiments/run-stats');
    await checkAccess(
      runStats,
      request({
        caller: caller('read', [{ kind: 'experiment', resource: '4', permission: 'NO_PERMISSIONS' }]),
        fields: {},
      }),
      lookups(),
    );
  });

  it('reads an experiment id as the services do: a grant on 7 holds for "07" and " +7"', async () => {
    const hide7 = caller('write', [{ kind: 'experiment', resource: '7', permission: 'NO_PERMISSIONS' }]);
    const getExperiment = route('GET /api/2.0/mlflow/experiments/get');
    for (const spelled of ['7', '07', ' +7 ', '0007']) {
      await expect(
        checkAccess(getExperiment, request({ caller: hide7, fields: { experiment_id: spelled } }), lookups()),
      ).rejects.toThrow("experiment '7'");
    }
    expect(namedIds('experiment_ids', request({ fields: { experiment_ids: ['07', '7', 'x'] } })).ids).toEqual(
      ['7', 'x'],
    );
  });

  it('checks nothing without a caller (auth off)', async () => {
    await checkAccess(GET_RUN, request({ fields: { run_id: 'run-x' } }), {});
  });

  it('agrees with levelOn for every scope and grant (property)', async () => {
    const levels = ['NO_PERMISSIONS', 'READ', 'USE', 'EDIT', 'MANAGE'] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Scope>('read', 'write', 'admin'),
        fc.option(fc.constantFrom(...levels), { nil: undefined }),
        fc.option(fc.constantFrom(...levels), { nil: undefined }),
        fc.constantFrom('run-x', 'run-y'),
        fc.constantFrom(LOG_METRIC, GET_RUN),
        async (scope, onX, onY, runId, target) => {
          const held: Omit<Grant, 'principal'>[] = [];
          if (onX) held.push({ kind: 'experiment', resource: 'X', permission: onX });
          if (onY) held.push({ kind: 'experiment', resource: 'Y', permission: onY });
          const permissions = caller(scope, held);
          const level = permissions.levelOn('experiment', RUNS[runId] as string);
          const needs = target.access?.needs ?? 'MANAGE';
          const allowed = levels.indexOf(level) >= levels.indexOf(needs);
          const outcome = await checkAccess(
            target,
            request({ caller: permissions, fields: { run_id: runId } }),
            lookups(),
          ).then(
            () => true,
            (error) => {
              expect(error).toBeInstanceOf(PermissionDeniedError);
              return false;
            },
          );
          expect(outcome).toBe(allowed);
        },
      ),
    );
  });
});

describe('requireLevel', () => {
  it('refuses a second resource below the level, naming it', () => {
    const readX = caller('write', [{ kind: 'experiment', resource: 'X', permission: 'READ' }]);
    expect(() => requireLevel(request({ caller: readX }), 'experiment', 'X', 'READ')).not.toThrow();
    expect(() => requireLevel(request({ caller: readX }), 'experiment', 'X', 'EDIT')).toThrow(
      "holds READ on experiment 'X'",
    );
    expect(() => requireLevel(request(), 'registered_model', 'm', 'MANAGE')).not.toThrow();
  });
});

describe('wiring', () => {
  it('refuses to build a function whose routes need a lookup it lacks', () => {
    expect(() => assertLookupsCover(routesForFunction('artifacts'), {})).toThrow(
      /No lookup for the resource of routes: .*run_id/,
    );
    expect(() =>
      assertLookupsCover(routesForFunction('artifacts'), {
        runExperiments: async () => new Map(),
        loggedModelExperiments: async () => new Map(),
      }),
    ).not.toThrow();
    expect(() => assertLookupsCover(routesForFunction('registry'), {})).not.toThrow();
  });

  it('refuses (500) a guarded route of a function built without the check while auth is on', async () => {
    const operations = Object.fromEntries(
      routesForFunction('artifacts').map((r) => [r.operation, async () => jsonResponse({ ran: true })]),
    );
    const handler = createHttpHandler('artifacts', ARTIFACTS_ROUTE_SPECS, operations);
    const listing = routeByKey('GET /api/2.0/mlflow/artifacts/list') as Route;
    const event = {
      version: '2.0',
      routeKey: listing.routeKey,
      rawPath: listing.fullPath,
      rawQueryString: 'run_id=abc',
      headers: {},
      requestContext: {
        http: { method: 'GET', path: listing.fullPath },
        requestId: 'test',
        authorizer: { lambda: { principal: 'p', scope: 'admin' } },
      },
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2;
    const previous = process.env.CAIRN_AUTH;
    delete process.env.CAIRN_AUTH;
    try {
      expect((await handler(event, {} as Context)).statusCode).toBe(500);
    } finally {
      if (previous !== undefined) process.env.CAIRN_AUTH = previous;
    }
  });

  it('reads a shorter grant-cache TTL only within the documented bound', () => {
    const source = { grantsOf: async () => [] };
    expect(() => grantCache(source, { CAIRN_PERMISSION_CACHE_TTL_MS: '250' })).not.toThrow();
    expect(() => grantCache(source, {})).not.toThrow();
    for (const bad of ['-1', 'soon', '1.5', '30001']) {
      expect(() => grantCache(source, { CAIRN_PERMISSION_CACHE_TTL_MS: bad })).toThrow(
        /CAIRN_PERMISSION_CACHE_TTL_MS/,
      );
    }
  });
});
