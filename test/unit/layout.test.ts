/**
 * The import rule that keeps each concept in one home: `shared/` is what the functions share, so it
 * never reaches into the entry points that wire them together (`functions/`, `local/`, `bin/`, `infra/`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const ENTRY_POINTS = ['functions', 'local', 'bin', 'infra'].map((dir) => join(ROOT, dir));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Relative specifiers of static imports, re-exports and dynamic imports. */
function specifiers(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'(\.[^']+)'/g)) {
    found.push(match[1] as string);
  }
  return found;
}

describe('shared/', () => {
  it('imports nothing from functions/, local/, bin/ or infra/', () => {
    const offending: string[] = [];
    for (const file of sources(join(ROOT, 'shared'))) {
      for (const specifier of specifiers(readFileSync(file, 'utf8'))) {
        const target = resolve(file, '..', specifier);
        if (ENTRY_POINTS.some((dir) => target === dir || target.startsWith(`${dir}/`))) {
          offending.push(`${relative(ROOT, file)} imports ${specifier}`);
        }
      }
    }
    expect(offending).toEqual([]);
  });
});
