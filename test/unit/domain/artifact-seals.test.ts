/** Which writes a sealed path refuses (paths.ts sealedPathTouched), and the audit's file summary. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sealedPathTouched } from '../../../shared/domain/artifacts/paths.js';
import {
  changedFilesClause,
  FILE_DIGEST_LIMITS,
  summarizeFiles,
} from '../../../shared/domain/promotion/rules.js';

describe('sealedPathTouched', () => {
  it.each([
    ['model', ['model'], 'write', 'model'],
    ['model/model.pkl', ['model'], 'write', 'model'],
    ['model/sub/deep.bin', ['model'], 'write', 'model'],
    ['anything/at/all', [''], 'write', ''],
    ['modelx', ['model'], 'write', undefined],
    ['model-v2/model.pkl', ['model'], 'write', undefined],
    ['mod', ['model'], 'write', undefined],
    // A directory removed takes its sealed contents with it.
    ['', ['model'], 'delete', 'model'],
    ['a', ['a/b/model'], 'delete', 'a/b/model'],
    ['a', ['a/b/model'], 'write', undefined],
    ['a/bb', ['a/b/model'], 'delete', undefined],
  ] as const)('%s with seals %j on %s → %s', (path, seals, operation, expected) => {
    expect(sealedPathTouched(path, seals, operation)).toBe(expected);
  });

  it('refuses exactly the paths at or under a seal for writes, and also those above it for deletes', () => {
    const segment = fc.stringMatching(/^[a-c]{1,2}$/);
    const path = fc.array(segment, { minLength: 0, maxLength: 4 }).map((parts) => parts.join('/'));
    fc.assert(
      fc.property(path, path, (target, sealed) => {
        const under = sealed === '' || target === sealed || target.startsWith(`${sealed}/`);
        const above = target === '' || sealed === target || sealed.startsWith(`${target}/`);
        expect(sealedPathTouched(target, [sealed], 'write') !== undefined).toBe(under);
        expect(sealedPathTouched(target, [sealed], 'delete') !== undefined).toBe(under || above);
      }),
    );
  });
});

describe('summarizeFiles', () => {
  it('sorts by path, sums sizes and digests every listed file', () => {
    const a = summarizeFiles(
      'k/',
      [
        { path: 'b', etag: '"2"', size: 2 },
        { path: 'a', etag: '"1"', size: 1 },
      ],
      false,
    );
    expect(a.files.map((file) => file.path)).toEqual(['a', 'b']);
    expect(a).toMatchObject({ location: 'k/', count: 2, totalBytes: 3 });
    expect(a).not.toHaveProperty('truncated');
    const changed = summarizeFiles(
      'k/',
      [
        { path: 'b', etag: '"3"', size: 2 },
        { path: 'a', etag: '"1"', size: 1 },
      ],
      false,
    );
    expect(changed.manifestSha256).not.toBe(a.manifestSha256);
  });

  it('names the files stored after registration (past the clock slack), and a guarded promotion refuses them', () => {
    const at = 1_000_000;
    const slack = FILE_DIGEST_LIMITS.registrationSkewMs;
    const summary = summarizeFiles(
      'k/',
      [
        { path: 'before', etag: '"1"', size: 1, lastModified: at - 5000 },
        { path: 'within-slack', etag: '"2"', size: 1, lastModified: at + slack },
        { path: 'after', etag: '"3"', size: 1, lastModified: at + slack + 1 },
        { path: 'unknown', etag: '"4"', size: 1 },
      ],
      false,
      at,
    );
    expect(summary.changedAfterRegistration).toEqual(['after']);
    expect(changedFilesClause(summary)).toEqual([
      "the version's files changed after it was registered ('after'): register the files as a new version",
    ]);
    expect(changedFilesClause(summarizeFiles('k/', [], false, at))).toEqual([]);
    expect(changedFilesClause(undefined)).toEqual([]);
  });

  it('records at most the first files one by one, and says when the listing was cut', () => {
    const listed = Array.from({ length: FILE_DIGEST_LIMITS.recordedFiles + 5 }, (_, i) => ({
      path: `f${String(i).padStart(5, '0')}`,
      etag: `"${i}"`,
      size: 1,
    }));
    const summary = summarizeFiles('k/', listed, true);
    expect(summary.files).toHaveLength(FILE_DIGEST_LIMITS.recordedFiles);
    expect(summary.count).toBe(listed.length);
    expect(summary.truncated).toBe(true);
  });
});
