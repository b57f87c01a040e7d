import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ancestors,
  artifactRoot,
  baseName,
  breadcrumbs,
  joinPath,
  parentPath,
  presignedPath,
} from '../../../ui/src/artifacts/paths.js';

const RUN = '012a23728a1e4696b5a68e07bc2c9125';

describe('artifact paths', () => {
  it("maps a run's artifact_uri to the proxied path's root", () => {
    expect(artifactRoot(`mlflow-artifacts:/1/${RUN}/artifacts`, '1', RUN)).toBe(`1/${RUN}/artifacts`);
    expect(artifactRoot(`mlflow-artifacts://host:5000/7/${RUN}/artifacts/`, '1', RUN)).toBe(
      `7/${RUN}/artifacts`,
    );
    // Anything else (an s3:// root, nothing) falls back to Cairn's layout.
    expect(artifactRoot(undefined, '3', RUN)).toBe(`3/${RUN}/artifacts`);
    expect(artifactRoot('s3://bucket/x', '3', RUN)).toBe(`3/${RUN}/artifacts`);
    expect(artifactRoot('mlflow-artifacts:/', '3', RUN)).toBe(`3/${RUN}/artifacts`);
  });

  it('joins with single slashes', () => {
    expect(joinPath('1/r/artifacts/', '/plots/', 'a.png')).toBe('1/r/artifacts/plots/a.png');
    expect(joinPath('root', '', undefined)).toBe('root');
    expect(joinPath()).toBe('');
  });

  it('splits names, parents, ancestors and breadcrumbs', () => {
    expect(baseName('plots/sub/a.png')).toBe('a.png');
    expect(baseName('a.png')).toBe('a.png');
    expect(parentPath('plots/sub/a.png')).toBe('plots/sub');
    expect(parentPath('a.png')).toBe('');
    expect(ancestors('plots/sub/a.png')).toEqual(['plots', 'plots/sub']);
    expect(ancestors('a.png')).toEqual([]);
    expect(ancestors('')).toEqual([]);
    expect(breadcrumbs('plots/sub/a.png')).toEqual([
      { name: 'plots', path: 'plots' },
      { name: 'sub', path: 'plots/sub' },
      { name: 'a.png', path: 'plots/sub/a.png' },
    ]);
  });

  it('encodes each segment of the presigned path', () => {
    expect(presignedPath(`1/${RUN}/artifacts`, 'my plots/ä#1.png')).toBe(
      `/api/2.0/mlflow-artifacts/presigned/1/${RUN}/artifacts/my%20plots/%C3%A4%231.png`,
    );
  });

  it('breadcrumbs end at the path and every crumb is its own ancestor chain (property)', () => {
    const segment = fc.stringMatching(/^[a-z0-9._ -]{1,8}$/).filter((s) => s !== '.' && s !== '..');
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), (segments) => {
        const path = segments.join('/');
        const crumbs = breadcrumbs(path);
        expect(crumbs.map((crumb) => crumb.name)).toEqual(segments);
        expect(crumbs.at(-1)?.path).toBe(path);
        expect(crumbs.slice(0, -1).map((crumb) => crumb.path)).toEqual(ancestors(path));
        expect(joinPath(parentPath(path), baseName(path))).toBe(path);
      }),
    );
  });
});
