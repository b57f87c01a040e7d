/**
 * The `mlflow.modelVersions` tag MLflow's server keeps on a logged model: every registered model version
 * created from it (`model_id` on create), as `json.dumps` writes the list. MLflow's UI and clients read it
 * as text, so the exact spelling matters: `[{"name": "m", "version": 1}]`, ASCII-escaped.
 */
import type { LoggedModel } from './model.js';

export const MODEL_VERSIONS_TAG = 'mlflow.modelVersions';

/** Python's `json.dumps(str)`: JSON with every non-ASCII code unit escaped (ensure_ascii). */
function pythonJsonString(value: string): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

interface Registration {
  name: string;
  version: number;
}

function parseRegistrations(value: string | undefined): Registration[] {
  if (!value) return [];
  try {
    const parsed: unknown = JSON.parse(value);
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(
      (entry): entry is Registration =>
        typeof entry === 'object' &&
        entry !== null &&
        typeof (entry as Registration).name === 'string' &&
        (typeof (entry as Registration).version === 'number' ||
          typeof (entry as Registration).version === 'string'),
    );
  } catch {
    // A client may have set the tag to anything: MLflow's json.loads would fail; here it starts over.
    return [];
  }
}

/**
 * The model with version `version` of `name` added to its `mlflow.modelVersions` tag, or null when it is
 * listed already (MLflow's rule: a registration is added once) or the tag would outgrow `maxTagValue`.
 */
export function withModelVersion(
  model: LoggedModel,
  name: string,
  version: number,
  now: number,
  maxTagValue: number,
): LoggedModel | null {
  const listed = parseRegistrations(model.tags[MODEL_VERSIONS_TAG]);
  if (listed.some((entry) => entry.name === name && String(entry.version) === String(version))) return null;
  const value = `[${[...listed, { name, version }]
    .map((entry) => `{"name": ${pythonJsonString(entry.name)}, "version": ${JSON.stringify(entry.version)}}`)
    .join(', ')}]`;
  if (value.length > maxTagValue) return null;
  return { ...model, tags: { ...model.tags, [MODEL_VERSIONS_TAG]: value }, lastUpdatedTimestamp: now };
}
