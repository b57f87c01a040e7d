import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseExperimentId } from '../../../shared/domain/ids.js';
import {
  canonicalNewName,
  findByName,
  validateArtifactLocation,
  validateExperimentName,
  validateKey,
  validateMaxResults,
} from '../../../shared/domain/rules.js';
import { MlflowError } from '../../../shared/errors.js';

const refuses = (fn: () => void, fragment: string) => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MlflowError);
    expect((error as MlflowError).errorCode).toBe('INVALID_PARAMETER_VALUE');
    expect((error as MlflowError).message).toContain(fragment);
    return;
  }
  throw new Error('expected a refusal');
};

describe('validateKey', () => {
  it.each(['loss', 'a/b', 'with space', 'x.y-z_1', 'colon:ok', 'ünïcode', 'a'.repeat(250)])(
    'accepts %j',
    (key) => {
      expect(() => validateKey('key', key)).not.toThrow();
    },
  );

  it.each([
    ['a/../b', "would resolve to 'b'"],
    ['./a', "would resolve to 'a'"],
    ['/abs', 'resolve'],
    ['..', 'resolve'],
    ['.', 'resolve'],
    ['a//b', "resolve to 'a/b'"],
    ['trailing/', "resolve to 'trailing'"],
    ['semi;colon', 'Names may only contain'],
    ['back\\slash', 'Names may only contain'],
    ['a'.repeat(251), 'maximum length of 250'],
  ])('refuses %j', (key, fragment) => {
    refuses(() => validateKey('key', key), fragment);
  });

  it('accepts exactly the keys made of allowed characters whose normalized path is themselves (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z./ ]{1,12}$/), (key) => {
        const segments = key.split('/');
        const normalized =
          !key.startsWith('/') &&
          !key.startsWith('..') &&
          key !== '.' &&
          segments.every((segment) => segment !== '' && segment !== '.' && segment !== '..');
        if (normalized) expect(() => validateKey('key', key)).not.toThrow();
        else expect(() => validateKey('key', key)).toThrow(MlflowError);
      }),
    );
  });
});

describe('validateExperimentName', () => {
  it('accepts 500 characters and refuses 501, and blank names', () => {
    expect(() => validateExperimentName('name', 'x'.repeat(500))).not.toThrow();
    refuses(
      () => validateExperimentName('name', 'x'.repeat(501)),
      "'name' exceeds the maximum length of 500",
    );
    refuses(() => validateExperimentName('name', '   '), 'must not be empty');
  });
});

describe('parseExperimentId', () => {
  it('canonicalizes decimal integers the way int() does', () => {
    expect(parseExperimentId('experiment_id', '007')).toBe('7');
    expect(parseExperimentId('experiment_id', ' 12 ')).toBe('12');
    expect(parseExperimentId('experiment_id', '+3')).toBe('3');
    expect(parseExperimentId('experiment_id', '0')).toBe('0');
  });

  it.each(['abc', '1.5', '', '1e3', '12345678901234567890'])('refuses %j', (raw) => {
    refuses(() => parseExperimentId('experiment_id', raw), 'must be a valid integer');
  });
});

describe('validateMaxResults', () => {
  it('accepts 1 through the cap', () => {
    expect(() => validateMaxResults(1, 50_000)).not.toThrow();
    expect(() => validateMaxResults(50_000, 50_000)).not.toThrow();
    refuses(() => validateMaxResults(0, 50_000), 'It must be a positive integer');
    refuses(() => validateMaxResults(50_001, 50_000), 'It must be at most 50000');
  });
});

describe('validateArtifactLocation', () => {
  it('refuses runs: URIs, over-long locations, fragments and traversal', () => {
    expect(() => validateArtifactLocation('s3://bucket/prefix')).not.toThrow();
    refuses(() => validateArtifactLocation('runs:/abc/x'), 'runs:/');
    refuses(() => validateArtifactLocation(`s3://b/${'x'.repeat(2048)}`), '2048');
    refuses(() => validateArtifactLocation('s3://b/x#frag'), 'fragments');
    refuses(() => validateArtifactLocation('s3://b/a/%2e%2e/c'), "'..'");
    // Decoded as artifact paths are: nested encodings to the end, malformed ones refused.
    refuses(() => validateArtifactLocation('s3://b/a/%252e%252e/c'), "'..'");
    refuses(() => validateArtifactLocation('s3://b/a/%zz/c'), 'malformed percent-encoding');
  });
});

describe('names: canonicalNewName and findByName (issue 11, item 9)', () => {
  const UNSAFE = [
    ...['\u0000', '\u001f', '\u007f', '\u0085', '\u009f', '\t', '\n'],
    ...['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069'],
    ...['\u200e', '\u200f', '\u061c', '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad'],
    ...['\u00a0', '\u2007', '\u3000', '\u2028', '\u2029', '\ud800'],
    // Letters and marks that render as nothing: Hangul fillers, the grapheme joiner, variation selectors.
    ...['\u034f', '\u115f', '\u1160', '\u3164', '\uffa0', '\u2800', '\ufe00', '\u{e0100}', '\ue000'],
    // Presentation selectors anywhere but after an emoji.
    ...['\ufe0e', '\ufe0f'],
  ];

  it('makes NFC and NFD spellings one name', () => {
    expect(canonicalNewName('name', 'cafe\u0301')).toBe('caf\u00e9');
    expect(canonicalNewName('name', 'caf\u00e9')).toBe('caf\u00e9');
    expect(canonicalNewName('name', 'Ångström model v1')).toBe('Ångström model v1'.normalize('NFC'));
  });

  it.each(UNSAFE.map((char) => [char]))('refuses U+%s anywhere in a name, naming the field', (char) => {
    const code = (char.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0');
    for (const name of [`a${char}b`, `${char}ab`]) {
      refuses(() => canonicalNewName('new_name', name), `'new_name'`);
      refuses(() => canonicalNewName('new_name', name), `U+${code}`);
    }
  });

  it('keeps emoji with their presentation selector', () => {
    expect(canonicalNewName('name', 'launch \u2764\ufe0f')).toBe('launch \u2764\ufe0f');
    expect(canonicalNewName('name', 'plain \u2764\ufe0e')).toBe('plain \u2764\ufe0e');
  });

  it('refuses leading and trailing whitespace, keeps inner spaces', () => {
    refuses(() => canonicalNewName('name', 'model '), 'begin or end with whitespace');
    refuses(() => canonicalNewName('name', ' model'), 'begin or end with whitespace');
    expect(canonicalNewName('name', 'my model')).toBe('my model');
  });

  it('returns a fixed point in NFC for every name it accepts (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 20 }), (raw) => {
        let name: string;
        try {
          name = canonicalNewName('name', raw);
        } catch {
          return;
        }
        expect(name).toBe(raw.normalize('NFC'));
        expect(canonicalNewName('name', name)).toBe(name);
        expect(canonicalNewName('name', raw.normalize('NFD'))).toBe(name);
      }),
    );
  });

  it('finds by the given spelling first (names stored before normalisation), then by its NFC form', async () => {
    const stored = new Map([
      ['caf\u00e9', 'new'],
      ['ole\u0301', 'legacy'],
    ]);
    const looked: string[] = [];
    const find = async (name: string) => {
      looked.push(name);
      return stored.get(name);
    };
    expect(await findByName('cafe\u0301', find)).toBe('new');
    expect(looked).toEqual(['cafe\u0301', 'caf\u00e9']);
    expect(await findByName('ole\u0301', find)).toBe('legacy');
    expect(await findByName('missing', find)).toBeUndefined();
    expect(looked.slice(2)).toEqual(['ole\u0301', 'missing']);
  });
});
