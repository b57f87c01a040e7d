/**
 * Traces as the UI reads them: MLflow's TraceInfoV3 JSON and OpenTelemetry spans in protobuf JSON (proto
 * field names, base64 ids, int64 nanoseconds as decimal strings), turned into a span tree with times
 * relative to the trace. Pure: no DOM, unit-tested in test/unit/ui.
 */

export type TraceState = 'STATE_UNSPECIFIED' | 'OK' | 'ERROR' | 'IN_PROGRESS';

export interface Assessment {
  assessment_id?: string;
  assessment_name: string;
  trace_id?: string;
  span_id?: string;
  source?: { source_type?: string; source_id?: string };
  create_time?: string;
  last_update_time?: string;
  feedback?: { value?: unknown; error?: { error_code?: string; error_message?: string } };
  expectation?: { value?: unknown; serialized_value?: { serialization_format?: string; value?: string } };
  rationale?: string;
  metadata?: Record<string, string>;
  valid?: boolean;
}

export interface TraceInfo {
  trace_id: string;
  client_request_id?: string;
  trace_location?: { type?: string; mlflow_experiment?: { experiment_id?: string } };
  request_time?: string;
  execution_duration?: string;
  state?: TraceState;
  trace_metadata?: Record<string, string>;
  tags?: Record<string, string>;
  request_preview?: string;
  response_preview?: string;
  assessments?: Assessment[];
}

export interface AnyValue {
  string_value?: string;
  bool_value?: boolean;
  int_value?: string;
  double_value?: number | string;
  array_value?: { values?: AnyValue[] };
  kvlist_value?: { values?: KeyValue[] };
  bytes_value?: string;
}
export interface KeyValue {
  key: string;
  value?: AnyValue;
}
export interface SpanEvent {
  time_unix_nano?: string;
  name: string;
  attributes?: KeyValue[];
}
export interface Span {
  trace_id?: string;
  span_id: string;
  parent_span_id?: string;
  name: string;
  kind?: string;
  start_time_unix_nano: string;
  end_time_unix_nano?: string;
  attributes?: KeyValue[];
  events?: SpanEvent[];
  status?: { code?: string; message?: string };
}

export const TRACE_NAME_TAG = 'mlflow.traceName';
export const SOURCE_RUN_METADATA = 'mlflow.sourceRun';
export const INPUTS_ATTRIBUTE = 'mlflow.spanInputs';
export const OUTPUTS_ATTRIBUTE = 'mlflow.spanOutputs';
export const SPAN_TYPE_ATTRIBUTE = 'mlflow.spanType';

/** A protobuf Duration (`"0.026s"`, `"12s"`) in milliseconds; undefined when absent or unreadable. */
export function durationMs(duration: string | undefined): number | undefined {
  if (!duration) return undefined;
  const match = /^(-?\d+(?:\.\d+)?)s$/.exec(duration);
  return match ? Number(match[1]) * 1000 : undefined;
}

/** Int64 nanoseconds (decimal string) as milliseconds, exact to the microsecond. */
export function nanosToMs(nanos: string | undefined): number | undefined {
  if (nanos === undefined || !/^\d+$/.test(nanos)) return undefined;
  return Number(BigInt(nanos) / 1000n) / 1000;
}

/** Protobuf JSON writes span ids as base64; people (and OTel tools) read them as hex. */
export function idToHex(id: string | undefined): string {
  if (!id) return '';
  if (/^[0-9a-f]{16}$|^[0-9a-f]{32}$/.test(id)) return id;
  try {
    const bytes = atob(id);
    let hex = '';
    for (let i = 0; i < bytes.length; i++) hex += bytes.charCodeAt(i).toString(16).padStart(2, '0');
    return hex;
  } catch {
    return id;
  }
}

/** An OTel AnyValue as plain JSON. */
export function anyValue(value: AnyValue | undefined): unknown {
  if (!value) return null;
  if (value.string_value !== undefined) return value.string_value;
  if (value.bool_value !== undefined) return value.bool_value;
  if (value.int_value !== undefined) {
    const n = Number(value.int_value);
    return Number.isSafeInteger(n) ? n : value.int_value;
  }
  if (value.double_value !== undefined) return Number(value.double_value);
  if (value.array_value) return (value.array_value.values ?? []).map(anyValue);
  if (value.kvlist_value) {
    return Object.fromEntries((value.kvlist_value.values ?? []).map((kv) => [kv.key, anyValue(kv.value)]));
  }
  if (value.bytes_value !== undefined) return value.bytes_value;
  return null;
}

/** An attribute's value as text to show: strings as they are (MLflow's are JSON text), others as JSON. */
export function attributeText(value: AnyValue | undefined): string {
  const plain = anyValue(value);
  return typeof plain === 'string' ? plain : JSON.stringify(plain);
}

export function attribute(span: Span, key: string): AnyValue | undefined {
  return span.attributes?.find((kv) => kv.key === key)?.value;
}

/** MLflow writes its attributes as JSON (`"\"LLM\""`); a short JSON string reads better unquoted. */
export function unquote(text: string): string {
  if (text.length < 2 || !text.startsWith('"') || text.length > 1000) return text;
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'string' ? parsed : text;
  } catch {
    return text;
  }
}

export function spanType(span: Span): string | undefined {
  const value = attribute(span, SPAN_TYPE_ATTRIBUTE);
  return value === undefined ? undefined : unquote(attributeText(value));
}

/** `SPAN_KIND_INTERNAL` → `internal`. */
export function spanKind(span: Span): string | undefined {
  return span.kind ? span.kind.replace(/^SPAN_KIND_/, '').toLowerCase() : undefined;
}

export type SpanStatus = 'OK' | 'ERROR' | 'UNSET';

export function spanStatus(span: Span): SpanStatus {
  if (span.status?.code === 'STATUS_CODE_ERROR') return 'ERROR';
  if (span.status?.code === 'STATUS_CODE_OK') return 'OK';
  return 'UNSET';
}

export interface ExceptionInfo {
  type?: string;
  message?: string;
  stacktrace?: string;
}

/** The exception events of a span (OTel's `exception` event, as MLflow records a raised error). */
export function exceptionsOf(span: Span): ExceptionInfo[] {
  return (span.events ?? [])
    .filter((event) => event.name === 'exception')
    .map((event) => {
      const read = (key: string) => {
        const value = event.attributes?.find((kv) => kv.key === key)?.value;
        return value === undefined ? undefined : attributeText(value);
      };
      const info: ExceptionInfo = {};
      const type = read('exception.type');
      const message = read('exception.message');
      const stacktrace = read('exception.stacktrace');
      if (type !== undefined) info.type = type;
      if (message !== undefined) info.message = message;
      if (stacktrace !== undefined) info.stacktrace = stacktrace;
      return info;
    });
}

export interface SpanNode {
  span: Span;
  /** Hex span id; unique within the tree (a repeated id gets a suffix). */
  id: string;
  parentId: string | undefined;
  depth: number;
  children: SpanNode[];
  /** Epoch milliseconds. */
  startMs: number;
  /** Epoch milliseconds; the start when the span has not ended. */
  endMs: number;
  ended: boolean;
}

export interface SpanTree {
  roots: SpanNode[];
  byId: Map<string, SpanNode>;
  startMs: number;
  endMs: number;
}

/**
 * Parent/child from `parent_span_id`; a span whose parent is not among the spans (not exported yet, or
 * lost) is shown as a root rather than hidden. Children in start order.
 */
export function buildSpanTree(spans: readonly Span[]): SpanTree {
  const byId = new Map<string, SpanNode>();
  const nodes: SpanNode[] = [];
  for (const span of spans) {
    let id = idToHex(span.span_id);
    while (byId.has(id)) id = `${id}'`;
    const startMs = nanosToMs(span.start_time_unix_nano) ?? 0;
    const end = nanosToMs(span.end_time_unix_nano);
    const node: SpanNode = {
      span,
      id,
      parentId: span.parent_span_id ? idToHex(span.parent_span_id) : undefined,
      depth: 0,
      children: [],
      startMs,
      endMs: end !== undefined && end >= startMs ? end : startMs,
      ended: end !== undefined && end > 0,
    };
    byId.set(id, node);
    nodes.push(node);
  }
  const roots: SpanNode[] = [];
  for (const node of nodes) {
    const parent = node.parentId === undefined ? undefined : byId.get(node.parentId);
    if (parent && parent !== node) parent.children.push(node);
    else roots.push(node);
  }
  const byStart = (a: SpanNode, b: SpanNode) => a.startMs - b.startMs;
  roots.sort(byStart);
  // Depths by walking from the roots; a cycle in bad data is never entered twice.
  const seen = new Set<SpanNode>();
  const stack = roots.map((node) => ({ node, depth: 0 }));
  while (stack.length > 0) {
    const { node, depth } = stack.pop() as { node: SpanNode; depth: number };
    if (seen.has(node)) continue;
    seen.add(node);
    node.depth = depth;
    node.children.sort(byStart);
    for (const child of node.children) stack.push({ node: child, depth: depth + 1 });
  }
  let startMs = Number.POSITIVE_INFINITY;
  let endMs = Number.NEGATIVE_INFINITY;
  for (const node of nodes) {
    startMs = Math.min(startMs, node.startMs);
    endMs = Math.max(endMs, node.endMs);
  }
  if (nodes.length === 0) startMs = endMs = 0;
  return { roots, byId, startMs, endMs };
}

/** The rows of the tree as shown: depth first, children of collapsed spans left out. */
export function visibleRows(tree: SpanTree, collapsed: ReadonlySet<string>): SpanNode[] {
  const rows: SpanNode[] = [];
  const seen = new Set<SpanNode>();
  const visit = (node: SpanNode) => {
    if (seen.has(node)) return;
    seen.add(node);
    rows.push(node);
    if (!collapsed.has(node.id)) for (const child of node.children) visit(child);
  };
  for (const root of tree.roots) visit(root);
  return rows;
}

/** A span's bar in the waterfall, in percent of the trace's extent; a zero-length span still shows. */
export function barOf(node: SpanNode, tree: SpanTree): { left: number; width: number } {
  const total = tree.endMs - tree.startMs;
  if (total <= 0) return { left: 0, width: 100 };
  const left = ((node.startMs - tree.startMs) / total) * 100;
  const width = ((node.endMs - node.startMs) / total) * 100;
  return { left: Math.min(Math.max(left, 0), 100), width: Math.max(Math.min(width, 100 - left), 0) };
}

export type TreeKey = 'ArrowUp' | 'ArrowDown' | 'ArrowLeft' | 'ArrowRight' | 'Home' | 'End';

/**
 * What a key does in the span tree (WAI-ARIA tree pattern): up/down move between shown rows, right opens a
 * closed span or moves to its first child, left closes an open span or moves to its parent.
 */
export function treeKey(
  rows: readonly SpanNode[],
  current: string,
  key: TreeKey,
  collapsed: ReadonlySet<string>,
): { focus?: string; toggle?: string } {
  const index = rows.findIndex((row) => row.id === current);
  const node = rows[index];
  if (!node) return rows[0] ? { focus: rows[0].id } : {};
  switch (key) {
    case 'ArrowUp':
      return { focus: (rows[Math.max(index - 1, 0)] as SpanNode).id };
    case 'ArrowDown':
      return { focus: (rows[Math.min(index + 1, rows.length - 1)] as SpanNode).id };
    case 'Home':
      return { focus: (rows[0] as SpanNode).id };
    case 'End':
      return { focus: (rows[rows.length - 1] as SpanNode).id };
    case 'ArrowRight':
      if (node.children.length === 0) return {};
      if (collapsed.has(node.id)) return { toggle: node.id };
      return { focus: (node.children[0] as SpanNode).id };
    case 'ArrowLeft':
      if (node.children.length > 0 && !collapsed.has(node.id)) return { toggle: node.id };
      return node.parentId !== undefined && rows.some((row) => row.id === node.parentId)
        ? { focus: node.parentId }
        : {};
  }
}

/** Tags a person set (MLflow's own `mlflow.*` tags are shown apart). */
export function userTags(tags: Record<string, string> | undefined): [string, string][] {
  return Object.entries(tags ?? {}).filter(([key]) => !key.startsWith('mlflow.'));
}

export function traceName(info: TraceInfo): string | undefined {
  return info.tags?.[TRACE_NAME_TAG] || undefined;
}

export function sourceRunId(info: TraceInfo): string | undefined {
  return info.trace_metadata?.[SOURCE_RUN_METADATA] || undefined;
}

export function stateOf(info: TraceInfo): TraceState {
  return info.state ?? 'STATE_UNSPECIFIED';
}

/** A state as a word for people: `IN_PROGRESS` → `In progress`. */
export function stateLabel(state: TraceState | SpanStatus): string {
  switch (state) {
    case 'OK':
      return 'OK';
    case 'ERROR':
      return 'Error';
    case 'IN_PROGRESS':
      return 'In progress';
    case 'UNSET':
      return 'Unset';
    default:
      return 'Unknown';
  }
}

/** An assessment's value as text: feedback, else expectation (inline or serialized). */
export function assessmentValue(assessment: Assessment): string {
  if (assessment.feedback) {
    if (assessment.feedback.error) {
      const { error_code, error_message } = assessment.feedback.error;
      return `error: ${[error_code, error_message].filter(Boolean).join(' ')}`;
    }
    return valueText(assessment.feedback.value);
  }
  if (assessment.expectation) {
    if (assessment.expectation.serialized_value?.value !== undefined)
      return assessment.expectation.serialized_value.value;
    return valueText(assessment.expectation.value);
  }
  return '';
}

function valueText(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Values past this are not pretty-printed at all (the parse alone would hold the page). */
export const PRETTY_LIMIT = 4_000_000;
/** Characters of a value rendered before "Show all". */
export const SHOWN_CHARS = 20_000;

/**
 * A value (usually JSON text) as shown: pretty-printed when it parses, and cut at `limit` characters so a
 * 2 MB input renders as quickly as a small one; `total` is the length of the whole pretty text.
 */
export function displayValue(
  raw: string,
  limit: number = SHOWN_CHARS,
): { text: string; total: number; truncated: boolean; json: boolean } {
  let pretty = raw;
  let json = false;
  const head = raw.trimStart()[0];
  if (raw.length <= PRETTY_LIMIT && (head === '{' || head === '[' || head === '"')) {
    try {
      const parsed: unknown = JSON.parse(raw);
      pretty = typeof parsed === 'string' ? parsed : JSON.stringify(parsed, null, 2);
      json = typeof parsed !== 'string';
    } catch {
      pretty = raw;
    }
  }
  const truncated = pretty.length > limit;
  return { text: truncated ? pretty.slice(0, limit) : pretty, total: pretty.length, truncated, json };
}

/** Span and trace durations: sub-millisecond spans are common, so three significant digits below 1 s. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms === 0) return '0ms';
  if (ms < 1000) return `${Number(ms.toPrecision(3))}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toPrecision(3))}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m ${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}s`;
}
