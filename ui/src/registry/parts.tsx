/** Pieces the registry pages share: stage and alias badges, editors for descriptions and tags, run links. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ErrorBox, Link } from '../components/common.js';
import { api, type KeyValue } from '../lib/api.js';
import type { Stage } from './logic.js';
import './registry.css';

/** Runs one write at a time and keeps its error to show next to the control that caused it. */
export function useAction(): {
  busy: boolean;
  error: Error | undefined;
  run: (action: () => Promise<unknown>) => Promise<boolean>;
  clear: () => void;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | undefined>(undefined);
  const run = useCallback(async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
      return true;
    } catch (caught) {
      setError(caught instanceof Error ? caught : new Error(String(caught)));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, clear: useCallback(() => setError(undefined), []) };
}

export function StageBadge(props: { stage: Stage }) {
  return <span class={`stage stage-${props.stage}`}>{props.stage}</span>;
}

export function AliasChip(props: { model: string; alias: string; version?: string }) {
  const chip = <span class="alias-chip">@{props.alias}</span>;
  if (props.version === undefined) return chip;
  return (
    <Link
      to={{ page: 'version', name: props.model, version: props.version }}
      title={`${props.alias} → version ${props.version}`}
    >
      {chip}
    </Link>
  );
}

// One runs/get per run for the whole page life: the version rows of one run share it.
const experimentOfRun = new Map<string, Promise<string | undefined>>();

function experimentOf(runId: string): Promise<string | undefined> {
  let found = experimentOfRun.get(runId);
  if (!found) {
    found = api.getRun(runId).then(
      (answer) => answer.run.info.experiment_id,
      () => undefined,
    );
    experimentOfRun.set(runId, found);
  }
  return found;
}

/** A link to the run page; the run's experiment is looked up, and a run that is gone shows as text. */
export function RunLink(props: { runId: string; children?: ComponentChildren }) {
  const [experimentId, setExperimentId] = useState<string | null | undefined>(undefined);
  useEffect(() => {
    let live = true;
    void experimentOf(props.runId).then((id) => {
      if (live) setExperimentId(id ?? null);
    });
    return () => {
      live = false;
    };
  }, [props.runId]);
  const label = props.children ?? <span class="mono">{props.runId.slice(0, 12)}</span>;
  if (!experimentId) {
    return <span title={experimentId === null ? 'Run not found' : props.runId}>{label}</span>;
  }
  return (
    <Link to={{ page: 'run', experimentId, runId: props.runId, tab: 'overview' }} title={props.runId}>
      {label}
    </Link>
  );
}

const experimentOfLoggedModel = new Map<string, Promise<string | undefined>>();

/**
 * A link to a logged model's page, whose route names its experiment: the experiment id is looked up once
 * per model id.
 */
export function LoggedModelLink(props: { modelId: string }) {
  const [experimentId, setExperimentId] = useState<string | null | undefined>(undefined);
  useEffect(() => {
    let live = true;
    let found = experimentOfLoggedModel.get(props.modelId);
    if (!found) {
      found = api.getLoggedModel(props.modelId).then(
        (answer) => answer.model.info.experiment_id,
        () => undefined,
      );
      experimentOfLoggedModel.set(props.modelId, found);
    }
    void found.then((id) => {
      if (live) setExperimentId(id ?? null);
    });
    return () => {
      live = false;
    };
  }, [props.modelId]);
  const label = <span class="mono">{props.modelId}</span>;
  if (!experimentId)
    return <span title={experimentId === null ? 'Logged model not found' : undefined}>{label}</span>;
  return (
    <Link to={{ page: 'logged-model', experimentId, modelId: props.modelId }} title="Logged model">
      {label}
    </Link>
  );
}

/** A plain-text description, editable in place by `canWrite` callers (EDIT on its resource). */
export function DescriptionEditor(props: {
  text: string | undefined;
  canWrite: boolean;
  onSave: (text: string) => Promise<unknown>;
}) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(props.text ?? '');
  const action = useAction();
  if (!editing) {
    return (
      <div class="description">
        {props.text ? <p class="description-text">{props.text}</p> : <p class="muted">No description.</p>}
        {props.canWrite && (
          <button
            type="button"
            onClick={() => {
              setDraft(props.text ?? '');
              setEditing(true);
            }}
          >
            Edit description
          </button>
        )}
      </div>
    );
  }
  return (
    <form
      class="description"
      onSubmit={async (event) => {
        event.preventDefault();
        if (await action.run(() => props.onSave(draft))) setEditing(false);
      }}
    >
      <label class="visually-hidden" for="description-input">
        Description
      </label>
      <textarea
        id="description-input"
        rows={4}
        value={draft}
        onInput={(event) => setDraft(event.currentTarget.value)}
      />
      {action.error && <ErrorBox error={action.error} />}
      <div class="row">
        <button type="submit" class="primary" disabled={action.busy}>
          Save description
        </button>
        <button type="button" onClick={() => setEditing(false)} disabled={action.busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** Tags as a table; `canWrite` callers (EDIT on its resource) add (or overwrite) and remove them. */
export function TagsEditor(props: {
  tags: readonly KeyValue[] | undefined;
  canWrite: boolean;
  onSet: (key: string, value: string) => Promise<unknown>;
  onDelete: (key: string) => Promise<unknown>;
}) {
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const action = useAction();
  const tags = [...(props.tags ?? [])].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return (
    <div class="tags-editor">
      {tags.length === 0 ? (
        <p class="muted">No tags.</p>
      ) : (
        <table class="grid compact">
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Value</th>
              {props.canWrite && (
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {tags.map((tag) => (
              <tr key={tag.key}>
                <td class="mono">{tag.key}</td>
                <td class="wrap">{tag.value}</td>
                {props.canWrite && (
                  <td>
                    <button
                      type="button"
                      class="link-button danger"
                      disabled={action.busy}
                      aria-label={`Remove tag ${tag.key}`}
                      onClick={() => void action.run(() => props.onDelete(tag.key))}
                    >
                      Remove
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {props.canWrite && (
        <form
          class="row inline-form"
          onSubmit={async (event) => {
            event.preventDefault();
            if (key.trim() === '') return;
            if (await action.run(() => props.onSet(key.trim(), value))) {
              setKey('');
              setValue('');
            }
          }}
        >
          <label>
            Tag key <input value={key} onInput={(event) => setKey(event.currentTarget.value)} />
          </label>
          <label>
            Tag value <input value={value} onInput={(event) => setValue(event.currentTarget.value)} />
          </label>
          <button type="submit" disabled={action.busy || key.trim() === ''}>
            Set tag
          </button>
        </form>
      )}
      {action.error && <ErrorBox error={action.error} />}
    </div>
  );
}

/**
 * Previous/Next over MLflow's page tokens: `tokens` holds the token of every page visited so far (the
 * first is undefined), so Previous is a pop and Next a push of the answer's next_page_token.
 */
export function Pager(props: {
  label: string;
  tokens: (string | undefined)[];
  next: string | undefined;
  loading: boolean;
  onTokens: (tokens: (string | undefined)[]) => void;
}) {
  const { tokens, next } = props;
  const page = tokens.length - 1;
  if (page === 0 && !next) return null;
  return (
    <nav class="pager" aria-label={props.label}>
      <button type="button" disabled={page === 0} onClick={() => props.onTokens(tokens.slice(0, -1))}>
        Previous
      </button>
      <span class="muted">Page {page + 1}</span>
      <button
        type="button"
        disabled={!next || props.loading}
        onClick={() => props.onTokens([...tokens, next])}
      >
        Next
      </button>
    </nav>
  );
}
