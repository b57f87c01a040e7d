import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ArtifactOwner,
  artifactKey,
  canonicalArtifactPath,
  isUnder,
  ownerRoot,
  parseArtifactPath,
} from '../../../shared/domain/artifacts/paths.js';
import { InvalidParameterValueError } from '../../../shared/errors.js';

const RUN = '0123456789abcdef0123456789abcdef';
const MODEL = 'm-fedcba9876543210fedcba9876543210';

const refuses = (fn: () => unknown, fragment: string) => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidParameterValueError);
    expect((error as InvalidParameterValueError).errorCode).toBe('INVALID_PARAMETER_VALUE');
    expect((error as InvalidParameterValueError).message).toContain(fragment);
    return;
  }
  throw new Error('expected a refusal');
};

/** `value` percent-encoded `times` times over (`%` → `%25` on every extra round). */
const encodeTimes = (value: string, times: number): string => {
  let encoded = value;
  for (let i = 0; i < times; i++) encoded = encodeURIComponent(encoded);
  return encoded;
};

/** The byte `hex` percent-encoded so that it takes `times` decoding rounds to reach it. */
const nestedPercent = (hex: string, times: number): string => `%${'25'.repeat(times - 1)}${hex}`;

// 5 segments of 200 bytes plus separators and 20 more bytes: 1,025 bytes, every segment within 255.
const PATH_1025 = `${`${'a'.repeat(200)}/`.repeat(5)}${'a'.repeat(20)}`;
const PATH_1024 = PATH_1025.slice(1);

describe('canonicalArtifactPath', () => {
  it.each([
    ['../x', "'..' segments"],
    ['a/../../b', "'..' segments"],
    ['..', "'..' segments"],
    ['%2e%2e/x', "'..' segments"],
    ['%2E%2E%2Fx', "'..' segments"],
    ['%252e%252e/x', "'..' segments"],
    ['%25252e%25252e', "'..' segments"],
    ['a/..%2fb', "'..' segments"],
    ['/etc/passwd', 'absolute paths'],
    ['%2fetc/passwd', 'absolute paths'],
    ['C:\\x', 'absolute paths'],
    ['C:', 'absolute paths'],
    ['c:/x', 'absolute paths'],
    ['a\\b', 'backslashes'],
    ['a%5cb', 'backslashes'],
    ['..\\x', 'backslashes'],
    ['a%00b', 'control characters'],
    ['a\u0000b', 'control characters'],
    ['a\nb', 'control characters'],
    ['a%0d%0ab', 'control characters'],
    ['a\u007fb', 'control characters'],
    ['a\u0085b', 'control characters'],
    ['a#b', "'#'"],
    ['a%23b', "'#'"],
    ['a?b', "'?'"],
    ['a%3fb', "'?'"],
    ['a;b', "';'"],
    ['a%3Bb', "';'"],
    ['./a', "'.' segments"],
    ['a/./b', "'.' segments"],
    ['.', "'.' segments"],
    ['a//b', 'empty segments'],
    ['a/', "trailing '/'"],
    ['%zz', 'malformed percent-encoding'],
    ['%', 'malformed percent-encoding'],
    ['100%.txt', 'malformed percent-encoding'],
    ['%25zz', 'malformed percent-encoding'],
    ['%c3', 'malformed percent-encoding'],
    ['a\ud800b', 'not valid Unicode'],
    [nestedPercent('41', 6), 'more than 5 levels'],
    [nestedPercent('2e', 6), 'more than 5 levels'],
    [PATH_1025, '1025 bytes long (UTF-8) and the limit is 1024'],
    ['b'.repeat(256), 'segment is 256 bytes'],
    [`x/${'é'.repeat(128)}`, 'segment is 256 bytes'],
  ])('refuses %j', (raw, fragment) => {
    refuses(() => canonicalArtifactPath(raw, 'path'), fragment);
  });

  it('names the field, the path and the reason', () => {
    refuses(
      () => canonicalArtifactPath('a/../b', 'path'),
      "Invalid path 'a/../b' for parameter 'path': '..' segments are not allowed",
    );
    refuses(
      () => canonicalArtifactPath('%2e%2e/x', 'artifact_path'),
      "Invalid path '%2e%2e/x' (decoded '../x') for parameter 'artifact_path'",
    );
  });

  it('escapes control characters in the message', () => {
    refuses(() => canonicalArtifactPath('a\nb', 'path'), "Invalid path 'a\\u000ab'");
  });

  it.each([
    ['', ''],
    ['a', 'a'],
    ['dir/sub/file.txt', 'dir/sub/file.txt'],
    ['with space/ünïcødé.bin', 'with space/ünïcødé.bin'],
    ['a%20b', 'a b'],
    ['%2541', 'A'],
    ['dir%2Ffile', 'dir/file'],
    ["a+b=c&d@e,f'g(h).txt", "a+b=c&d@e,f'g(h).txt"],
    ['.hidden/..a/a..', '.hidden/..a/a..'],
    ['...', '...'],
    ['model/MLmodel', 'model/MLmodel'],
    ['😀/日本語', '😀/日本語'],
    [nestedPercent('41', 5), 'A'],
    [`${nestedPercent('2e', 5)}x`, '.x'],
    [encodeTimes('dir/ü b.txt', 3), 'dir/ü b.txt'],
    [PATH_1024, PATH_1024],
    ['b'.repeat(255), 'b'.repeat(255)],
  ])('accepts %j', (raw, expected) => {
    expect(canonicalArtifactPath(raw, 'path')).toBe(expected);
  });
});

const SAFE_CHARS = [
  ...'abcxyzABCXYZ0189',
  ...'-_.+=&@,\'() ~!$*[]{}^`|<>":',
  'ü',
  'ø',
  'é',
  'ß',
  '日',
  '本',
  '😀',
  '\u00a0',
];
const safeSegment = fc
  .string({ unit: fc.constantFrom(...SAFE_CHARS), minLength: 1, maxLength: 16 })
  .filter((segment) => segment !== '.' && segment !== '..' && !/^[A-Za-z]:/.test(segment));
const safePath = fc.array(safeSegment, { maxLength: 6 }).map((segments) => segments.join('/'));

const hex32 = fc.stringMatching(/^[0-9a-f]{32}$/);
const experimentId = fc.oneof(fc.constant('0'), fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }).map(String));
const runId = fc.oneof(
  hex32,
  fc.stringMatching(/^[a-zA-Z0-9][\w-]{0,40}$/).filter((id) => id !== 'models'),
);
const owner: fc.Arbitrary<ArtifactOwner> = fc.oneof(
  fc.record({ kind: fc.constant('run' as const), experimentId, runId }),
  fc.record({ kind: fc.constant('model' as const), experimentId, modelId: hex32.map((hex) => `m-${hex}`) }),
);
const prefix = fc.oneof(fc.constant(''), fc.constantFrom('artifacts/', 'cairn/prod/', 'a/'));

/** The proxied path of an owner's artifact root (no trailing slash). */
const ownerPath = (o: ArtifactOwner) => ownerRoot('', o).slice(0, -1);

describe('canonicalArtifactPath (properties)', () => {
  it('(a) returns a path of safe segments unchanged, and undoes per-segment and whole-path encoding', () => {
    fc.assert(
      fc.property(safePath, (path) => {
        expect(canonicalArtifactPath(path, 'path')).toBe(path);
        const perSegment = path.split('/').map(encodeURIComponent).join('/');
        expect(canonicalArtifactPath(perSegment, 'path')).toBe(path);
        expect(canonicalArtifactPath(encodeURIComponent(path), 'path')).toBe(path);
        expect(canonicalArtifactPath(encodeTimes(path, 3), 'path')).toBe(path);
      }),
    );
  });

  it('(b) either refuses with INVALID_PARAMETER_VALUE or returns a safe, stable path', () => {
    const nasty = fc.string({
      unit: fc.constantFrom('a', 'b', '.', '/', '%', '2', '5', 'e', 'E', 'f', 'F', 'c', 'C', '0', ':', '\\'),
      maxLength: 24,
    });
    const anything = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      nasty,
      safePath.map((path) => path.replace(/a/g, '%2e')),
      fc
        .array(fc.oneof(nasty, fc.constantFrom('..', '.', '', '%2e%2e', '%252e', '#', '?', ';', '\0')))
        .map((parts) => parts.join('/')),
    );
    fc.assert(
      fc.property(anything, (raw) => {
        let result: string;
        try {
          result = canonicalArtifactPath(raw, 'path');
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidParameterValueError);
          expect((error as InvalidParameterValueError).message).toContain("for parameter 'path'");
          return;
        }
        if (result === '') return;
        expect(result.startsWith('/')).toBe(false);
        expect(result).not.toMatch(/[\\#?;%\p{Cc}]/u);
        for (const segment of result.split('/')) {
          expect(['', '.', '..']).not.toContain(segment);
        }
        expect(Buffer.byteLength(result, 'utf8')).toBeLessThanOrEqual(1024);
        expect(canonicalArtifactPath(result, 'path')).toBe(result);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('parseArtifactPath', () => {
  it.each<[string, ArtifactOwner, string]>([
    [`1/${RUN}/artifacts`, { kind: 'run', experimentId: '1', runId: RUN }, ''],
    [`1/${RUN}/artifacts/model.pkl`, { kind: 'run', experimentId: '1', runId: RUN }, 'model.pkl'],
    [`0/${RUN}/artifacts/a/b/c.txt`, { kind: 'run', experimentId: '0', runId: RUN }, 'a/b/c.txt'],
    [
      `42/${RUN}/artifacts/artifacts/models/x`,
      { kind: 'run', experimentId: '42', runId: RUN },
      'artifacts/models/x',
    ],
    ['7/Run_id-1/artifacts/x', { kind: 'run', experimentId: '7', runId: 'Run_id-1' }, 'x'],
    [`3/${MODEL}/artifacts`, { kind: 'run', experimentId: '3', runId: MODEL }, ''],
    [`1/models/${MODEL}/artifacts`, { kind: 'model', experimentId: '1', modelId: MODEL }, ''],
    [
      `12/models/${MODEL}/artifacts/MLmodel`,
      { kind: 'model', experimentId: '12', modelId: MODEL },
      'MLmodel',
    ],
  ])('parses %j', (path, expectedOwner, relative) => {
    expect(parseArtifactPath(path)).toEqual({ owner: expectedOwner, relative });
  });

  it.each([
    '',
    '1',
    `1/${RUN}`,
    `abc/${RUN}/artifacts`,
    `-1/${RUN}/artifacts`,
    `01/${RUN}/artifacts`,
    `1.5/${RUN}/artifacts`,
    `${'9'.repeat(20)}/${RUN}/artifacts`,
    '1/models/x/artifacts',
    '1/models/artifacts',
    '1/models/artifacts/x',
    `1/models/${MODEL}`,
    `1/models/${MODEL}/x`,
    `1/models/${MODEL.toUpperCase()}/artifacts`,
    `1/${RUN}/notartifacts/x`,
    `1/${RUN}/Artifacts/x`,
    `1/_run/artifacts/x`,
    `1/-run/artifacts/x`,
    `1/rün/artifacts/x`,
    `${RUN}/artifacts`,
  ])('refuses %j as outside any artifact root', (path) => {
    refuses(() => parseArtifactPath(path, 'path'), "must lie under a run's or logged model's artifact root");
  });

  it('names the field it was given', () => {
    refuses(() => parseArtifactPath('x', 'artifact_path'), "for parameter 'artifact_path'");
  });

  it.each([
    [`1/${RUN}/artifacts/../../2/x`, "'..' segments"],
    [`1/${RUN}/artifacts/`, "trailing '/'"],
    [`1/${RUN}/artifacts/%2e%2e`, "'%'"],
  ])('refuses the non-canonical %j without decoding it', (path, fragment) => {
    refuses(() => parseArtifactPath(path), fragment);
  });

  it.each([`1/${RUN}/artifacts/d:notes.txt`, `1/models/${MODEL}/artifacts/C:x/y`])(
    'refuses %j, whose relative path starts with a drive letter, as a 400 naming the field',
    (path) => {
      refuses(() => parseArtifactPath(canonicalArtifactPath(path, 'path'), 'path'), "drive letter ('d:')");
    },
  );

  it('accepts a drive-like segment past the first, which no OS reads as a drive', () => {
    expect(parseArtifactPath(`1/${RUN}/artifacts/a/d:notes.txt`).relative).toBe('a/d:notes.txt');
  });

  it('round-trips every owner and accepted relative path (property)', () => {
    fc.assert(
      fc.property(owner, safePath, (o, relative) => {
        const path = relative === '' ? ownerPath(o) : `${ownerPath(o)}/${relative}`;
        expect(parseArtifactPath(canonicalArtifactPath(path, 'path'))).toEqual({ owner: o, relative });
      }),
    );
  });
});

describe('artifactKey, ownerRoot, isUnder', () => {
  const run: ArtifactOwner = { kind: 'run', experimentId: '1', runId: RUN };
  const model: ArtifactOwner = { kind: 'model', experimentId: '2', modelId: MODEL };

  it('builds keys under the owner root, with the root itself for the empty relative path', () => {
    expect(ownerRoot('', run)).toBe(`1/${RUN}/artifacts/`);
    expect(ownerRoot('p/', model)).toBe(`p/2/models/${MODEL}/artifacts/`);
    expect(artifactKey('', run, '')).toBe(`1/${RUN}/artifacts/`);
    expect(artifactKey('', run, 'dir/file.txt')).toBe(`1/${RUN}/artifacts/dir/file.txt`);
    expect(artifactKey('cairn/', model, 'MLmodel')).toBe(`cairn/2/models/${MODEL}/artifacts/MLmodel`);
    expect(artifactKey('cairn/', model, '')).toBe(`cairn/2/models/${MODEL}/artifacts/`);
  });

  it('treats a bad prefix, owner or non-canonical relative path as a programming error', () => {
    expect(() => ownerRoot('cairn', run)).toThrow(/prefix/);
    expect(() => ownerRoot('', { kind: 'run', experimentId: '1', runId: '../x' })).toThrow(/owner/);
    expect(() => ownerRoot('', { kind: 'run', experimentId: '1', runId: 'models' })).toThrow(/owner/);
    expect(() => ownerRoot('', { kind: 'model', experimentId: '01', modelId: MODEL })).toThrow(/owner/);
    expect(() => ownerRoot('', { kind: 'model', experimentId: '1', modelId: 'm-x' })).toThrow(/owner/);
    for (const relative of ['../x', '/x', 'a//b', 'a/', 'a\\b', '%2e%2e', 'a#b']) {
      expect(() => artifactKey('', run, relative)).toThrow(/not canonicalized/);
    }
  });

  it('isUnder is a plain prefix test', () => {
    expect(isUnder(`1/${RUN}/artifacts/x`, `1/${RUN}/artifacts/`)).toBe(true);
    expect(isUnder(`1/${RUN}/artifacts/`, `1/${RUN}/artifacts/`)).toBe(true);
    expect(isUnder(`1/${RUN}/x`, `1/${RUN}/artifacts/`)).toBe(false);
    expect(isUnder(`2/${RUN}/artifacts/x`, `1/${RUN}/artifacts/`)).toBe(false);
  });

  it('(c) keeps every key of an accepted path under its owner root (property)', () => {
    fc.assert(
      fc.property(prefix, owner, safePath, (p, o, relative) => {
        const accepted = canonicalArtifactPath(relative, 'path');
        const key = artifactKey(p, o, accepted);
        const root = ownerRoot(p, o);
        expect(isUnder(key, root)).toBe(true);
        expect(root.endsWith('/artifacts/')).toBe(true);
        expect(key).toBe(`${root}${accepted}`);
        expect(key.slice(p.length)).not.toContain('//');
        const other: ArtifactOwner =
          o.kind === 'run'
            ? { ...o, runId: `${o.runId}x` }
            : { ...o, experimentId: o.experimentId === '7' ? '8' : '7' };
        expect(isUnder(key, ownerRoot(p, other))).toBe(false);
      }),
    );
  });

  it('(c) holds for arbitrary inputs that canonicalArtifactPath accepts (property)', () => {
    const raw = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.string({ unit: fc.constantFrom('a', '.', '/', '%', '2', 'e', 'f', '5'), maxLength: 20 }),
    );
    fc.assert(
      fc.property(prefix, owner, raw, (p, o, input) => {
        let accepted: string;
        try {
          accepted = canonicalArtifactPath(input, 'path');
        } catch {
          return;
        }
        expect(isUnder(artifactKey(p, o, accepted), ownerRoot(p, o))).toBe(true);
      }),
    );
  });
});
