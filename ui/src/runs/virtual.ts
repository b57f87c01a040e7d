/**
 * Virtual scrolling arithmetic for a fixed-row-height list: which rows a viewport shows, and when to
 * fetch the next page. Pure (no DOM) so it is unit-tested; the table feeds it scrollTop and height.
 */

export interface RowWindow {
  /** First row index to render. */
  first: number;
  /** One past the last row index to render. */
  last: number;
}

/**
 * Rows intersecting the viewport `[scrollTop, scrollTop + height)`, widened by `overscan` rows each side
 * and clamped to `[0, count)`. `offset` is the height above the first row (the sticky header).
 */
export function visibleWindow(
  scrollTop: number,
  height: number,
  rowHeight: number,
  count: number,
  overscan = 0,
  offset = 0,
): RowWindow {
  if (count <= 0 || rowHeight <= 0) return { first: 0, last: 0 };
  const top = Math.max(0, scrollTop - offset);
  const bottom = Math.max(0, scrollTop + Math.max(0, height) - offset);
  const firstVisible = Math.min(count - 1, Math.floor(top / rowHeight));
  const lastVisible = Math.min(count, Math.ceil(bottom / rowHeight));
  const first = Math.max(0, firstVisible - overscan);
  const last = Math.min(count, Math.max(lastVisible, firstVisible + 1) + overscan);
  return { first, last };
}

/** True when the viewport is within `threshold` rows of the end of what is loaded. */
export function nearEnd(window: RowWindow, count: number, threshold: number): boolean {
  return window.last >= count - threshold;
}
