/**
 * The artifacts browser: a tree whose directories load when opened, and a preview of the file the URL
 * names (`#/experiments/<id>/runs/<run>/artifacts/<path>`), so a preview can be shared as a link.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ErrorBox, Loading } from '../components/common.js';
import { api, type FileInfo, type Run } from '../lib/api.js';
import { formatBytes } from '../lib/format.js';
import { formatHash } from '../lib/route.js';
import { ancestors, artifactRoot, baseName, parentPath } from './paths.js';
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

export function ArtifactsTab(props: { run: Run; experimentId: string; selected?: string }) {
  const runId = props.run.info.run_id;
  const root = artifactRoot(props.run.info.artifact_uri, props.experimentId, runId);
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
      api.listArtifacts(runId, dir).then(
        (answer) =>
          setDirs((previous) => ({ ...previous, [dir]: { files: sortEntries(answer.files ?? []) } })),
        (error: unknown) =>
          setDirs((previous) => ({
            ...previous,
            [dir]: { error: error instanceof Error ? error : new Error(String(error)) },
          })),
      );
    },
    [runId],
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
  const hrefOf = (path: string) =>
    formatHash({
      page: 'run',
      experimentId: props.experimentId,
      runId,
      tab: 'artifacts',
      artifactPath: path,
    });

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
          return (
            <li key={file.path}>
              <a
                class={current ? 'tree-file selected' : 'tree-file'}
                href={hrefOf(file.path)}
                aria-current={current ? 'true' : undefined}
              >
                <span class="tree-name">{name}</span>
                <span class="muted small">{formatBytes(file.file_size)}</span>
              </a>
            </li>
          );
        })}
      </ul>
    );
  };

  return (
    <div class="artifacts">
      <nav class="artifact-tree" aria-label="Artifact files">
        {rootDir?.files?.length === 0 ? <p class="muted">This run has no artifacts.</p> : level('', 0)}
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
            hrefOf={hrefOf}
          />
        )}
      </section>
    </div>
  );
}
