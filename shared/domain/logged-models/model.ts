/** The logged model entity. Types only, so that search and store modules need not import the service. */
import type { LifecycleStage } from '../experiments/model.js';

/** MLflow's LoggedModelStatus (the service lists them in LOGGED_MODEL_STATUSES). */
export type LoggedModelStatus =
  | 'LOGGED_MODEL_STATUS_UNSPECIFIED'
  | 'LOGGED_MODEL_PENDING'
  | 'LOGGED_MODEL_READY'
  | 'LOGGED_MODEL_UPLOAD_FAILED';

/** The latest value of one metric logged against a model, per (key, dataset). */
export interface LoggedModelMetric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
  runId?: string;
  datasetName?: string;
  datasetDigest?: string;
}

export interface LoggedModel {
  modelId: string;
  experimentId: string;
  name: string;
  artifactUri: string;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
  status: LoggedModelStatus;
  lifecycleStage: LifecycleStage;
  modelType?: string;
  sourceRunId?: string;
  statusMessage?: string;
  tags: Record<string, string>;
  params: Record<string, string>;
  metrics: LoggedModelMetric[];
}
