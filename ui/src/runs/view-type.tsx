/** Active / Deleted / All, as MLflow's view_type and run_view_type name them. */
import { useId } from 'preact/hooks';

export type ViewType = 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';

const OPTIONS: readonly { value: ViewType; label: string }[] = [
  { value: 'ACTIVE_ONLY', label: 'Active' },
  { value: 'DELETED_ONLY', label: 'Deleted' },
  { value: 'ALL', label: 'All' },
];

export function ViewTypeSelect(props: {
  value: ViewType;
  onChange: (value: ViewType) => void;
  label: string;
}) {
  const id = useId();
  return (
    <span class="view-type">
      <label for={id}>{props.label}</label>
      <select
        id={id}
        value={props.value}
        onChange={(event) => props.onChange(event.currentTarget.value as ViewType)}
      >
        {OPTIONS.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
    </span>
  );
}
