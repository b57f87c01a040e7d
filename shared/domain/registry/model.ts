/** The model registry's entities: registered models and their versions. */

export const STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;
export type Stage = (typeof STAGES)[number];

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
