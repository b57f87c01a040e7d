/**
 * The search box over a list (runs, traces): MLflow's filter text, Apply on Enter, Clear once a filter is
 * applied, and beneath it either the server's refusal (the list keeps the last filter that worked) or help.
 */
import type { ComponentChildren } from 'preact';

export function FilterForm(props: {
  /** The input's id; `<id>-error` and `<id>-help` name the paragraph beneath. */
  id: string;
  label: string;
  placeholder: string;
  text: string;
  onText: (text: string) => void;
  /** The filter the list shows now: Clear is offered only when there is one. */
  applied: string;
  onApply: (text: string) => void;
  onClear: () => void;
  /** The server's refusal of the filter, when it refused it. */
  error?: ComponentChildren;
  help: ComponentChildren;
}) {
  const invalid = props.error !== undefined;
  return (
    <>
      <form
        class="filter-form"
        onSubmit={(event) => {
          event.preventDefault();
          props.onApply(props.text);
        }}
      >
        <label for={props.id}>{props.label}</label>
        <input
          id={props.id}
          class="mono filter-input"
          type="search"
          spellcheck={false}
          autoComplete="off"
          placeholder={props.placeholder}
          value={props.text}
          aria-invalid={invalid ? true : undefined}
          aria-describedby={invalid ? `${props.id}-error` : `${props.id}-help`}
          onInput={(event) => props.onText(event.currentTarget.value)}
        />
        <button type="submit">Apply</button>
        {props.applied !== '' && (
          <button type="button" class="link-button" onClick={props.onClear}>
            Clear
          </button>
        )}
      </form>
      {invalid ? (
        <p id={`${props.id}-error`} class="error-text filter-error" role="alert">
          {props.error}
        </p>
      ) : (
        <p id={`${props.id}-help`} class="muted small filter-help">
          {props.help}
        </p>
      )}
    </>
  );
}
