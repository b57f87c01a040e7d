/**
 * The "Columns" chooser: every param, metric and tag key seen in the loaded runs, with a search box,
 * because experiments with thousands of keys exist (mlflow/mlflow#11927) and a flat list would not do.
 */
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { columnId, type KeyColumn, type KeyKind, type SeenKeys, sortedKeys } from './columns.js';

/** Enough to find a key by scrolling; more would make the panel itself slow. */
const MAX_LISTED = 200;

const GROUPS: readonly { kind: KeyKind; label: string; of: (seen: SeenKeys) => Set<string> }[] = [
  { kind: 'param', label: 'Params', of: (seen) => seen.params },
  { kind: 'metric', label: 'Metrics', of: (seen) => seen.metrics },
  { kind: 'tag', label: 'Tags', of: (seen) => seen.tags },
];

export function ColumnChooser(props: {
  seen: SeenKeys;
  columns: readonly KeyColumn[];
  customised: boolean;
  onToggle: (column: KeyColumn) => void;
  onReset: () => void;
}) {
  const [query, setQuery] = useState('');
  const searchId = useId();
  const chosen = new Set(props.columns.map(columnId));
  const needle = query.trim().toLowerCase();
  const panel = useRef<HTMLDetailsElement>(null);
  // A menu closes on Escape and on a click elsewhere, as people expect; <details> alone does neither.
  useEffect(() => {
    const close = (focusSummary: boolean) => {
      const element = panel.current;
      if (!element?.open) return;
      element.open = false;
      if (focusSummary) element.querySelector('summary')?.focus();
    };
    const onPointer = (event: PointerEvent) => {
      if (panel.current && !panel.current.contains(event.target as Node)) close(false);
    };
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') close(true);
    };
    document.addEventListener('pointerdown', onPointer);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('pointerdown', onPointer);
      document.removeEventListener('keydown', onKey);
    };
  }, []);
  return (
    <details class="column-chooser" ref={panel}>
      <summary>Columns ({props.columns.length})</summary>
      <div class="chooser-panel">
        <label for={searchId} class="visually-hidden">
          Find a key
        </label>
        <input
          id={searchId}
          type="search"
          placeholder="Find a key"
          value={query}
          onInput={(event) => setQuery(event.currentTarget.value)}
        />
        {props.customised && (
          <button type="button" class="link-button" onClick={props.onReset}>
            Reset to default
          </button>
        )}
        {GROUPS.map((group) => {
          const all = sortedKeys(group.of(props.seen));
          const matching = needle ? all.filter((key) => key.toLowerCase().includes(needle)) : all;
          return (
            <fieldset key={group.kind}>
              <legend>
                {group.label} <span class="muted small">({all.length})</span>
              </legend>
              {matching.length === 0 && <p class="muted small">None{needle ? ' match' : ' seen yet'}.</p>}
              {matching.slice(0, MAX_LISTED).map((key) => {
                const column = { kind: group.kind, key };
                return (
                  <label key={key} class="chooser-item">
                    <input
                      type="checkbox"
                      checked={chosen.has(columnId(column))}
                      onChange={() => props.onToggle(column)}
                    />
                    <span>{key}</span>
                  </label>
                );
              })}
              {matching.length > MAX_LISTED && (
                <p class="muted small">{matching.length - MAX_LISTED} more; type to narrow the list.</p>
              )}
            </fieldset>
          );
        })}
      </div>
    </details>
  );
}
