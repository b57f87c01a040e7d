/**
 * A trace's info (MLflow's TraceInfoV3) as Cairn keeps it, and its JSON on the wire. Times are epoch
 * milliseconds inside; on the wire `request_time` is an RFC 3339 timestamp and `execution_duration` a
 * protobuf Duration string (`"0.026s"`), as MLflow's server writes them (recorded traffic).
 */
import { InvalidParameterValueError } from '../../errors.js';

export const TRACE_STATES = ['STATE_UNSPECIFIED', 'OK', 'ERROR', 'IN_PROGRESS'] as const;
export type TraceState = (typeof TRACE_STATES)[number];

/** Tags the server adds to every trace it returns (MLflow's SQL store does the same). */
export const ARTIFACT_LOCATION_TAG = 'mlflow.artifactLocation';
export const SPANS_LOCATION_TAG = 'mlflow.trace.spansLocation';
/** Says to the client that spans are in the tracking store, so it uploads no `traces.json` artifact. */
export const SPANS_IN_TRACKING_STORE = 'TRACKING_STORE';
export const TRACE_NAME_TAG = 'mlflow.traceName';
export const INFO_FINALIZED_METADATA = 'mlflow.trace.infoFinalized';
/** Request metadata holding the id of the run that was active when the trace was made. */
export const SOURCE_RUN_METADATA = 'mlflow.sourceRun';

export interface TraceInfo {
  traceId: string;
  experimentId: string;
  /** Epoch ms of the root span's start. */
  requestTime: number;
  durationMs?: number;
  state: TraceState;
  clientRequestId?: string;
  requestPreview?: string;
  responsePreview?: string;
  metadata: Record<string, string>;
  tags: Record<string, string>;
  /** Assessments (feedback, expectations) in MLflow's JSON shape, by assessment id. */
  assessments: Record<string, Record<string, unknown>>;
  /** The root span's name, known from the spans before the client's trace info arrives. */
  rootSpanName?: string;
  /** Whether the client's trace info (start_trace) was stored, or only spans so far. */
  infoStored: boolean;
  /** Whether any spans arrived over OTLP. */
  spansRecorded?: boolean;
  /**
   * A trace started by a client before MLflow 3 (StartTrace v2): its spans are the `traces.json` the client
   * uploads to the trace's artifact location, not OTLP spans.
   */
  spansInArtifact?: boolean;
}

/**
 * The tag Cairn adds to a trace whose client info arrived but no spans ever did: on AWS an OTLP export over
 * the 6 MB request limit is refused (413) before it reaches Cairn, and the client then logs the trace's
 * info on its own, which would otherwise list as a whole trace with no spans.
 */
export const SPANS_MISSING_TAG = 'cairn.trace.spansMissing';
export const SPANS_MISSING_MESSAGE =
  "No spans were received for this trace: its span export was refused (Cairn refuses an OTLP export over 6 MB with 413; see the client's log) or has not arrived yet.";

/** The trace's tags as readers see them: the stored ones, and Cairn's note when its spans are missing. */
export function visibleTags(info: TraceInfo): Record<string, string> {
  if (!info.infoStored || info.spansRecorded === true || info.spansInArtifact === true) return info.tags;
  return { ...info.tags, [SPANS_MISSING_TAG]: SPANS_MISSING_MESSAGE };
}

/**
 * MLflow 3 trace ids are `tr-` and the OTel trace id in hex; MLflow 2's request ids (StartTrace v2) are a
 * UUID's 32 hex digits. MLflow's server stores any id of up to 50 characters, and its clients and tests
 * choose their own for StartTraceV3 (`tr-1234`), so any `tr-` id of that length is taken too, as long as
 * it is letters, digits, `_` and `-`: nothing else reaches keys (`#` separates their parts) or S3 paths
 * (no `/`, no `..`).
 */
const TRACE_ID = /^(?:tr-[0-9A-Za-z_-]{1,47}|[0-9a-f]{32})$/;

export function validateTraceId(field: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw new InvalidParameterValueError(`Missing value for required parameter '${field}'.`);
  }
  if (!TRACE_ID.test(value)) {
    throw new InvalidParameterValueError(
      `Invalid value '${value.slice(0, 100)}' for parameter '${field}': a trace id is 'tr-' followed by 1 to 47 letters, digits, '_' or '-' (MLflow 3's are 32 lowercase hex digits), or, from clients before MLflow 3, 32 lowercase hex digits alone.`,
    );
  }
  return value;
}

export function traceIdFromOtelHex(hex: string): string {
  return `tr-${hex}`;
}

/** A protobuf Duration's JSON form for whole milliseconds: `0s`, `0.026s`, `12.500s`. */
export function formatDuration(ms: number): string {
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  const seconds = Math.trunc(ms / 1000);
  const fraction = String(Math.abs(ms % 1000)).padStart(3, '0');
  return `${ms < 0 && seconds === 0 ? '-' : ''}${seconds}.${fraction}s`;
}

export function parseDuration(field: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const match = typeof value === 'string' ? /^(-?\d+)(?:\.(\d{1,9}))?s$/.exec(value) : null;
  if (!match) {
    throw new InvalidParameterValueError(
      `Invalid value for parameter '${field}': expected a duration such as '1.5s'.`,
    );
  }
  const fraction = (match[2] ?? '').padEnd(9, '0');
  const nanos =
    BigInt(match[1] as string) * 1_000_000_000n + BigInt(fraction) * (match[1]?.startsWith('-') ? -1n : 1n);
  return Number(nanos / 1_000_000n);
}

export function parseTimestamp(field: string, value: unknown): number {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new InvalidParameterValueError(
      `Invalid value for parameter '${field}': expected an RFC 3339 timestamp such as '2026-01-01T00:00:00.000Z'.`,
    );
  }
  return ms;
}

export interface TraceInfoContext {
  /** The experiment's artifact location (`mlflow-artifacts:/1`), for the trace's artifact location tag. */
  artifactLocation?: string;
}

/** Where a trace's artifacts (an older client's `traces.json`) live: MLflow's `<experiment>/traces/<id>/artifacts`. */
export function traceArtifactLocation(experimentArtifactLocation: string, traceId: string): string {
  return `${experimentArtifactLocation.replace(/\/+$/, '')}/traces/${traceId}/artifacts`;
}

/**
 * The tags a reader sees: the trace's own, the artifact location MLflow's store adds to every trace, and
 * the spans location (only for spans Cairn holds: an older client's trace has its spans in `traces.json`,
 * and a 3.x client reading it must download that file, as from MLflow's server).
 */
export function serverTags(info: TraceInfo, context: TraceInfoContext = {}): Record<string, string> {
  const tags: Record<string, string> = { ...visibleTags(info) };
  if (context.artifactLocation !== undefined) {
    tags[ARTIFACT_LOCATION_TAG] = traceArtifactLocation(context.artifactLocation, info.traceId);
  }
  if (info.spansInArtifact !== true) tags[SPANS_LOCATION_TAG] = SPANS_IN_TRACKING_STORE;
  return tags;
}

/** Assessments by `create_time` (ISO text, any precision), then by id: a total, stable order. */
function byCreation(left: Record<string, unknown>, right: Record<string, unknown>): number {
  const time = (assessment: Record<string, unknown>) => {
    const parsed = Date.parse(String(assessment.create_time));
    return Number.isNaN(parsed) ? 0 : parsed;
  };
  const id = (assessment: Record<string, unknown>) => String(assessment.assessment_id ?? '');
  return time(left) - time(right) || (id(left) < id(right) ? -1 : id(left) > id(right) ? 1 : 0);
}

/** TraceInfoV3 as MLflow's server answers it. */
export function traceInfoJson(info: TraceInfo, context: TraceInfoContext = {}): Record<string, unknown> {
  const tags = serverTags(info, context);
  if (!Object.hasOwn(tags, TRACE_NAME_TAG) && info.rootSpanName !== undefined)
    tags[TRACE_NAME_TAG] = info.rootSpanName;
  // In creation order, as MLflow answers them: a DynamoDB map keeps no order (DynamoDB Local's differs from
  // insertion order), so the stored map's own order would vary between reads.
  const assessments = Object.values(info.assessments).sort(byCreation);
  return {
    trace_id: info.traceId,
    ...(info.clientRequestId !== undefined ? { client_request_id: info.clientRequestId } : {}),
    trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: info.experimentId } },
    request_time: new Date(info.requestTime).toISOString(),
    ...(info.durationMs !== undefined ? { execution_duration: formatDuration(info.durationMs) } : {}),
    state: info.state,
    // MLflow's store marks a trace whose client info arrived (its SQL store's own flag, read by its UI).
    trace_metadata: { ...info.metadata, ...(info.infoStored ? { [INFO_FINALIZED_METADATA]: 'true' } : {}) },
    tags,
    ...(info.requestPreview !== undefined ? { request_preview: info.requestPreview } : {}),
    ...(info.responsePreview !== undefined ? { response_preview: info.responsePreview } : {}),
    ...(assessments.length > 0 ? { assessments } : {}),
  };
}

/** Limits MLflow states for trace tags (contract: key ≤ 250, value ≤ 8000). */
export const MAX_TAG_KEY = 250;
export const MAX_TAG_VALUE = 8000;
/** Request and response previews: MLflow truncates them client-side; this bounds what a raw caller sends. */
export const MAX_PREVIEW = 10_000;
/** A metadata value; MLflow stores them in a VARCHAR(8000) column. */
export const MAX_METADATA_VALUE = 8000;

function stringMap(field: string, value: unknown, maxValue: number): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidParameterValueError(
      `Invalid value for parameter '${field}': expected an object of strings.`,
    );
  }
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (typeof item !== 'string') {
      throw new InvalidParameterValueError(
        `Invalid value for '${field}.${key.slice(0, 100)}': expected a string.`,
      );
    }
    validateTag(`${field} key`, key, item, maxValue);
    Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

export function validateTag(field: string, key: unknown, value: unknown, maxValue = MAX_TAG_VALUE): void {
  if (typeof key !== 'string' || key === '') {
    throw new InvalidParameterValueError(
      `Missing value for required parameter '${field === 'tag' ? 'key' : field}'.`,
    );
  }
  if (key.length > MAX_TAG_KEY) {
    throw new InvalidParameterValueError(
      `Tag key '${key.slice(0, 100)}…' is longer than ${MAX_TAG_KEY} characters.`,
    );
  }
  if (typeof value === 'string' && value.length > maxValue) {
    throw new InvalidParameterValueError(
      `The value of '${key.slice(0, 100)}' is longer than ${maxValue} characters.`,
    );
  }
}

function optionalString(field: string, value: unknown, max: number): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw new InvalidParameterValueError(`Invalid value for parameter '${field}': expected a string.`);
  return value.length > max ? value.slice(0, max) : value;
}

/** The trace info of a `startTraceV3` request (`{"trace": {"trace_info": {...}}}`). */
export function parseStartTrace(
  fields: Record<string, unknown>,
): Omit<TraceInfo, 'infoStored' | 'assessments'> {
  const trace = fields.trace as Record<string, unknown> | undefined;
  const info = (trace && typeof trace === 'object' ? trace.trace_info : undefined) as
    | Record<string, unknown>
    | undefined;
  if (!info || typeof info !== 'object' || Array.isArray(info)) {
    throw new InvalidParameterValueError("Missing value for required parameter 'trace.trace_info'.");
  }
  const traceId = validateTraceId('trace.trace_info.trace_id', info.trace_id);
  const location = info.trace_location as Record<string, unknown> | undefined;
  const experiment = location?.mlflow_experiment as Record<string, unknown> | undefined;
  const experimentId = experiment?.experiment_id;
  if (typeof experimentId !== 'string' || experimentId === '') {
    throw new InvalidParameterValueError(
      "Missing value for required parameter 'trace.trace_info.trace_location.mlflow_experiment.experiment_id' (Cairn stores traces in experiments only).",
    );
  }
  const state = info.state ?? 'STATE_UNSPECIFIED';
  if (typeof state !== 'string' || !(TRACE_STATES as readonly string[]).includes(state)) {
    throw new InvalidParameterValueError(
      `Invalid value '${String(state).slice(0, 50)}' for parameter 'trace.trace_info.state': expected one of ${TRACE_STATES.join(', ')}.`,
    );
  }
  const durationMs = parseDuration('trace.trace_info.execution_duration', info.execution_duration);
  const clientRequestId = optionalString('trace.trace_info.client_request_id', info.client_request_id, 1000);
  const requestPreview = optionalString(
    'trace.trace_info.request_preview',
    info.request_preview,
    MAX_PREVIEW,
  );
  const responsePreview = optionalString(
    'trace.trace_info.response_preview',
    info.response_preview,
    MAX_PREVIEW,
  );
  return {
    traceId,
    experimentId,
    requestTime: parseTimestamp('trace.trace_info.request_time', info.request_time),
    ...(durationMs !== undefined ? { durationMs } : {}),
    state: state as TraceState,
    ...(clientRequestId !== undefined ? { clientRequestId } : {}),
    ...(requestPreview !== undefined ? { requestPreview } : {}),
    ...(responsePreview !== undefined ? { responsePreview } : {}),
    metadata: stringMap('trace.trace_info.trace_metadata', info.trace_metadata, MAX_METADATA_VALUE),
    tags: stringMap('trace.trace_info.tags', info.tags, MAX_TAG_VALUE),
  };
}
