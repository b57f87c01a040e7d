/**
 * Series colours: ten mid-lightness hues that keep contrast on both the light (#fff) and dark (#0f1317)
 * backgrounds; past ten runs the hues repeat with a dash pattern so 100 overlaid runs stay tellable apart.
 * Pure: unit-tested.
 */
export const PALETTE = [
  '#3b82f6',
  '#f97316',
  '#10b981',
  '#ef4444',
  '#a855f7',
  '#ca8a04',
  '#06b6d4',
  '#ec4899',
  '#65a30d',
  '#8b8fa3',
] as const;

const DASHES: readonly (readonly number[])[] = [[], [6, 3], [2, 3], [8, 3, 2, 3]];

export function colorOf(index: number): string {
  return PALETTE[((index % PALETTE.length) + PALETTE.length) % PALETTE.length]!;
}

/** A fresh array each call: uPlot keeps the one it is given. */
export function dashOf(index: number): number[] {
  return [...DASHES[Math.floor(index / PALETTE.length) % DASHES.length]!];
}
