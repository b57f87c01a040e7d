/**
 * Hash routes. The UI lives at `/` and every view is a `#/...` fragment, so the server never sees a UI
 * path (no rewrite rule can hide an API error) and the links MLflow's client prints
 * (`#/experiments/<id>/runs/<run_id>`, `#/models/<name>/versions/<v>`) open the right page.
 * Pure: no DOM, unit-tested in test/unit/ui.
 */

export type RunTab = 'overview' | 'metrics' | 'artifacts';
export type ExperimentTab = 'runs' | 'models' | 'traces';

export type Route =
  | { page: 'experiments' }
  | { page: 'experiment'; experimentId: string; tab: ExperimentTab; filter?: string }
  | { page: 'trace'; experimentId: string; traceId: string; spanId?: string }
  | { page: 'run'; experimentId: string; runId: string; tab: RunTab; artifactPath?: string }
  | { page: 'logged-model'; experimentId: string; modelId: string }
  | { page: 'compare'; experimentIds: string[]; runIds: string[]; metricKeys: string[] }
  | { page: 'models' }
  | { page: 'model'; name: string }
  | { page: 'version'; name: string; version: string }
  | { page: 'not-found'; path: string };

const RUN_TABS: readonly RunTab[] = ['overview', 'metrics', 'artifacts'];
const EXPERIMENT_TABS: readonly ExperimentTab[] = ['runs', 'models', 'traces'];

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** A JSON array in a query parameter (MLflow's compare URL: `?runs=["a","b"]`) or a comma list. */
function listParam(params: URLSearchParams, name: string): string[] {
  const raw = params.get(name);
  if (raw === null || raw === '') return [];
  if (raw.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (Array.isArray(parsed)) return parsed.filter((item) => typeof item === 'string');
    } catch {
      return [];
    }
  }
  return raw.split(',').filter((item) => item !== '');
}

/** Parses `location.hash` (with or without the leading `#`). */
export function parseHash(hash: string): Route {
  const fragment = hash.replace(/^#/, '');
  const [pathPart = '', query = ''] = fragment.split('?', 2);
  const params = new URLSearchParams(query);
  const segments = pathPart
    .split('/')
    .filter((segment) => segment !== '')
    .map(decode);
  const [head, a, b, c, d, ...rest] = segments;

  if (head === undefined) return { page: 'experiments' };
  if (head === 'experiments') {
    if (a === undefined) return { page: 'experiments' };
    if (b === undefined) return { page: 'experiment', experimentId: a, tab: 'runs' };
    if (b === 'runs' && c !== undefined) {
      const tab = RUN_TABS.find((candidate) => candidate === d) ?? 'overview';
      const artifactPath = tab === 'artifacts' && rest.length > 0 ? rest.join('/') : undefined;
      return {
        page: 'run',
        experimentId: a,
        runId: c,
        tab,
        ...(artifactPath === undefined ? {} : { artifactPath }),
      };
    }
    // MLflow 3's own link to a logged model: `#/experiments/<id>/models/<model_id>`.
    if (b === 'models' && c !== undefined && d === undefined) {
      return { page: 'logged-model', experimentId: a, modelId: c };
    }
    // A trace, and the span shown: `#/experiments/<id>/traces/<trace_id>?span=<span id>`.
    if (b === 'traces' && c !== undefined && d === undefined) {
      const spanId = params.get('span');
      return { page: 'trace', experimentId: a, traceId: c, ...(spanId ? { spanId } : {}) };
    }
    const tab = EXPERIMENT_TABS.find((candidate) => candidate === b);
    // MLflow's UI links to a trace as its traces tab with the trace selected (older releases:
    // `selectedEvaluationId`); such links, printed by scripts and notebooks, open the trace page.
    const linkedTrace = params.get('selectedTraceId') || params.get('selectedEvaluationId');
    if (tab === 'traces' && c === undefined && linkedTrace) {
      return { page: 'trace', experimentId: a, traceId: linkedTrace };
    }
    if (tab && c === undefined) {
      // The traces tab keeps its search filter in the link, so a filtered list can be shared and reloaded.
      const filter = tab === 'traces' ? params.get('filter') : null;
      return { page: 'experiment', experimentId: a, tab, ...(filter ? { filter } : {}) };
    }
  }
  if (head === 'compare-runs' || head === 'compare') {
    return {
      page: 'compare',
      experimentIds: listParam(params, 'experiments'),
      runIds: listParam(params, 'runs'),
      metricKeys: listParam(params, 'metrics'),
    };
  }
  if (head === 'models') {
    if (a === undefined) return { page: 'models' };
    if (b === undefined) return { page: 'model', name: a };
    if (b === 'versions' && c !== undefined && d === undefined) {
      return { page: 'version', name: a, version: c };
    }
  }
  return { page: 'not-found', path: `/${segments.join('/')}` };
}

const enc = encodeURIComponent;

/** The `#/...` fragment of a route; `parseHash(formatHash(r))` gives back `r`. */
export function formatHash(route: Route): string {
  switch (route.page) {
    case 'experiments':
      return '#/experiments';
    case 'experiment': {
      if (route.tab === 'runs') return `#/experiments/${enc(route.experimentId)}`;
      const base = `#/experiments/${enc(route.experimentId)}/${route.tab}`;
      return route.tab === 'traces' && route.filter
        ? `${base}?${new URLSearchParams({ filter: route.filter }).toString()}`
        : base;
    }
    case 'trace': {
      const base = `#/experiments/${enc(route.experimentId)}/traces/${enc(route.traceId)}`;
      return route.spanId ? `${base}?${new URLSearchParams({ span: route.spanId }).toString()}` : base;
    }
    case 'run': {
      const base = `#/experiments/${enc(route.experimentId)}/runs/${enc(route.runId)}`;
      if (route.tab === 'overview') return base;
      if (route.tab === 'artifacts' && route.artifactPath) {
        return `${base}/artifacts/${route.artifactPath.split('/').map(enc).join('/')}`;
      }
      return `${base}/${route.tab}`;
    }
    case 'logged-model':
      return `#/experiments/${enc(route.experimentId)}/models/${enc(route.modelId)}`;
    case 'compare': {
      const params = new URLSearchParams();
      params.set('runs', JSON.stringify(route.runIds));
      params.set('experiments', JSON.stringify(route.experimentIds));
      if (route.metricKeys.length > 0) params.set('metrics', JSON.stringify(route.metricKeys));
      return `#/compare-runs?${params.toString()}`;
    }
    case 'models':
      return '#/models';
    case 'model':
      return `#/models/${enc(route.name)}`;
    case 'version':
      return `#/models/${enc(route.name)}/versions/${enc(route.version)}`;
    case 'not-found':
      return `#${route.path}`;
  }
}
