/**
 * The artifacts browser: a tree whose directories load when opened, and a preview of the selected file.
 * A run's tab keeps the file in the URL (`#/experiments/<id>/runs/<run>/artifacts/<path>`), so a preview
 * can be shared as a link; a logged model's files (any artifact root) are browsed the same way.
 */
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { ErrorBox, Loading } from '../components/common.js';
import { api, type FileInfo, get, type Run } from '../lib/api.js';
import { formatBytes } from '../lib/format.js';
import { formatHash } from '../lib/route.js';
import { ancestors, artifactRoot, baseName, joinPath, parentPath } from './paths.js';
import { Preview } from './preview.js';
import './artifacts.css';

interface Dir {
  files?: FileInfo[];
  error?: Error;
}

/** Directories first, then files, each by name: the order file browsers use. */
function sortEntries(files: readonly FileInfo[]): FileInfo[] {
  return [...files].sort((a, b) =>
    Boolean(a.is_dir) !== Boolean(b.is_dir)
      ? a.is_dir
        ? -1
        : 1
      : a.path < b.path
        ? -1
        : a.path > b.path
          ? 1
          : 0,
  );
}

/** What a browser lists: the root-relative artifact root, and a listing giving root-relative paths. */
export interface ArtifactSource {
  root: string;
  list: (dir: string) => Promise<FileInfo[]>;
  /** Said when the root holds nothing. */
  emptyText: string;
}

/**
 * Any artifact root (a logged model's `mlflow-artifacts:/<exp>/models/<id>/artifacts`) through the proxied
 * listing, which names entries by their last segment only: they are made root-relative here.
 */
export function proxiedSource(root: string, emptyText: string): ArtifactSource {
  return {
    root,
    emptyText,
    list: async (dir) => {
      const answer = await get<{ files?: FileInfo[] }>('/api/2.0/mlflow-artifacts/artifacts', {
        path: joinPath(root, dir),
      });
      return (answer.files ?? []).map((file) => ({ ...file, path: joinPath(dir, baseName(file.path)) }));
    },
  };
}

export function ArtifactsTab(props: { run: Run; experimentId: string; selected?: string }) {
  const runId = props.run.info.run_id;
  const root = artifactRoot(props.run.info.artifact_uri, props.experimentId, runId);
  const source = useMemo<ArtifactSource>(
    () => ({
      root,
      emptyText: 'This run has no artifacts.',
      list: async (dir) => (await api.listArtifacts(runId, dir)).files ?? [],
    }),
    [root, runId],
  );
  const hrefOf = useCallback(
    (path: string) =>
      formatHash({
        page: 'run',
        experimentId: props.experimentId,
        runId,
        tab: 'artifacts',
        artifactPath: path,
      }),
    [props.experimentId, runId],
  );
  return <ArtifactBrowser source={source} selected={props.selected} hrefOf={hrefOf} />;
}

/**
 * The tree and preview of one artifact root. With `hrefOf` files are links (the URL holds the selection);
 * with `onSelect` they are buttons and the caller keeps the selection.
 */
export function ArtifactBrowser(props: {
  source: ArtifactSource;
  selected?: string;
  hrefOf?: (path: string) => string;
  onSelect?: (path: string) => void;
}) {
  const { root, list } = props.source;
  const selected = props.selected ?? '';
  const [dirs, setDirs] = useState<Record<string, Dir>>({});
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(() => new Set(ancestors(selected)));

  // A link to a nested file opens the directories above it.
  useEffect(() => {
    const above = ancestors(selected);
    if (above.some((dir) => !expanded.has(dir))) setExpanded(new Set([...expanded, ...above]));
  }, [selected]);

  const load = useCallback(
    (dir: string) => {
      list(dir).then(
        (files) => setDirs((previous) => ({ ...previous, [dir]: { files: sortEntries(files) } })),
        (error: unknown) =>
          setDirs((previous) => ({
            ...previous,
            [dir]: { error: error instanceof Error ? error : new Error(String(error)) },
          })),
      );
    },
    [list],
  );

  useEffect(() => {
    for (const dir of ['', ...expanded]) {
      if (dirs[dir] === undefined) {
        // Marks the directory as requested so it is fetched once.
        setDirs((previous) => (previous[dir] ? previous : { ...previous, [dir]: {} }));
        load(dir);
      }
    }
  }, [expanded, load]);

  const toggle = (dir: string) => {
    const next = new Set(expanded);
    if (next.has(dir)) next.delete(dir);
    else next.add(dir);
    setExpanded(next);
  };

  const entry =
    selected === '' ? undefined : dirs[parentPath(selected)]?.files?.find((f) => f.path === selected);
  const parentLoaded = selected === '' || dirs[parentPath(selected)]?.files !== undefined;
  // A linked file whose folder cannot be listed (a bad path, a 403) says so instead of loading forever.
  const parentError = selected === '' ? undefined : dirs[parentPath(selected)]?.error;

  // A link may name a directory: open it in the tree.
  useEffect(() => {
    if (entry?.is_dir && !expanded.has(entry.path)) setExpanded(new Set([...expanded, entry.path]));
  }, [entry?.path, entry?.is_dir]);

  const rootDir = dirs[''];
  // A render function, not a component: a component defined here would be a new type on every render and
  // remount the tree, losing the focus of the directory button just pressed.
  const level = (dir: string, depth: number) => {
    const state = dirs[dir];
    if (!state || (!state.files && !state.error)) return <Loading label="Listing…" />;
    if (state.error) return <ErrorBox error={state.error} onRetry={() => load(dir)} />;
    const files = state.files ?? [];
    if (files.length === 0) return <p class="muted small tree-empty">Empty</p>;
    return (
      <ul class="tree-level">
        {files.map((file) => {
          const name = baseName(file.path);
          if (file.is_dir) {
            const open = expanded.has(file.path);
            return (
              <li key={file.path}>
                <button type="button" class="tree-dir" aria-expanded={open} onClick={() => toggle(file.path)}>
                  <span class="tree-caret" aria-hidden="true">
                    {open ? '▾' : '▸'}
                  </span>
                  {name}/
                </button>
                {open && level(file.path, depth + 1)}
              </li>
            );
          }
          const current = file.path === selected;
          const label = (
            <>
              <span class="tree-name">{name}</span>
              <span class="muted small">{formatBytes(file.file_size)}</span>
            </>
          );
          const onSelect = props.onSelect;
          return (
            <li key={file.path}>
              {onSelect ? (
                <button
                  type="button"
                  class={current ? 'tree-file selected' : 'tree-file'}
                  aria-current={current ? 'true' : undefined}
                  onClick={() => onSelect(file.path)}
                >
                  {label}
                </button>
              ) : (
                <a
                  class={current ? 'tree-file selected' : 'tree-file'}
                  href={props.hrefOf?.(file.path)}
                  aria-current={current ? 'true' : undefined}
                >
                  {label}
                </a>
              )}
            </li>
          );
        })}
      </ul>
    );
  };

  return (
    <div class="artifacts">
      <nav class="artifact-tree" aria-label="Artifact files">
        {rootDir?.files?.length === 0 ? <p class="muted">{props.source.emptyText}</p> : level('', 0)}
      </nav>
      <section class="artifact-preview" aria-label="Preview">
        {selected === '' ? (
          <p class="muted">Select a file to preview it.</p>
        ) : parentError ? (
          <ErrorBox error={parentError} onRetry={() => load(parentPath(selected))} />
        ) : !parentLoaded ? (
          <Loading />
        ) : entry?.is_dir ? (
          <p class="muted">
            <code>{selected}</code> is a directory: pick a file in it.
          </p>
        ) : (
          <Preview
            key={selected}
            root={root}
            path={selected}
            size={entry?.file_size === undefined ? undefined : Number(entry.file_size)}
            hrefOf={props.hrefOf}
            onSelect={props.onSelect}
          />
        )}
      </section>
    </div>
  );
}
