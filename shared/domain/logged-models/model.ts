/** The logged-model entity (MLflow 3). No AWS imports (design decision 4). */
import type { LifecycleStage } from '../experiments/model.js';

export const LOGGED_MODEL_STATUSES = [
  'LOGGED_MODEL_STATUS_UNSPECIFIED',
  'LOGGED_MODEL_PENDING',
  'LOGGED_MODEL_READY',
  'LOGGED_MODEL_UPLOAD_FAILED',
] as const;
export type LoggedModelStatus = (typeof LOGGED_MODEL_STATUSES)[number];

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
  /**
   * Why `sourceRunId` could not be verified when the model was created (no such run): MLflow stores such
   * models, and so does Cairn, but a version registered from one is unverified (registry/sources.ts).
   */
  unverified?: string;
  statusMessage?: string;
  tags: Record<string, string>;
  params: Record<string, string>;
  metrics: LoggedModelMetric[];
}
