/**
 * Seeds a small, realistic tracking store through the REST API only (as a training script would): an
 * experiment with a parent run and nested trials (params, tags, loss/accuracy histories), artifacts of
 * several kinds on the first trial, and a registered model with a version, an alias and a stage.
 */

export interface Seeded {
  experimentId: string;
  experimentName: string;
  parentRunId: string;
  /** Trials in creation order; `trials[0]` holds the artifacts. */
  trials: { runId: string; name: string; params: Record<string, string> }[];
  modelName: string;
  version: string;
  /** A logged model (MLflow 3 `log_model`) of `trials[0]`, holding one file, `MLmodel`. */
  loggedModel: { modelId: string; name: string };
}

/** A page script in the HTML artifact would set this flag (and open a dialog) if it ever ran. */
export const HTML_SCRIPT_FLAG = '__cairnArtifactScriptRan';

export class Client {
  constructor(
    readonly baseUrl: string,
    readonly token?: string,
  ) {}

  private headers(type = 'application/json'): Record<string, string> {
    return { 'content-type': type, ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) };
  }

  async call<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: this.headers(),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  mlflow<T = Record<string, unknown>>(endpoint: string, body: unknown): Promise<T> {
    return this.call<T>('POST', `/api/2.0/mlflow/${endpoint}`, body);
  }

  async putArtifact(
    experimentId: string,
    runId: string,
    path: string,
    body: string | Uint8Array,
    type: string,
  ) {
    const url = `${this.baseUrl}/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/${path}`;
    const response = await fetch(url, { method: 'PUT', headers: this.headers(type), body });
    if (!response.ok) throw new Error(`PUT ${path}: ${response.status} ${await response.text()}`);
  }
}

// A 2×2 PNG, enough for the image preview.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAYAAABytg0kAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==',
  'base64',
);

export async function seedDemo(
  baseUrl: string,
  options: { token?: string; trials?: number; steps?: number } = {},
): Promise<Seeded> {
  const client = new Client(baseUrl, options.token);
  const trialCount = options.trials ?? 6;
  const steps = options.steps ?? 200;
  const experimentName = 'churn-classifier';
  const { experiment_id: experimentId } = await client.mlflow<{ experiment_id: string }>(
    'experiments/create',
    { name: experimentName, tags: [{ key: 'team', value: 'growth' }] },
  );
  await client.mlflow('experiments/create', { name: 'churn-baselines' });
  const now = Date.now();
  const createRun = async (name: string, tags: { key: string; value: string }[], startAgo: number) =>
    (
      await client.mlflow<{ run: { info: { run_id: string } } }>('runs/create', {
        experiment_id: experimentId,
        run_name: name,
        start_time: now - startAgo,
        tags,
      })
    ).run.info.run_id;

  const parentRunId = await createRun('lr-sweep', [{ key: 'mlflow.user', value: 'dana' }], 3_600_000);
  const trials: Seeded['trials'] = [];
  for (let i = 0; i < trialCount; i++) {
    const name = `trial-${i}`;
    const params = {
      learning_rate: String([0.3, 0.1, 0.03, 0.01, 0.003, 0.001][i % 6]),
      max_depth: String(3 + (i % 4)),
      optimizer: i % 2 ? 'adam' : 'sgd',
    };
    const runId = await createRun(
      name,
      [
        { key: 'mlflow.parentRunId', value: parentRunId },
        { key: 'mlflow.user', value: 'dana' },
        { key: 'mlflow.source.name', value: 'train.py' },
      ],
      3_500_000 - i * 60_000,
    );
    const metrics: { key: string; value: number; timestamp: number; step: number }[] = [];
    for (let step = 0; step < steps; step++) {
      const loss = 1.5 * Math.exp(-step / (30 + i * 12)) + 0.08 + 0.02 * Math.sin(step / 3 + i);
      metrics.push({ key: 'loss', value: loss, timestamp: now + step * 1000, step });
      if (step % 5 === 0) {
        metrics.push({ key: 'accuracy', value: 0.98 - loss / 2, timestamp: now + step * 1000, step });
      }
    }
    // Logged once, as `mlflow.log_metric('final_auc', x)` at the end of training: a chart of one point.
    metrics.push({ key: 'final_auc', value: 0.9 + i / 100, timestamp: now + steps * 1000, step: steps });
    for (let k = 0; k < metrics.length; k += 1000) {
      await client.mlflow('runs/log-batch', {
        run_id: runId,
        metrics: metrics.slice(k, k + 1000),
        params: k === 0 ? Object.entries(params).map(([key, value]) => ({ key, value })) : [],
      });
    }
    await client.mlflow('runs/update', {
      run_id: runId,
      status: i === 3 ? 'FAILED' : 'FINISHED',
      end_time: now - 3_000_000 + i * 60_000,
    });
    trials.push({ runId, name, params });
  }

  const first = trials[0] as Seeded['trials'][number];
  const put = (path: string, body: string | Uint8Array, type: string) =>
    client.putArtifact(experimentId, first.runId, path, body, type);
  await put('notes.txt', 'Trained on the March snapshot; early stopping at patience 5.\n', 'text/plain');
  await put(
    'config.json',
    JSON.stringify({ learning_rate: 0.3, layers: [64, 32] }, null, 2),
    'application/json',
  );
  await put(
    'predictions.csv',
    'customer,churn_probability\nc-104,0.82\nc-221,0.07\nc-318,0.44\n',
    'text/csv',
  );
  await put(
    'report.html',
    `<html><body><h1>Churn report</h1><script>window.${HTML_SCRIPT_FLAG} = true; alert('ran');</script></body></html>`,
    'text/html',
  );
  await put('plots/roc.png', PNG, 'image/png');
  await put(
    'model/MLmodel',
    'artifact_path: model\nflavors:\n  sklearn:\n    sklearn_version: 1.5.0\nmodel_uuid: 3f2a\n',
    'text/yaml',
  );
  await put('model/model.pkl', new Uint8Array(2048).fill(7), 'application/octet-stream');

  const modelName = 'churn-model';
  await client.mlflow('registered-models/create', {
    name: modelName,
    description: 'Gradient-boosted churn classifier',
    tags: [{ key: 'owner', value: 'dana' }],
  });
  const created = await client.mlflow<{ model_version: { version: string } }>('model-versions/create', {
    name: modelName,
    source: `runs:/${first.runId}/model`,
    run_id: first.runId,
  });
  const version = created.model_version.version;
  await client.mlflow('registered-models/alias', { name: modelName, alias: 'champion', version });
  await client.mlflow('model-versions/transition-stage', {
    name: modelName,
    version,
    stage: 'Staging',
    archive_existing_versions: false,
  });

  // As MLflow 3's log_model does: create the logged model, upload its files under its own artifact root,
  // finalize it, and record it as the run's output.
  const { model } = await client.mlflow<{ model: { info: { model_id: string; artifact_uri: string } } }>(
    'logged-models',
    { experiment_id: experimentId, name: 'churn-logged', source_run_id: first.runId },
  );
  const modelId = model.info.model_id;
  const modelRoot = model.info.artifact_uri.replace(/^mlflow-artifacts:\/*/, '');
  const uploaded = await fetch(`${baseUrl}/api/2.0/mlflow-artifacts/artifacts/${modelRoot}/MLmodel`, {
    method: 'PUT',
    headers: {
      'content-type': 'text/yaml',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    body: 'artifact_path: churn-logged\nflavors:\n  sklearn:\n    sklearn_version: 1.5.0\nmodel_id: logged\n',
  });
  if (!uploaded.ok) throw new Error(`PUT MLmodel: ${uploaded.status} ${await uploaded.text()}`);
  await client.call('PATCH', `/api/2.0/mlflow/logged-models/${modelId}`, { status: 'LOGGED_MODEL_READY' });
  await client.mlflow('runs/outputs', { run_id: first.runId, models: [{ model_id: modelId, step: 0 }] });

  return {
    experimentId,
    experimentName,
    parentRunId,
    trials,
    modelName,
    version,
    loggedModel: { modelId, name: 'churn-logged' },
  };
}
