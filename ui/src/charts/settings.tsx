/** The controls every chart shares: x axis, log scale, smoothing. The compare page shows one set for all. */
import { useId } from 'preact/hooks';
import type { ChartSettings, XAxisMode } from './plot-data.js';

/** localStorage key of the settings: remembered per browser, shared by the run and compare pages. */
export const SETTINGS_KEY = 'cairn.chart-settings';

const X_AXIS_LABELS: Record<XAxisMode, string> = {
  step: 'Step',
  wall: 'Wall time',
  relative: 'Relative time',
};

export function ChartControls(props: { settings: ChartSettings; onChange: (next: ChartSettings) => void }) {
  const { settings, onChange } = props;
  const id = useId();
  return (
    <fieldset class="chart-controls">
      <legend class="visually-hidden">Chart settings</legend>
      <label for={`${id}-x`}>X axis</label>
      <select
        id={`${id}-x`}
        value={settings.xAxis}
        onChange={(event) => onChange({ ...settings, xAxis: event.currentTarget.value as XAxisMode })}
      >
        {(Object.keys(X_AXIS_LABELS) as XAxisMode[]).map((mode) => (
          <option key={mode} value={mode}>
            {X_AXIS_LABELS[mode]}
          </option>
        ))}
      </select>
      <label class="inline">
        <input
          type="checkbox"
          checked={settings.logY}
          onChange={(event) => onChange({ ...settings, logY: event.currentTarget.checked })}
        />{' '}
        Log scale
      </label>
      <label for={`${id}-smooth`}>Smoothing</label>
      <input
        id={`${id}-smooth`}
        type="range"
        min={0}
        max={0.99}
        step={0.01}
        value={settings.smoothing}
        onInput={(event) => onChange({ ...settings, smoothing: Number(event.currentTarget.value) })}
      />
      <output for={`${id}-smooth`} class="mono small">
        {settings.smoothing.toFixed(2)}
      </output>
    </fieldset>
  );
}
