/** Display formatting shared by every page. Pure: unit-tested without a browser. */

/** `2026-12-06 14:03:12` in the viewer's time zone; empty for a missing time. */
export function formatTime(millis: number | string | undefined | null): string {
  if (millis === undefined || millis === null || millis === '') return '';
  const value = Number(millis);
  if (!Number.isFinite(value) || value <= 0) return '';
  const date = new Date(value);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** `850ms`, `12.3s`, `4m 05s`, `2h 03m`, `3d 4h`; empty when either end is missing. */
export function formatDuration(startMillis: unknown, endMillis: unknown): string {
  const start = Number(startMillis);
  const end = Number(endMillis);
  if (!startMillis || !endMillis || !Number.isFinite(start) || !Number.isFinite(end) || end < start) {
    return '';
  }
  return formatSpan(end - start);
}

export function formatSpan(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const pad = (n: number) => String(Math.floor(n)).padStart(2, '0');
  const minutes = seconds / 60;
  if (minutes < 60) return `${Math.floor(minutes)}m ${pad(seconds % 60)}s`;
  const hours = minutes / 60;
  if (hours < 24) return `${Math.floor(hours)}h ${pad(minutes % 60)}m`;
  return `${Math.floor(hours / 24)}d ${Math.floor(hours % 24)}h`;
}

/** Metric values: up to 6 significant digits, exponent form for very large or small, MLflow's NaN/Infinity. */
export function formatNumber(value: number | string | undefined | null): string {
  if (value === undefined || value === null) return '';
  const number = typeof value === 'string' ? Number(value) : value;
  if (Number.isNaN(number)) return typeof value === 'string' && value !== 'NaN' ? value : 'NaN';
  if (number === Number.POSITIVE_INFINITY) return 'Infinity';
  if (number === Number.NEGATIVE_INFINITY) return '-Infinity';
  if (number === 0) return '0';
  const magnitude = Math.abs(number);
  if (magnitude >= 1e6 || magnitude < 1e-4) return number.toExponential(4).replace(/\.?0+e/, 'e');
  return String(Number(number.toPrecision(6)));
}

/** Bytes as `512 B`, `1.5 KB`, `6.9 MB`. */
export function formatBytes(bytes: number | string | undefined | null): string {
  if (bytes === undefined || bytes === null || bytes === '') return '';
  let value = Number(bytes);
  if (!Number.isFinite(value)) return '';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * A string literal of the server's search grammar: single quotes, an embedded quote doubled (SQL style,
 * as the filter tokenizer reads it), so `it's` becomes `'it''s'`.
 */
export function searchLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * The filter of a name search box (experiments, registered models): `name ILIKE '%text%'`, or none for an
 * empty box. `%` and `_` typed by a person stay wildcards: the grammar has no LIKE escape.
 */
export function nameFilter(text: string): string | undefined {
  const trimmed = text.trim();
  return trimmed === '' ? undefined : `name ILIKE ${searchLiteral(`%${trimmed}%`)}`;
}
