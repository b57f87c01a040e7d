/**
 * A small summary of an MLmodel file (YAML written by MLflow): its flavors and its signature's columns.
 * Not a YAML parser: it reads the few shapes MLflow writes (top-level `key: value`, the flavor names two
 * spaces under `flavors:`, and `inputs`/`outputs` under `signature:` as quoted JSON). Pure: unit-tested.
 */

export interface MLmodelSummary {
  flavors: string[];
  artifactPath?: string;
  modelUuid?: string;
  utcTime?: string;
  /** Column descriptions (`name: type`), or undefined when the file has no signature. */
  inputs?: string[];
  outputs?: string[];
}

/** A YAML scalar as MLflow writes it: plain, 'single' (with '' for a quote) or "double" quoted. */
export function yamlScalar(raw: string): string {
  const value = raw.trim();
  if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) {
    return value.slice(1, -1).replace(/''/g, "'");
  }
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    try {
      return JSON.parse(value) as string;
    } catch {
      return value.slice(1, -1);
    }
  }
  return value;
}

function columns(raw: string): string[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(yamlScalar(raw));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  return parsed.map((column: unknown) => {
    if (column === null || typeof column !== 'object') return String(column);
    const {
      name,
      type,
      tensor_spec: tensorSpec,
    } = column as {
      name?: unknown;
      type?: unknown;
      tensor_spec?: { dtype?: unknown; shape?: unknown };
    };
    const kind =
      typeof type === 'string' && type !== 'tensor'
        ? type
        : tensorSpec
          ? `tensor ${String(tensorSpec.dtype ?? '')}${Array.isArray(tensorSpec.shape) ? ` [${tensorSpec.shape.join(', ')}]` : ''}`
          : String(type ?? '');
    return typeof name === 'string' && name !== '' ? `${name}: ${kind}` : kind;
  });
}

const LINE = /^( *)([A-Za-z0-9_.-]+):(?: (.*))?$/;

export function summarizeMLmodel(text: string): MLmodelSummary {
  const summary: MLmodelSummary = { flavors: [] };
  let section = '';
  for (const line of text.split(/\r?\n/)) {
    const match = LINE.exec(line);
    if (!match) continue;
    const indent = (match[1] ?? '').length;
    const key = match[2] ?? '';
    const value = match[3];
    if (indent === 0) {
      section = key;
      if (value === undefined) continue;
      if (key === 'artifact_path') summary.artifactPath = yamlScalar(value);
      else if (key === 'model_uuid') summary.modelUuid = yamlScalar(value);
      else if (key === 'utc_time_created') summary.utcTime = yamlScalar(value);
      continue;
    }
    if (indent !== 2) continue;
    if (section === 'flavors') summary.flavors.push(key);
    else if (section === 'signature' && value !== undefined) {
      if (key === 'inputs') summary.inputs = columns(value);
      else if (key === 'outputs') summary.outputs = columns(value);
    }
  }
  return summary;
}
