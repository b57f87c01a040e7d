/** Which metric keys get a chart: a filterable checkbox list inside a disclosure. */
import { useState } from 'preact/hooks';

export function MetricKeyChooser(props: {
  all: readonly string[];
  common: readonly string[];
  chosen: readonly string[];
  onChange: (keys: string[]) => void;
}) {
  const [filter, setFilter] = useState('');
  const needle = filter.trim().toLowerCase();
  const shown = needle === '' ? props.all : props.all.filter((key) => key.toLowerCase().includes(needle));
  const chosen = new Set(props.chosen);
  const toggle = (key: string, on: boolean) => {
    // Keep the order of `all`, so charts do not jump around as keys are ticked.
    props.onChange(props.all.filter((candidate) => (candidate === key ? on : chosen.has(candidate))));
  };
  return (
    <details class="key-chooser">
      <summary>
        Metrics ({props.chosen.length} of {props.all.length} charted)
      </summary>
      <div class="key-chooser-body">
        <label>
          <span class="visually-hidden">Filter metric keys</span>
          <input
            type="search"
            placeholder="Filter keys"
            value={filter}
            onInput={(event) => setFilter(event.currentTarget.value)}
          />
        </label>
        <div class="key-chooser-actions">
          <button type="button" onClick={() => props.onChange([...props.common])}>
            Common to all
          </button>
          <button type="button" onClick={() => props.onChange([])}>
            None
          </button>
        </div>
        <ul>
          {shown.map((key) => (
            <li key={key}>
              <label>
                <input
                  type="checkbox"
                  checked={chosen.has(key)}
                  onChange={(event) => toggle(key, event.currentTarget.checked)}
                />{' '}
                <span class="mono">{key}</span>
                {!props.common.includes(key) && <span class="muted small"> (some runs)</span>}
              </label>
            </li>
          ))}
        </ul>
      </div>
    </details>
  );
}
