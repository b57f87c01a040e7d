/**
 * A RunChange as one DynamoDB update of the RUN item: only what changed is written (a param write does not
 * rewrite the run's other params), under the version the change was decided from.
 */
import type { UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import type { RunChange } from '../../domain/runs/model.js';
import { storedKey, toStoredMap } from '../items.js';
import type { RunItem } from './entity.js';

/** RunChange fields written as whole attributes of the RUN item. */
const WHOLE_ATTRIBUTES = [
  ['runName', 'run_name'],
  ['status', 'status'],
  ['endTime', 'end_time'],
  ['datasets', 'datasets'],
  ['modelOutputs', 'model_outputs'],
  ['modelInputs', 'model_inputs'],
] as const satisfies readonly (readonly [keyof RunChange, keyof RunItem])[];

/** The UpdateExpression, names and values of `change`, conditional on the item still being at `readVer`. */
export function runUpdate(
  change: RunChange,
  readVer: number,
): Pick<
  UpdateCommandInput,
  'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
> {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ':read': readVer, ':one': 1 };
  const sets: string[] = [];
  const removes: string[] = [];
  let n = 0;
  const placeholder = (key: string) => {
    const name = `#k${n++}`;
    names[name] = storedKey(key);
    return name;
  };
  for (const [key, value] of Object.entries(change.params ?? {})) {
    sets.push(`params.${placeholder(key)} = :v${n}`);
    values[`:v${n}`] = value;
  }
  for (const [key, value] of Object.entries(change.tags ?? {})) {
    sets.push(`tags.${placeholder(key)} = :v${n}`);
    values[`:v${n}`] = value;
  }
  for (const key of change.deleteTags ?? []) removes.push(`tags.${placeholder(key)}`);
  for (const [field, attribute] of WHOLE_ATTRIBUTES) {
    const value = change[field];
    if (value === undefined) continue;
    names[`#${attribute}`] = attribute;
    values[`:${attribute}`] = value;
    sets.push(`#${attribute} = :${attribute}`);
  }
  sets.push('ver = ver + :one');
  return {
    UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
    ConditionExpression: 'ver = :read',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/** The RUN item as `change` would leave it, near enough to measure its size before writing. */
export function projectedRunItem(item: RunItem, change: RunChange): RunItem {
  return {
    ...item,
    params: { ...item.params, ...toStoredMap(change.params ?? {}) },
    tags: { ...item.tags, ...toStoredMap(change.tags ?? {}) },
    ...(change.datasets ? { datasets: change.datasets } : {}),
    ...(change.modelOutputs ? { model_outputs: change.modelOutputs } : {}),
    ...(change.modelInputs ? { model_inputs: change.modelInputs } : {}),
  };
}
