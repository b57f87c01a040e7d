/** The registry's entities. Types only, so that search and store modules need not import the service. */

/** MLflow's model version stages (the service lists them in STAGES). */
export type Stage = 'None' | 'Staging' | 'Production' | 'Archived';

export interface RegisteredModel {
  /** Immutable internal id; the name can change (rename), the id never does. */
  modelId: string;
  name: string;
  description?: string;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
  userId?: string;
  tags: Record<string, string>;
  /** alias → version number. */
  aliases: Record<string, number>;
}

export interface ModelVersion {
  modelId: string;
  version: number;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
  userId?: string;
  currentStage: Stage;
  description?: string;
  source: string;
  runId?: string;
  runLink?: string;
  /** The logged model (`m-<hex>`) this version was registered from, if any. */
  loggedModelId?: string;
  /**
   * Where the version's files are, when not at `source`: a `models:/m-<id>` source is stored at the
   * logged model's artifact location (what get-download-uri answers).
   */
  storageLocation?: string;
  status: 'READY';
  tags: Record<string, string>;
}
